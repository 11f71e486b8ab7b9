#!/usr/bin/env python3
"""Reference numbers for labelcast-modelfile's real-model test (crates/modelfile/tests/real_model.rs).

Dequantizes a handful of tensors of SmolLM2-135M-Instruct.Q4_1.gguf with the `gguf` package
(llama.cpp's own Python reader, independent of candle) and writes, per tensor: its Hugging Face
name and shape, sum and sum of squares (float64), the first 16 values, and the first 8 values of
a few rows. q/k projections are un-permuted the way transformers' GGUF loader does it
(modeling_gguf_pytorch_utils.py, reverse_permute_weights), so their rows are in Hugging Face order.

Usage (venv with `pip install gguf numpy`):
  python tests/reference/modelfile/gguf_reference.py [model.gguf] > tests/reference/modelfile/smollm2_tensors.json
"""
import json
import sys

import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize

PATH = sys.argv[1] if len(sys.argv) > 1 else "models/SmolLM2-135M-Instruct.Q4_1.gguf"

# (gguf name, hf name, heads to un-permute over or None)
TENSORS = [
    ("token_embd.weight", "model.embed_tokens.weight", None),
    ("blk.0.attn_q.weight", "model.layers.0.self_attn.q_proj.weight", "head_count"),
    ("blk.0.attn_k.weight", "model.layers.0.self_attn.k_proj.weight", "head_count_kv"),
    ("blk.0.attn_v.weight", "model.layers.0.self_attn.v_proj.weight", None),
    ("blk.0.attn_output.weight", "model.layers.0.self_attn.o_proj.weight", None),
    ("blk.0.ffn_down.weight", "model.layers.0.mlp.down_proj.weight", None),
    ("blk.29.ffn_gate.weight", "model.layers.29.mlp.gate_proj.weight", None),
    ("blk.29.attn_q.weight", "model.layers.29.self_attn.q_proj.weight", "head_count"),
    ("blk.0.attn_norm.weight", "model.layers.0.input_layernorm.weight", None),
    ("blk.15.ffn_norm.weight", "model.layers.15.post_attention_layernorm.weight", None),
    ("output_norm.weight", "model.norm.weight", None),
]
ROWS = [0, 1, 2, 3, 31, 32, 33, 63, 64, 65, 127, 191]


def reverse_permute_weights(weights: np.ndarray, n_head: int) -> np.ndarray:
    # transformers: reshape(n_head, dim, 2, ...) with dim = rows // n_head // 2, swapaxes(2, 1).
    dim = weights.shape[0] // n_head // 2
    w = weights.reshape(n_head, dim, 2, *weights.shape[1:])
    return w.swapaxes(2, 1).reshape(weights.shape)


def field(reader: GGUFReader, key: str):
    f = reader.fields[key]
    return f.parts[f.data[0]].tolist()[0]


def main() -> None:
    reader = GGUFReader(PATH)
    by_name = {t.name: t for t in reader.tensors}
    out = {"file": PATH.rsplit("/", 1)[-1], "gguf_version": field(reader, "GGUF.version"), "tensors": []}
    for gguf_name, hf_name, heads_key in TENSORS:
        t = by_name[gguf_name]
        # Rows outermost, like Hugging Face: the reader's numpy shape is GGUF dims reversed.
        w = dequantize(t.data, t.tensor_type).astype(np.float32)
        w = w.reshape([int(d) for d in reversed(t.shape.tolist())])
        if heads_key is not None:
            w = reverse_permute_weights(w, field(reader, f"llama.attention.{heads_key}"))
        w64 = w.astype(np.float64)
        entry = {
            "gguf_name": gguf_name,
            "hf_name": hf_name,
            "type": t.tensor_type.name,
            "shape": list(w.shape),
            "sum": float(w64.sum()),
            "sum_sq": float((w64 * w64).sum()),
            "first16": [float(x) for x in w.reshape(-1)[:16]],
        }
        if w.ndim == 2:
            entry["rows"] = {str(r): [float(x) for x in w[r, :8]] for r in ROWS if r < w.shape[0]}
        out["tensors"].append(entry)
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
