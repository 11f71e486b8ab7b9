#!/usr/bin/env python3
"""PyTorch reference numbers for the labelcast engine (METHOD.md 1b, 1c, 1d and 2).

CPU, float32, deterministic. Subcommands (run from anywhere; paths are repo-relative):

  score-pool  SmolLM2 on the 200 prompts of tests/data/pool.csv, batch 1
              -> tests/reference/out/smollm2-pool.json
  select      METHOD 1c on those scores (the rule labelcast-core implements), joined with
              tests/data/answers.csv -> tests/data/labeled.csv
  reference   logits, scoring, exact-gradient cosines and LoRA CoS-Low per model
              -> tests/reference/out/{tiny-llama,tiny-qwen2,smollm2}.json
                 tests/reference/out/{model}-lora-a.safetensors
  bench       SmolLM2 timings and peak RSS, each phase in a fresh process
              -> tests/reference/out/smollm2-timing.json

Common options: --threads N (torch.set_num_threads), --models a,b,c (reference).
See tests/reference/README.md for every convention.
"""
import argparse
import csv
import json
import math
import os
import platform
import resource
import subprocess
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import torch  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DATA = os.path.join(ROOT, "tests", "data")
OUT = os.path.join(HERE, "out")
GGUF_DIR = os.path.join(ROOT, "models")
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"

MAX_NEW_TOKENS = 30
LORA_R, LORA_ALPHA, LORA_SEED = 64, 32, 0
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
SELECT_K, SELECT_SEED = 32, 0

# Prompts fed raw (no chat template) for the logits check.
LOGIT_TEXTS = [
    "The capital of France is",
    "What is the chemical symbol for gold? Answer: Au",
    "Bogotá, Brasília and 42 + 17 = 59.\n\nDone.",
]
N_SCORING = 8  # scoring: the first 8 rows of pool.csv, chat-rendered
EXACT_K = {"tiny-llama": 32, "tiny-qwen2": 32, "tiny-llama3": 32, "tiny-mistral": 32, "smollm2": 8}


# ----------------------------------------------------------------------------- utilities

def rnd(x, digits=7):
    """A float rounded to `digits` significant digits (float32 has ~7.2)."""
    x = float(x)
    if not math.isfinite(x):
        return None
    return float(f"{x:.{digits}g}")


def rlist(xs, digits=7):
    return [rnd(x, digits) for x in np.asarray(xs, dtype=np.float64).ravel()]


def read_csv(name):
    with open(os.path.join(DATA, name), newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {os.path.relpath(path, ROOT)} ({os.path.getsize(path)} bytes)", flush=True)


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def env_info(threads):
    import transformers
    import peft
    return {
        "torch": torch.__version__, "transformers": transformers.__version__,
        "peft": peft.__version__, "numpy": np.__version__, "python": platform.python_version(),
        "threads": threads, "machine": platform.machine(), "cpu": cpu_name(),
        "dtype": "float32", "device": "cpu",
    }


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


# ----------------------------------------------------------------------------- models

class Bundle:
    """A model, its tokenizer and the conventions labelcast uses for it."""

    def __init__(self, name, model, tok, source):
        self.name, self.model, self.tok, self.source = name, model, tok, source
        self.vocab = model.config.vocab_size
        nl = self.encode("\n")
        assert len(nl) == 1, nl
        self.newline_id = nl[0]
        # end-of-text and end-of-turn; both stop greedy decoding
        self.stop_ids = [0, 2]
        assert tok.convert_ids_to_tokens([0, 1, 2]) == ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
        self.exclusion_ids = sorted({0, 2, self.newline_id})

    def encode(self, text):
        return list(self.tok(text, add_special_tokens=False)["input_ids"])

    def chat(self, prompt):
        return self.tok.apply_chat_template(
            [{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=False)


def load(name):
    from transformers import AutoModelForCausalLM, AutoTokenizer
    t = time.perf_counter()
    if name == "smollm2":
        path = os.path.join(GGUF_DIR, GGUF_NAME)
        if not os.path.exists(path):
            sys.exit(f"{path} missing: run scripts/fetch-model.sh")
        tok = AutoTokenizer.from_pretrained(GGUF_DIR, gguf_file=GGUF_NAME)
        model = AutoModelForCausalLM.from_pretrained(GGUF_DIR, gguf_file=GGUF_NAME, dtype=torch.float32)
        source = f"models/{GGUF_NAME} (dequantized to float32 by transformers)"
        b = Bundle(name, model.eval(), tok, source)
        assert b.exclusion_ids == [0, 2, 198], b.exclusion_ids
    else:
        d = os.path.join(HERE, "models", name)
        tok = AutoTokenizer.from_pretrained(d)
        # The sliding-window model runs eager attention: the mask exactly as masking_utils
        # writes it (key j visible from query i iff 0 <= i - j < sliding_window).
        attn = {"attn_implementation": "eager"} if name == "tiny-mistral" else {}
        model = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32, **attn)
        b = Bundle(name, model.eval(), tok, f"tests/reference/models/{name}")
    for p in b.model.parameters():
        p.requires_grad_(False)
    b.load_s = time.perf_counter() - t
    return b


# ----------------------------------------------------------------------------- logits

FIXED_IDS_N = 64


def fixed_ids(vocab):
    """64 fixed token ids: the specials and newline-ish low ids, then evenly spread."""
    head = [0, 1, 2, 3, 4, 5, 6, 7]
    rest = np.linspace(8, vocab - 1, FIXED_IDS_N - len(head)).round().astype(int).tolist()
    ids = head + rest
    assert len(set(ids)) == FIXED_IDS_N
    return ids


@torch.no_grad()
def logits_section(b):
    texts = LOGIT_TEXTS + [b.chat("What is the capital of Peru?")]
    full = b.name != "smollm2"
    fids = fixed_ids(b.vocab)
    out = {"full": full, "fixed_ids": None if full else fids, "prompts": []}
    for text in texts:
        ids = b.encode(text)
        logits = b.model(torch.tensor([ids])).logits[0].float()  # [T, V]
        lse = torch.logsumexp(logits.double(), dim=-1)
        rec = {"text": text, "ids": ids, "logsumexp": rlist(lse)}
        top = torch.topk(logits, 5, dim=-1)
        rec["top5_ids"] = top.indices.tolist()
        rec["top5_values"] = [rlist(r) for r in top.values]
        if full:
            rec["logits"] = [rlist(r) for r in logits]
        else:
            rec["fixed_logits"] = [rlist(r) for r in logits[:, fids]]
        out["prompts"].append(rec)
    return out


# ----------------------------------------------------------------------------- scoring

def step_stats(logits_row):
    """Per-step statistics from one row of float32 logits (computed in float64)."""
    l32 = logits_row.float()
    top2 = torch.topk(l32, 2)
    lp = torch.log_softmax(l32.double(), dim=-1)
    p = lp.exp()
    ptop = torch.topk(p, 2).values
    return {
        "id": int(top2.indices[0]),
        "logprob": float(lp[top2.indices[0]]),
        "max_prob": float(ptop[0]),
        "entropy": float(-(p * lp).sum()),
        "margin": float(ptop[0] - ptop[1]),
        "logit_gap": float(top2.values[0] - top2.values[1]),
    }


def summarize(steps, exclusion):
    """METHOD 1b and 2 over the counted tokens: generated, not in the exclusion list."""
    counted = [s for s in steps if s["id"] not in exclusion]
    res = {
        "n_generated": len(steps),
        "n_counted": len(counted),
        "min_logit_gap": min((s["logit_gap"] for s in steps), default=None),
    }
    if not counted:
        res.update(avg_confidence=None, ppl=None, mean_entropy=None, least_confidence=None,
                   sum_logprob=None, mean_margin=None, min_margin=None)
        return res
    lps = [s["logprob"] for s in counted]
    res.update(
        avg_confidence=float(np.mean([s["max_prob"] for s in counted])),
        ppl=float(math.exp(-np.mean(lps))),
        mean_entropy=float(np.mean([s["entropy"] for s in counted])),
        least_confidence=float(1.0 - math.exp(sum(lps))),
        sum_logprob=float(sum(lps)),
        mean_margin=float(np.mean([s["margin"] for s in counted])),
        min_margin=float(min(s["margin"] for s in counted)),
    )
    return res


@torch.no_grad()
def greedy(b, ids):
    """Greedy decoding, batch 1, with the KV cache; stops after a stop id or 30 tokens."""
    out = b.model(torch.tensor([ids]), use_cache=True)
    past, row = out.past_key_values, out.logits[0, -1]
    steps = []
    for _ in range(MAX_NEW_TOKENS):
        s = step_stats(row)
        assert s["id"] == int(torch.argmax(row)), "greedy = argmax (first index on ties)"
        steps.append(s)
        if s["id"] in b.stop_ids:
            break
        out = b.model(torch.tensor([[s["id"]]]), past_key_values=past, use_cache=True)
        past, row = out.past_key_values, out.logits[0, -1]
    return steps


@torch.no_grad()
def embedding(b, ids):
    """Mean over the prompt positions of the last hidden state (after the final norm)."""
    out = b.model(torch.tensor([ids]), output_hidden_states=True)
    h = out.hidden_states[-1][0]
    base = b.model.model(torch.tensor([ids])).last_hidden_state[0]
    assert torch.allclose(h, base, atol=1e-6), "hidden_states[-1] is after the final norm"
    return h.double().mean(dim=0)


def score_one(b, prompt, with_steps=True, with_embedding=True):
    text = b.chat(prompt)
    ids = b.encode(text)
    steps = greedy(b, ids)
    rec = {"prompt": prompt, "text": text, "ids": ids, "generated_ids": [s["id"] for s in steps],
           "generated_text": b.tok.decode([s["id"] for s in steps])}
    rec.update({k: (rnd(v, 9) if isinstance(v, float) else v)
                for k, v in summarize(steps, b.exclusion_ids).items()})
    if with_steps:
        for key in ("max_prob", "entropy", "margin", "logit_gap", "logprob"):
            rec[key] = rlist([s[key] for s in steps], 8)
    if with_embedding:
        e = embedding(b, ids)
        rec["embedding_first16"] = rlist(e[:16])
        rec["embedding_l2"] = rnd(e.norm(), 9)
        rec["embedding"] = rlist(e)
    return rec


def scoring_section(b):
    pool = read_csv("pool.csv")[:N_SCORING]
    items = []
    for row in pool:
        rec = score_one(b, row["prompt"])
        rec["id"] = row["id"]
        items.append(rec)
    return {
        "max_new_tokens": MAX_NEW_TOKENS,
        "stop_ids": b.stop_ids,
        "exclusion_ids": b.exclusion_ids,
        "items": items,
        "min_logit_gap": min(i["min_logit_gap"] for i in items),
    }


# ----------------------------------------------------------------------------- gradients

def example_tokens(b, prompt, answer):
    """ids = tok(chat(prompt) + answer); labels = ids with prompt and excluded ids masked."""
    ptext = b.chat(prompt)
    p_ids = b.encode(ptext)
    ids = b.encode(ptext + answer)
    assert ids[: len(p_ids)] == p_ids, ("prompt tokens are not a prefix", prompt, answer)
    n_prompt = len(p_ids)
    labels = [(-100 if (t < n_prompt or i in b.exclusion_ids) else i) for t, i in enumerate(ids)]
    return ids, n_prompt, labels


def example_loss(model, ids, labels):
    """Mean cross-entropy over the counted answer tokens (position t-1 predicts ids[t])."""
    logits = model(torch.tensor([ids])).logits[0, :-1].float()
    target = torch.tensor(labels[1:])
    mask = target != -100
    assert mask.any(), "no answer token to train on"
    return torch.nn.functional.cross_entropy(logits[mask], target[mask], reduction="mean"), int(mask.sum())


def cosine_matrix(vecs):
    """vecs: list of 1-D float32 tensors of equal length -> K x K float64 cosines."""
    k, n = len(vecs), vecs[0].numel()
    gram = torch.zeros(k, k, dtype=torch.float64)
    chunk = 1 << 20
    for s in range(0, n, chunk):
        x = torch.stack([v[s:s + chunk] for v in vecs]).double()
        gram += x @ x.T
    d = gram.diagonal().sqrt()
    return (gram / d[:, None] / d[None, :]).numpy(), d.numpy()


def upper(m):
    k = m.shape[0]
    return np.array([m[i, j] for i in range(k) for j in range(i + 1, k)])


def projection_weights(model):
    """The seven projection weights of every layer, in the documented flatten order."""
    out = []
    for i, layer in enumerate(model.model.layers):
        for t in TARGETS:
            part = "self_attn" if t in TARGETS[:4] else "mlp"
            out.append((f"model.layers.{i}.{part}.{t}.weight", getattr(getattr(layer, part), t).weight))
    return out


def labeled_examples(b, k):
    rows = read_csv("labeled.csv")[:k]
    ex = []
    for r in rows:
        ids, n_prompt, labels = example_tokens(b, r["prompt"], r["answer"])
        ex.append({"id": r["id"], "prompt": r["prompt"], "answer": r["answer"],
                   "ids": ids, "n_prompt": n_prompt})
        ex[-1]["_labels"] = labels
    return ex


def exact_section(b):
    k = EXACT_K[b.name]
    ex = labeled_examples(b, k)
    params = projection_weights(b.model)
    for _, w in params:
        w.requires_grad_(True)
    grads, per = [], []
    for e in ex:
        b.model.zero_grad(set_to_none=True)
        loss, n = example_loss(b.model, e["ids"], e["_labels"])
        loss.backward()
        g = torch.cat([w.grad.reshape(-1) for _, w in params])
        grads.append(g)
        per.append({"id": e["id"], "n_answer_tokens": n, "loss": rnd(loss.item(), 9),
                    "grad_norm": rnd(g.double().norm(), 9)})
    for _, w in params:
        w.grad = None
        w.requires_grad_(False)
    cos, _ = cosine_matrix(grads)
    del grads
    return {
        "k": k,
        "params": [n for n, _ in params],
        "n_params": int(sum(w.numel() for _, w in params)),
        "examples": [{kk: v for kk, v in e.items() if not kk.startswith("_")} | p for e, p in zip(ex, per)],
        "cosines": [rlist(r, 9) for r in cos],
        "median_cosine": rnd(np.median(upper(cos)), 9),
    }


def attach_lora(b):
    from peft import LoraConfig, get_peft_model
    cfg = LoraConfig(r=LORA_R, lora_alpha=LORA_ALPHA, lora_dropout=0.0, target_modules=TARGETS,
                     init_lora_weights=True, bias="none")
    torch.manual_seed(LORA_SEED)
    pm = get_peft_model(b.model, cfg)
    pm.eval()
    a, bb = [], []
    for i in range(b.model.config.num_hidden_layers):
        for t in TARGETS:
            part = "self_attn" if t in TARGETS[:4] else "mlp"
            mod = pm.get_submodule(f"base_model.model.model.layers.{i}.{part}.{t}")
            name = f"base_model.model.model.layers.{i}.{part}.{t}"
            a.append((f"{name}.lora_A.weight", mod.lora_A["default"].weight))
            bb.append((f"{name}.lora_B.weight", mod.lora_B["default"].weight))
    for (_, w) in bb:
        assert torch.count_nonzero(w) == 0, "B starts at zero"
    n_trainable = sum(p.numel() for p in pm.parameters() if p.requires_grad)
    assert n_trainable == sum(w.numel() for _, w in a + bb)
    return pm, a, bb


def lora_grads(b, pm, a, bb, ex):
    grads, per = [], []
    for e in ex:
        pm.zero_grad(set_to_none=True)
        loss, n = example_loss(pm, e["ids"], e["_labels"])
        loss.backward()
        for name, w in a:
            assert w.grad is None or torch.count_nonzero(w.grad) == 0, f"{name}: A grad must be 0"
        g = torch.cat([w.grad.reshape(-1) for _, w in bb])
        grads.append(g)
        per.append((n, loss.item(), [float(w.grad.double().norm()) for _, w in bb]))
    return grads, per


def lora_section(b):
    ex = labeled_examples(b, 32)
    pm, a, bb = attach_lora(b)
    from safetensors.torch import save_file
    a_path = os.path.join(OUT, f"{b.name}-lora-a.safetensors")
    tensors = {n: w.detach().contiguous().clone() for n, w in a}
    size = sum(t.numel() * 4 for t in tensors.values())
    stored = size < 40 * 2**20
    if stored:
        save_file(tensors, a_path, metadata={"seed": str(LORA_SEED), "r": str(LORA_R),
                                             "lora_alpha": str(LORA_ALPHA)})
        print(f"wrote {os.path.relpath(a_path, ROOT)} ({os.path.getsize(a_path)} bytes)")
    grads, per = lora_grads(b, pm, a, bb, ex)
    cos, norms = cosine_matrix(grads)
    pairs = upper(cos)
    examples = []
    for i, (e, (n, loss, mod_norms)) in enumerate(zip(ex, per)):
        rec = {kk: v for kk, v in e.items() if not kk.startswith("_")}
        rec.update(n_answer_tokens=n, loss=rnd(loss, 9), grad_norm=rnd(norms[i], 9))
        if i < 2:
            rec["module_grad_norms"] = rlist(mod_norms, 9)
        examples.append(rec)
    first = grads[0]
    res = {
        "r": LORA_R, "lora_alpha": LORA_ALPHA, "scaling": LORA_ALPHA / LORA_R, "seed": LORA_SEED,
        "a_file": os.path.relpath(a_path, ROOT) if stored else None,
        "a_file_bytes": size,
        "a_init": "PEFT kaiming_uniform_(a=sqrt(5)) = U(-1/sqrt(in), 1/sqrt(in)), torch.manual_seed(seed) "
                  "immediately before get_peft_model; B = 0",
        "flatten_order": [n for n, _ in bb],
        "n_params": int(sum(w.numel() for _, w in bb)),
        "b_grad_first8": rlist(first[:8], 9),
        "examples": examples,
        "cosines": [rlist(r, 9) for r in cos],
        "coslow": rnd(np.median(pairs), 9),
        "n_pairs": int(pairs.size),
    }
    res["a_checksum"] = {"sum": rnd(sum(float(w.detach().double().sum()) for _, w in a), 12),
                         "sum_abs": rnd(sum(float(w.detach().double().abs().sum()) for _, w in a), 12)}
    return res, pm


# ----------------------------------------------------------------------------- commands

def cmd_reference(args):
    torch.use_deterministic_algorithms(True)
    for name in args.models.split(","):
        t0 = time.perf_counter()
        b = load(name)
        rec = {
            "model": name, "source": b.source, "vocab_size": b.vocab,
            "config": {k: getattr(b.model.config, k, None) for k in (
                "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                "num_key_value_heads", "rms_norm_eps", "tie_word_embeddings")},
            "newline_id": b.newline_id, "stop_ids": b.stop_ids, "exclusion_ids": b.exclusion_ids,
            "env": env_info(args.threads),
        }
        rec["config"]["rope_theta"] = b.model.config.rope_parameters["rope_theta"]
        if b.model.config.rope_parameters.get("rope_type", "default") != "default":
            rec["config"]["rope_parameters"] = dict(b.model.config.rope_parameters)
        if getattr(b.model.config, "sliding_window", None) is not None:
            rec["config"]["sliding_window"] = b.model.config.sliding_window
        print(f"[{name}] logits", flush=True)
        rec["logits"] = logits_section(b)
        print(f"[{name}] scoring", flush=True)
        rec["scoring"] = scoring_section(b)
        print(f"[{name}] exact gradients", flush=True)
        rec["exact"] = exact_section(b)
        print(f"[{name}] LoRA CoS-Low", flush=True)
        rec["lora"], _ = lora_section(b)
        rec["seconds"] = rnd(time.perf_counter() - t0, 4)
        print(f"[{name}] CoS-Low {rec['lora']['coslow']}, exact median {rec['exact']['median_cosine']}, "
              f"min logit gap {rec['scoring']['min_logit_gap']:.4g}, {rec['seconds']} s", flush=True)
        write_json(os.path.join(OUT, f"{name}.json"), rec)
        del b


def cmd_score_pool(args):
    torch.use_deterministic_algorithms(True)
    b = load("smollm2")
    pool = read_csv("pool.csv")
    items = []
    t = time.perf_counter()
    for i, row in enumerate(pool):
        rec = score_one(b, row["prompt"], with_steps=False, with_embedding=False)
        rec["id"] = row["id"]
        del rec["ids"], rec["text"]
        items.append(rec)
        if i % 20 == 19:
            print(f"  {i + 1}/{len(pool)} {time.perf_counter() - t:.1f}s", flush=True)
    write_json(os.path.join(OUT, "smollm2-pool.json"), {
        "model": "smollm2", "batch_size": 1, "max_new_tokens": MAX_NEW_TOKENS,
        "exclusion_ids": b.exclusion_ids, "stop_ids": b.stop_ids, "env": env_info(args.threads),
        "seconds": rnd(time.perf_counter() - t, 4), "items": items})


def cmd_select(args):
    """METHOD 1c exactly as labelcast_core::select::low_confidence_decile does it."""
    with open(os.path.join(OUT, "smollm2-pool.json")) as f:
        items = json.load(f)["items"]
    pool = read_csv("pool.csv")
    answers = {r["id"]: r["answer"] for r in read_csv("answers.csv")}
    conf = [(i, it["avg_confidence"]) for i, it in enumerate(items) if it["avg_confidence"] is not None]
    ranked = sorted(conf, key=lambda x: (x[1], x[0]))
    decile = -(-len(ranked) // 10)
    if decile < SELECT_K:
        print(f"bottom decile has {decile} < {SELECT_K} rows: taking the {SELECT_K} lowest "
              "(labelcast-core's rule; no random draw)")
        chosen = list(range(SELECT_K))
    else:
        sys.exit("pool large enough for a seeded draw: use the labelcast CLI (its Rng) instead")
    boundary = ranked[SELECT_K][1] - ranked[SELECT_K - 1][1]
    print(f"confidence gap between rank {SELECT_K} and {SELECT_K + 1}: {boundary:.3g}")
    with open(os.path.join(DATA, "labeled.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["id", "prompt", "answer", "category"])
        for r in sorted(chosen):
            i = ranked[r][0]
            row = pool[i]
            assert row["id"] == items[i]["id"]
            w.writerow([row["id"], row["prompt"], answers[row["id"]], row["category"]])
    print(f"wrote tests/data/labeled.csv ({SELECT_K} rows, lowest confidence first)")


def bench_phase(args):
    """One benchmark phase in this (fresh) process; prints one JSON line."""
    torch.use_deterministic_algorithms(True)
    t0 = time.perf_counter()
    b = load("smollm2")
    res = {"phase": args.phase, "load_s": b.load_s, "rss_after_load_mib": peak_rss_mib(),
           "loadavg_start": os.getloadavg()[0]}
    if args.phase == "coslow":
        t, c = time.perf_counter(), time.process_time()
        ex = labeled_examples(b, 32)
        pm, a, bb = attach_lora(b)
        res["attach_s"] = time.perf_counter() - t
        t = time.perf_counter()
        grads, _ = lora_grads(b, pm, a, bb, ex)
        res["grads_s"] = time.perf_counter() - t
        t = time.perf_counter()
        cos, _ = cosine_matrix(grads)
        res["cosine_s"] = time.perf_counter() - t
        res["coslow"] = float(np.median(upper(cos)))
        res["n_examples"] = len(ex)
        res["total_s"] = res["attach_s"] + res["grads_s"] + res["cosine_s"]
        res["cpu_s"] = time.process_time() - c
    elif args.phase == "score":
        pool = [r["prompt"] for r in read_csv("pool.csv")]
        res["batch_size"] = args.batch
        t, c = time.perf_counter(), time.process_time()
        results = score_batched(b, pool, args.batch)
        res["total_s"] = time.perf_counter() - t
        res["cpu_s"] = time.process_time() - c
        res["n_prompts"] = len(pool)
        res["generated_tokens"] = int(sum(len(r[0]) for r in results))
        res["avg_confidence"] = [r[1] for r in results]
        res["generated_ids"] = [r[0] for r in results]
    res["peak_rss_mib"] = peak_rss_mib()
    res["loadavg_end"] = os.getloadavg()[0]
    ru = resource.getrusage(resource.RUSAGE_SELF)
    res["process_cpu_s"] = ru.ru_utime + ru.ru_stime  # whole process, load included
    res["wall_s"] = time.perf_counter() - t0
    print("BENCH " + json.dumps(res), flush=True)


@torch.no_grad()
def score_batched(b, prompts, batch):
    """Greedy scoring with HF generate: left padding, KV cache, batch `batch`."""
    from transformers import GenerationConfig
    tok = b.tok
    tok.padding_side = "left"
    gc = GenerationConfig(max_new_tokens=MAX_NEW_TOKENS, do_sample=False, num_beams=1,
                          eos_token_id=b.stop_ids, pad_token_id=2, output_logits=True,
                          return_dict_in_generate=True)
    results = []
    for s in range(0, len(prompts), batch):
        encs = [b.encode(b.chat(p)) for p in prompts[s:s + batch]]
        t = max(len(e) for e in encs)
        ids = torch.tensor([[2] * (t - len(e)) + e for e in encs])
        mask = torch.tensor([[0] * (t - len(e)) + [1] * len(e) for e in encs])
        out = b.model.generate(input_ids=ids, attention_mask=mask, generation_config=gc)
        logits = torch.stack(out.logits, dim=1)  # [B, steps, V]
        for j in range(len(encs)):
            steps = []
            for k in range(logits.shape[1]):
                st = step_stats(logits[j, k])
                steps.append(st)
                if st["id"] in b.stop_ids:
                    break
            summ = summarize(steps, b.exclusion_ids)
            results.append(([st["id"] for st in steps], summ["avg_confidence"]))
    return results


def cmd_bench(args):
    me = [sys.executable, os.path.abspath(__file__), "--threads", str(args.threads), "bench-phase"]
    runs = ([("coslow", 1)] if "coslow" in args.phases else []) + \
        ([("score", bs) for bs in args.batches] if "score" in args.phases else [])
    results = []
    timing_path = os.path.join(OUT, "smollm2-timing.json")
    if os.path.exists(timing_path):  # keep the phases not re-run now
        with open(timing_path) as f:
            kept = [r for r in json.load(f)["results"]
                    if (r["phase"], r.get("batch_size", 1)) not in runs]
    else:
        kept = []
    for phase, bs in runs:
        cmd = me + ["--phase", phase, "--batch", str(bs)]
        print("$ " + " ".join(cmd), flush=True)
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            sys.stderr.write(p.stderr)
            sys.exit(p.returncode)
        line = [l for l in p.stdout.splitlines() if l.startswith("BENCH ")][-1]
        results.append(json.loads(line[6:]))
        r = results[-1]
        print(f"  {phase} batch {bs}: {r['total_s']:.1f}s (+ load {r['load_s']:.1f}s), "
              f"peak RSS {r['peak_rss_mib']:.0f} MiB", flush=True)
    # cross-check the batched scoring against the batch-1 reference
    with open(os.path.join(OUT, "smollm2-pool.json")) as f:
        ref = json.load(f)["items"]
    for r in results:
        if r["phase"] != "score":
            continue
        diffs = [abs(a - it["avg_confidence"]) for a, it in zip(r.pop("avg_confidence"), ref)
                 if a is not None and it["avg_confidence"] is not None]
        same = sum(g == it["generated_ids"] for g, it in zip(r.pop("generated_ids"), ref))
        r["vs_batch1_max_abs_avg_confidence_diff"] = max(diffs)
        r["vs_batch1_identical_generations"] = same
    for r in results:
        r["command"] = (f"nice python tests/reference/make_reference.py --threads {args.threads} "
                        f"bench-phase --phase {r['phase']} --batch {r.get('batch_size', 1)}")
    results = sorted(kept + results, key=lambda r: (r["phase"] != "coslow", r.get("batch_size", 1)))
    write_json(timing_path, {
        "command": f"nice python tests/reference/make_reference.py --threads {args.threads} bench "
                   f"--batches {' '.join(map(str, args.batches))}",
        "env": env_info(args.threads), "results": results})


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("reference")
    r.add_argument("--models", default="tiny-llama,tiny-qwen2,smollm2")
    sub.add_parser("score-pool")
    sub.add_parser("select")
    bn = sub.add_parser("bench")
    bn.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    bn.add_argument("--phases", nargs="+", choices=["coslow", "score"], default=["coslow", "score"])
    bp = sub.add_parser("bench-phase")
    bp.add_argument("--phase", choices=["coslow", "score"], required=True)
    bp.add_argument("--batch", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    {"reference": cmd_reference, "score-pool": cmd_score_pool, "select": cmd_select,
     "bench": cmd_bench, "bench-phase": bench_phase}[args.cmd](args)


if __name__ == "__main__":
    main()
