#!/usr/bin/env python3
"""Create the two tiny random models the Rust engine is tested against.

    tests/reference/models/tiny-llama/   LlamaForCausalLM, untied lm_head, no biases
    tests/reference/models/tiny-qwen2/   Qwen2ForCausalLM, QKV biases, tied embeddings
    tests/reference/models/tiny-llama3/  LlamaForCausalLM with Llama 3.1 ("llama3") rope scaling
    tests/reference/models/tiny-mistral/ MistralForCausalLM with a sliding window of 4 tokens

Each directory holds model.safetensors (float32), config.json, tokenizer.json and
tokenizer_config.json (with a ChatML chat_template), the layout of a Hugging Face model
directory. Both models share one byte-level BPE tokenizer (vocab 512) trained with the
`tokenizers` package on the prompts and answers of tests/data; special tokens
<|endoftext|> = 0, <|im_start|> = 1, <|im_end|> = 2, as in SmolLM2.

The weights are random (fixed seeds) with large standard deviations, so that the output
distributions are far from uniform and greedy decoding has clear margins; the RMSNorm
weights are 1 + noise and the Qwen2 biases non-zero, so that forgetting any of them shows.

The llama3 model's original context (64) is chosen so that, with head_dim 16 and theta 1e4,
its eight rotary wavelengths (2*pi*1e4^(i/8): 6.3, 20, 63, 199, ...) fall in all three
regimes of the scaling: one kept (< 64/4), two interpolated, five divided by the factor 8.
The mistral model's window (4) is far shorter than the reference sequences (10-40 tokens).

Usage:  python tests/reference/make_tiny_models.py [--models tiny-llama3,tiny-mistral]
        (CPU, a few seconds; default: all four)
"""
import argparse
import csv
import json
import os
import sys

import torch
from safetensors.torch import save_file
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers, processors

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DATA = os.path.join(ROOT, "tests", "data")
OUT = os.path.join(HERE, "models")

VOCAB = 512
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

# ChatML without a default system message (SmolLM2's template adds one; this one does
# not, so the engine is exercised on a second template).
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

# Seeds: one per model. Chosen once; make_reference.py reports the smallest top1-top2
# logit gap on every greedy path, which must stay well above the engine's error.
SEEDS = {"tiny-llama": 1234, "tiny-qwen2": 5678, "tiny-llama3": 4321, "tiny-mistral": 8765}

LLAMA3_ROPE = {"rope_type": "llama3", "rope_theta": 10000.0, "factor": 8.0, "low_freq_factor": 1.0,
               "high_freq_factor": 4.0, "original_max_position_embeddings": 64}
MISTRAL_WINDOW = 4


def training_text():
    texts = []
    with open(os.path.join(DATA, "pool.csv"), newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            texts.append(row["prompt"])
    with open(os.path.join(DATA, "answers.csv"), newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            texts.append(row["answer"])
    # the chat scaffolding, so "user", "assistant", "system" become tokens
    for role in ("system", "user", "assistant"):
        texts += [f"{role}\n"] * 20
    texts += ["You are a helpful assistant.", "Answer in a few words."]
    return texts


def make_tokenizer():
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB,
        min_frequency=2,
        special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(training_text(), trainer=trainer)
    for i, s in enumerate(SPECIALS):
        assert tok.token_to_id(s) == i, (s, tok.token_to_id(s))
    assert tok.get_vocab_size() <= VOCAB, tok.get_vocab_size()
    return tok


def tokenizer_config():
    return {
        "add_bos_token": False,
        "add_eos_token": False,
        "add_prefix_space": False,
        "bos_token": "<|im_start|>",
        "eos_token": "<|im_end|>",
        "pad_token": "<|im_end|>",
        "unk_token": "<|endoftext|>",
        "additional_special_tokens": ["<|im_start|>", "<|im_end|>"],
        "chat_template": CHAT_TEMPLATE,
        "clean_up_tokenization_spaces": False,
        "model_max_length": 512,
        "tokenizer_class": "PreTrainedTokenizerFast",
    }


def common_config(vocab):
    return dict(
        vocab_size=vocab,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        hidden_act="silu",
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=2,
    )


def randomize(model, seed, bias_std=0.2):
    """Fill every parameter from a fixed-seed generator, in named_parameters order."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=g))
            elif name.endswith(".bias"):
                p.copy_(bias_std * torch.randn(p.shape, generator=g))
            elif "embed_tokens" in name:
                p.copy_(0.5 * torch.randn(p.shape, generator=g))
            elif "lm_head" in name:
                p.copy_(0.5 * torch.randn(p.shape, generator=g))
            else:  # projections [out, in]
                p.copy_(0.3 * torch.randn(p.shape, generator=g))


def save(model, tok, name):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    sd = {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}
    if model.config.tie_word_embeddings:
        sd.pop("lm_head.weight", None)  # tied: stored once, as the embedding (like Qwen2 checkpoints)
    save_file(sd, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
    cfg = model.config.to_dict()
    for k in ("transformers_version", "_name_or_path", "dtype", "torch_dtype", "id2label",
              "label2id", "chunk_size_feed_forward", "is_encoder_decoder", "output_attentions",
              "output_hidden_states", "problem_type", "return_dict"):
        cfg.pop(k, None)
    cfg["architectures"] = [type(model).__name__]
    cfg["torch_dtype"] = "float32"
    # transformers 5 writes rope_parameters; also write the classic top-level key
    # (transformers 4 / most other loaders read rope_theta).
    cfg["rope_theta"] = cfg["rope_parameters"]["rope_theta"]
    if cfg["rope_parameters"].get("rope_type", "default") != "default":
        # and the classic `rope_scaling` block (transformers 4, vLLM, llama.cpp's converter)
        cfg["rope_scaling"] = {k: v for k, v in cfg["rope_parameters"].items() if k != "rope_theta"}
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")
    tok.save(os.path.join(d, "tokenizer.json"))
    with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
        json.dump(tokenizer_config(), f, indent=2)
        f.write("\n")
    return d


def attn_kwargs(d):
    """Eager attention for the sliding-window model: the mask is then applied exactly as
    written in masking_utils (key j visible from query i iff 0 <= i - j < window)."""
    return {"attn_implementation": "eager"} if d.endswith("tiny-mistral") else {}


def check(d, model):
    """Reload through transformers and check the round trip."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    m2 = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32, **attn_kwargs(d)).eval()
    t2 = AutoTokenizer.from_pretrained(d)
    ids = t2.apply_chat_template(
        [{"role": "user", "content": "What is the capital of Peru?"}],
        add_generation_prompt=True, tokenize=True, return_dict=False,
    )
    if isinstance(ids, dict):
        ids = ids["input_ids"]
    x = torch.tensor([list(ids)])
    with torch.no_grad():
        a = model(x).logits
        b = m2(x).logits
    assert torch.equal(a, b), (a - b).abs().max()
    assert ids[0] == 1, ids
    for name, p in m2.named_parameters():
        assert torch.equal(p, model.state_dict()[name]), name
    print(f"  {d}: reload ok, {sum(p.numel() for p in m2.parameters())} parameters, "
          f"{os.path.getsize(os.path.join(d, 'model.safetensors'))} bytes")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default=",".join(SEEDS))
    names = ap.parse_args().models.split(",")
    assert set(names) <= set(SEEDS), names
    torch.manual_seed(0)
    from transformers import (LlamaConfig, LlamaForCausalLM, MistralConfig, MistralForCausalLM,
                              Qwen2Config, Qwen2ForCausalLM)

    tok = make_tokenizer()
    vocab = VOCAB  # embedding rows = 512 even if BPE stopped a little short
    print(f"tokenizer: {tok.get_vocab_size()} tokens; newline id {tok.token_to_id('Ċ')}")

    if "tiny-llama" in names:
        cfg = LlamaConfig(**common_config(vocab), rms_norm_eps=1e-5, rope_theta=10000.0,
                          tie_word_embeddings=False, attention_bias=False, mlp_bias=False)
        llama = LlamaForCausalLM(cfg).eval()
        randomize(llama, SEEDS["tiny-llama"])
        check(save(llama, tok, "tiny-llama"), llama)

    if "tiny-qwen2" in names:
        cfg = Qwen2Config(**common_config(vocab), rms_norm_eps=1e-6, rope_theta=1000000.0,
                          tie_word_embeddings=True, use_sliding_window=False)
        qwen = Qwen2ForCausalLM(cfg).eval()
        qwen.tie_weights()
        randomize(qwen, SEEDS["tiny-qwen2"])
        assert qwen.lm_head.weight.data_ptr() == qwen.model.embed_tokens.weight.data_ptr()
        check(save(qwen, tok, "tiny-qwen2"), qwen)

    if "tiny-llama3" in names:
        cfg = LlamaConfig(**common_config(vocab), rms_norm_eps=1e-5, rope_parameters=dict(LLAMA3_ROPE),
                          tie_word_embeddings=False, attention_bias=False, mlp_bias=False)
        llama3 = LlamaForCausalLM(cfg).eval()
        inv = llama3.model.rotary_emb.inv_freq
        base = 1.0 / (10000.0 ** (torch.arange(0, 16, 2).float() / 16))
        ratio = (base / inv).tolist()
        print(f"  llama3 rope: base/scaled inverse frequencies {[round(r, 4) for r in ratio]}")
        assert ratio[0] == 1.0 and all(abs(r - 8.0) < 1e-5 for r in ratio[3:]), ratio
        assert all(1.0 < r < 8.0 for r in ratio[1:3]), ratio
        randomize(llama3, SEEDS["tiny-llama3"])
        check(save(llama3, tok, "tiny-llama3"), llama3)

    if "tiny-mistral" in names:
        cfg = MistralConfig(**common_config(vocab), head_dim=16, rms_norm_eps=1e-5, rope_theta=10000.0,
                            sliding_window=MISTRAL_WINDOW, tie_word_embeddings=False,
                            attn_implementation="eager")
        mistral = MistralForCausalLM(cfg).eval()
        randomize(mistral, SEEDS["tiny-mistral"])
        check(save(mistral, tok, "tiny-mistral"), mistral)


if __name__ == "__main__":
    sys.exit(main())
