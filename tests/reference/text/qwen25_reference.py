"""Ground truth for labelcast-text on Qwen2.5's real tokenizer: its 151,643-token byte-level BPE, its
22 added tokens, its pre-tokenizer regex and NFC normalizer, and the ids Hugging Face `tokenizers`
gives for a varied set of texts.

Input: tests/fixtures/qwen2.5/ (see its README.md for the source, commit and license): merges.txt,
tokenizer_config.json and chat_template.jinja of Qwen/Qwen2.5-0.5B-Instruct, verbatim. vocab.json is
not committed (2.8 MB, and no gzip reader is in the workspace): in Qwen's vocabulary id i >= 256 is
exactly merge i - 256 with its space removed and ids 0..255 are GPT-2's byte alphabet in
`bytes_to_unicode` order, so the vocabulary is rebuilt from merges.txt. Pass the original vocab.json
to check that (the run below did):

    python tests/reference/text/qwen25_reference.py [path/to/Qwen2.5/vocab.json]

with a venv holding `tokenizers transformers jinja2` (no torch). It writes:
  tests/fixtures/qwen2.5/tokenizer_skeleton.json  Qwen2.5's tokenizer.json without model.vocab and
      model.merges: the layout of the hub's file (NFC; Split(Qwen2 regex, Isolated) + ByteLevel
      without regex; ByteLevel post-processor and decoder; BPE without unk or byte fallback; the
      added tokens of tokenizer_config.json). The Rust test fills vocab and merges back in.
  tests/reference/text/qwen25_ids.json  for each of TEXTS the ids `tokenizers` gives with
      add_special_tokens=False (and the decoding), the chat prompts rendered by transformers'
      apply_chat_template with their ids, METHOD.md 1d encodings, and a checksum of the rebuilt
      vocabulary.

The ids are computed by `tokenizers` on the reassembled tokenizer.json (skeleton + vocab + merges,
exactly what the Rust test builds) and checked against transformers' own Qwen2Tokenizer loaded from
vocab.json + merges.txt + tokenizer_config.json (how transformers builds it when a folder has no
tokenizer.json): the script stops if any text differs.
"""

import json
import os
import shutil
import sys
import tempfile

import tokenizers
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "qwen2.5")

# transformers' Qwen2Tokenizer PRETOKENIZE_REGEX, as in the hub's tokenizer.json.
QWEN2_REGEX = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)

TEXTS = [
    "",
    "Hello world",
    "The quick brown fox jumps over the lazy dog.",
    "  leading spaces and trailing spaces   ",
    "multiple   internal     spaces",
    "12345",
    "3.14159 and 1,000,000 and -0.5e-10",
    "Call 1-800-555-0199 or 123456789012345678901234567890.",
    "The year 2024 had 366 days; 2^64 = 18446744073709551616.",
    "abc123def456",
    "def foo(x):\n    return x ** 2  # square\n\n\nclass A:\n\tpass\n",
    'fn main() {\n\tprintln!("{}", 1 + 2);\n\t\tlet v: Vec<u8> = vec![];\n}',
    "if (a && b) { return a->c[i]; } // done",
    "I'm sure they'll say it's fine, don't you think? We've seen it; you'd agree.",
    "DON'T SHOUT, I'M HERE AND IT'S LOUD. WE'LL SEE, THEY'VE GONE, YOU'D KNOW",
    "don't Don't DON'T dOn'T",
    "'s 're 've 'm 'll 'd at the start",
    "emoji 😀👍🏽🇺🇸 and ❤️ and 👨‍👩‍👧‍👦",
    "日本語のテキストとカタカナ",
    "你好，世界！这是一个测试。",
    "한국어 텍스트입니다",
    "مرحبا بالعالم، كيف حالك؟",
    "नमस्ते दुनिया, आप कैसे हैं?",
    "Привет, мир! Ёжик.",
    "αβγ δεζ Ωμέγα",
    "café résumé naïve façade Ångström",
    "cafe\u0301 re\u0301sume\u0301 (decomposed, NFC composes them)",
    "A\u030angstro\u0308m and the \u212bngstr\u00f6m sign",
    "\u1100\u1161\u11a8 (conjoining jamo) vs \uac01",
    "\ufb01 ligature and \u00bd half and \u2460 circled",
    "a\u00a0b non-breaking, zero\u200bwidth",
    "\n",
    "\n\n",
    "\n\n\n",
    "a\n\n\nb",
    "line1\nline2\n",
    "windows\r\nline\r\n\r\n",
    " \n \n  x",
    "\t",
    "tab\tseparated\tvalues\t\t",
    "   ",
    "end with spaces  \n  next",
    "<|im_start|>",
    "<|im_end|>",
    "<|endoftext|>",
    "<|im_start|>user\nHi<|im_end|>\n",
    "before<|im_end|>after",
    "<|im_start|><|im_end|><|endoftext|><|im_start|>",
    " <|endoftext|> spaced ",
    "<|im_start",
    "not <|special|> token",
    "<tool_call>\n{\"name\": \"f\"}\n</tool_call>",
    "<|fim_prefix|>def f():<|fim_suffix|>\n<|fim_middle|>",
    "<|repo_name|>x<|file_sep|>y",
    "<|vision_start|><|image_pad|><|vision_end|>",
    "https://example.com/path?q=1&r=2#frag and email someone@example.org",
    "$100.00 (USD) -- 50% off!!! ???...",
    "ĠĠ Ċ literal byte-level chars",
    "supercalifragilisticexpialidocious",
]

# (system, user): chat prompts rendered with the model's template, generation prompt added.
CHATS = [
    (
        "You are a sentiment classifier. Answer with one word: positive or negative.",
        "The movie was long, but the ending made it worth it.",
    ),
    ("Réponds en français.", "Quelle heure est-il ? 🕰️\n\nMerci."),
    (None, "What is 12 * 34?"),
]

# (index into CHATS, answer): METHOD.md 1d: ids = encode(prompt + answer), n_prompt = encode(prompt).
EXAMPLES = [(0, "positive"), (0, "negative"), (1, "Il est 12h30."), (2, "408")]

# METHOD.md 1b: the paper's exclusion ids for Qwen2.x.
EXCLUSION_IDS = [198, 151643, 151645]


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for c in cs]


def read_merges():
    with open(os.path.join(FIXTURES, "merges.txt"), encoding="utf-8") as f:
        lines = f.read().split("\n")
    assert lines[0].startswith("#version"), lines[0]
    merges = [l for l in lines[1:] if l]
    assert all(l.count(" ") == 1 for l in merges)
    return merges


def rebuilt_vocab(merges):
    """id -> token: the byte alphabet, then one token per merge."""
    return bytes_to_unicode() + [m.replace(" ", "", 1) for m in merges]


def fnv1a64(tokens):
    """FNV-1a (64-bit) over each token's UTF-8 bytes followed by a 0 byte, in id order."""
    h = 0xCBF29CE484222325
    for t in tokens:
        for b in t.encode("utf-8") + b"\0":
            h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def added_tokens():
    with open(os.path.join(FIXTURES, "tokenizer_config.json"), encoding="utf-8") as f:
        config = json.load(f)
    out = []
    for id_, t in sorted(config["added_tokens_decoder"].items(), key=lambda kv: int(kv[0])):
        out.append((int(id_), t))
    return out


def build(tokens, merges):
    bpe = models.BPE(
        vocab={t: i for i, t in enumerate(tokens)},
        merges=[tuple(m.split(" ")) for m in merges],
        dropout=None,
        unk_token=None,
        continuing_subword_prefix="",
        end_of_word_suffix="",
        fuse_unk=False,
        byte_fallback=False,
        ignore_merges=False,
    )
    tok = Tokenizer(bpe)
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN2_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
        ]
    )
    tok.post_processor = processors.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    tok.decoder = decoders.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    for id_, t in added_tokens():
        a = AddedToken(
            t["content"],
            single_word=t["single_word"],
            lstrip=t["lstrip"],
            rstrip=t["rstrip"],
            normalized=t["normalized"],
            special=t["special"],
        )
        got = tok.add_special_tokens([a]) if t["special"] else tok.add_tokens([a])
        assert got == 1 and tok.token_to_id(t["content"]) == id_, (id_, t)
    return tok


def main(vocab_path=None):
    merges = read_merges()
    tokens = rebuilt_vocab(merges)
    assert len(tokens) == 151643, len(tokens)
    assert len(set(tokens)) == len(tokens)
    if vocab_path:
        with open(vocab_path, encoding="utf-8") as f:
            original = json.load(f)
        assert original == {t: i for i, t in enumerate(tokens)}, "vocab.json is not the vocabulary rebuilt from merges"
        print(f"{vocab_path}: equal to the vocabulary rebuilt from merges.txt ({len(original)} tokens)")

    tok = build(tokens, merges)
    full = json.loads(tok.to_str())
    # Python's decoders.ByteLevel() takes no options and writes its defaults; the hub's file has
    # these (the ByteLevel decoder ignores them all).
    full["decoder"] = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}
    # The hub's file writes merges as "a b" strings (tokenizers >= 0.20 writes pairs; both load).
    skeleton = dict(full)
    skeleton["model"] = {k: v for k, v in full["model"].items() if k not in ("vocab", "merges")}
    with open(os.path.join(FIXTURES, "tokenizer_skeleton.json"), "w", encoding="utf-8") as f:
        json.dump(skeleton, f, ensure_ascii=False, indent=2)
        f.write("\n")

    # What the Rust test assembles: the skeleton plus vocab and merges.
    assembled = dict(skeleton)
    assembled["model"] = dict(skeleton["model"], vocab={t: i for i, t in enumerate(tokens)}, merges=merges)
    tok = Tokenizer.from_str(json.dumps(assembled, ensure_ascii=False))

    # transformers' own Qwen2Tokenizer from vocab.json + merges.txt + tokenizer_config.json.
    from transformers import AutoTokenizer
    import transformers

    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "vocab.json"), "w", encoding="utf-8") as f:
            json.dump({t: i for i, t in enumerate(tokens)}, f, ensure_ascii=False)
        for name in ("merges.txt", "tokenizer_config.json", "chat_template.jinja"):
            shutil.copy(os.path.join(FIXTURES, name), d)
        hf = AutoTokenizer.from_pretrained(d)

    def encode(text):
        ids = tok.encode(text, add_special_tokens=False).ids
        theirs = hf.encode(text, add_special_tokens=False)
        assert ids == theirs, (text, ids, theirs)
        return ids

    assert len(hf) == 151665 and tok.get_vocab_size(with_added_tokens=True) == 151665
    cases = [{"text": t, "ids": encode(t), "decoded": tok.decode(encode(t), skip_special_tokens=False)} for t in TEXTS]

    def render(system, user):
        messages = ([{"role": "system", "content": system}] if system is not None else []) + [
            {"role": "user", "content": user}
        ]
        return hf.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    chats = []
    for system, user in CHATS:
        prompt = render(system, user)
        chats.append({"system": system, "user": user, "prompt": prompt, "ids": encode(prompt)})
    examples = []
    for i, answer in EXAMPLES:
        prompt = chats[i]["prompt"]
        examples.append(
            {"prompt": prompt, "answer": answer, "ids": encode(prompt + answer), "n_prompt": len(encode(prompt))}
        )

    out = {
        "source": "Qwen/Qwen2.5-0.5B-Instruct vocab.json, merges.txt, tokenizer_config.json, chat_template.jinja "
        "(Apache-2.0); see tests/fixtures/qwen2.5/README.md",
        "tokenizers": tokenizers.__version__,
        "transformers": transformers.__version__,
        "vocab_size": tok.get_vocab_size(with_added_tokens=True),
        "n_merges": len(merges),
        "vocab_fnv1a64": fnv1a64(tokens),
        "added_tokens": [{"id": i, "content": t["content"], "special": t["special"]} for i, t in added_tokens()],
        "exclusion_ids": EXCLUSION_IDS,
        "newline_id": encode("\n"),
        "cases": cases,
        "chats": chats,
        "examples": examples,
    }
    write_ids("qwen25_ids.json", out)


def write_ids(name, out):
    """Writes a reference file of ids (`cases`, `chats`, `examples`) next to this script and
    says how many ids it holds."""
    with open(os.path.join(HERE, name), "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")
    groups = [out["cases"], out["chats"], out["examples"]]
    n_ids = sum(len(x["ids"]) for g in groups for x in g)
    print(f"{name}: {len(groups[0])} texts, {len(groups[1])} chat prompts, {len(groups[2])} examples, {n_ids} ids")


if __name__ == "__main__":
    main(*sys.argv[1:])
