#!/usr/bin/env python3
"""Independent check of the committed LoRA CoS-Low numbers, without PEFT.

With B = 0, the LoRA B gradient of a projection y = W x + s * B A x (s = alpha / r) is
    grad_B = s * sum_t dY_t (A x_t)^T = s * grad_W A^T,
so it follows from the plain weight gradient and the stored A. This script recomputes every
example's B-gradient vector that way (plain transformers model, A read from
out/{model}-lora-a.safetensors, labels built here again) and compares the cosines, CoS-Low
and gradient norms with out/{model}.json. It is also the simplest statement of what the
engine has to compute.

Usage:  python tests/reference/check_reference.py [--models tiny-llama,tiny-qwen2] [--threads 2]
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
from safetensors.torch import load_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_reference as mr  # noqa: E402


def check(name):
    with open(os.path.join(mr.OUT, f"{name}.json")) as f:
        ref = json.load(f)["lora"]
    b = mr.load(name)
    a = load_file(os.path.join(mr.ROOT, ref["a_file"]))
    s = ref["lora_alpha"] / ref["r"]
    pairs = []  # (weight, A) in flatten order
    for bname in ref["flatten_order"]:
        stem = bname.removeprefix("base_model.model.").removesuffix(".lora_B.weight")
        w = b.model.get_parameter(stem + ".weight")
        w.requires_grad_(True)
        pairs.append((w, a[stem.join(["base_model.model.", ".lora_A.weight"])]))
    ex = mr.labeled_examples(b, 32)
    vecs, norms = [], []
    for e, r in zip(ex, ref["examples"]):
        assert e["ids"] == r["ids"] and e["n_prompt"] == r["n_prompt"], e["id"]
        b.model.zero_grad(set_to_none=True)
        loss, _ = mr.example_loss(b.model, e["ids"], e["_labels"])
        loss.backward()
        v = torch.cat([(s * (w.grad @ amat.T)).reshape(-1) for w, amat in pairs])
        vecs.append(v)
        norms.append(abs(float(v.double().norm()) - r["grad_norm"]) / r["grad_norm"])
    cos, _ = mr.cosine_matrix(vecs)
    d = np.abs(cos - np.array(ref["cosines"])).max()
    coslow = float(np.median(mr.upper(cos)))
    print(f"{name}: max |cos - ref| = {d:.2e}, CoS-Low {coslow:.9f} vs {ref['coslow']:.9f}, "
          f"max rel grad-norm diff {max(norms):.2e}")
    ok = d < 1e-5 and abs(coslow - ref["coslow"]) < 1e-6 and max(norms) < 1e-4
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="tiny-llama,tiny-qwen2")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    ok = all([check(m) for m in args.models.split(",")])
    print("OK" if ok else "MISMATCH")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
