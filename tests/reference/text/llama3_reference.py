"""Ground truth for labelcast-text on Llama 3.x's real tokenizer: its 128,000 byte-level BPE
tokens, its 256 special tokens, its pre-tokenizer regex (digits in runs of up to three), and the
ids Meta's own tokenizer gives for a varied set of texts.

Input: Meta's PyPI wheel llama-models==0.3.0, which holds llama3/tokenizer.model (tiktoken ranks,
under the Llama 3 Community License, so it is not committed here; scripts/fetch-test-data.sh
puts the same file at models/llama3/tokenizer.model for the Rust tests):

    python3 -m pip download --no-deps -d /tmp/wheel llama-models==0.3.0
    scripts/fetch-test-data.sh        # models/llama3/chat_template.jinja
    python tests/reference/text/llama3_reference.py /tmp/wheel/llama_models-0.3.0-py3-none-any.whl \
        models/llama3/chat_template.jinja

with a venv holding `tiktoken tokenizers transformers` (no torch). It writes
tests/reference/text/llama3_ids.json: for each text the ids (and the decoding), prompts in the
Llama 3.1 Instruct layout with their ids, METHOD.md 1d encodings, and checksums of the vocabulary
and of the merges that the Rust test derives from the ranks itself.

Two tokenizers must agree on every text or the script stops:
- Meta's `llama_models.llama3.tokenizer.Tokenizer` (tiktoken; special tokens allowed), the
  tokenizer Llama 3 was trained with;
- Hugging Face `tokenizers` on the tokenizer.json that transformers' `TikTokenConverter` builds
  from the same file (Split(Llama 3 regex) + ByteLevel, BPE with `ignore_merges`, the 256 special
  tokens added): the layout of the hub's Llama 3.x tokenizer.json, which the paper's code loaded.
"""

import os
import sys
import tempfile
import zipfile
from pathlib import Path

import tokenizers
from tokenizers import AddedToken, Tokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from qwen25_reference import TEXTS as COMMON_TEXTS, bytes_to_unicode, fnv1a64, write_ids  # noqa: E402

LLAMA3_TEXTS = [
    "<|begin_of_text|>",
    "<|eot_id|>",
    "<|end_of_text|>",
    "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
    "before<|eot_id|>after",
    "<|begin_of_text|><|start_header_id|><|end_header_id|><|eot_id|><|eom_id|>",
    " <|eot_id|> spaced ",
    "<|eot_id",
    "<|python_tag|>print(1)<|eom_id|>",
    "<|finetune_right_pad_id|><|reserved_special_token_0|><|reserved_special_token_247|>",
    "<|reserved_special_token_248|> is no token",
    "1 12 123 1234 12345 123456 1234567",
    "٣٤٥٦ ①②③ ½¾ (other digits)",
    "x\n\ny\n\n\nz\n \nw",
    "                                                                 (65 spaces)",
    "\n" * 20,
    "internationalization antidisestablishmentarianism Pneumonoultramicroscopic",
    " the The THE tHe",
    "{\"label\": true, \"score\": 0.95}",
    # Words that are one token in the vocabulary but that BPE's merges would not reach: only
    # ignore_merges (the hub file's, and tiktoken's behaviour) gives their one id.
    "Việt Nam: việc hợp nhiều điều ngoài nhiên biệt",
    "gidiyor mektedir ektedir, okullardan geldi ıldı; jeho; ایران",
]
TEXTS = COMMON_TEXTS + LLAMA3_TEXTS

# (system, user): prompts laid out as Llama 3.1 Instruct's template renders a system message and
# a user turn with the generation prompt. The template itself is Meta's and not committed: given
# its file (Llama-3.1-8B-Instruct's chat_template.jinja), the script checks that transformers'
# apply_chat_template renders exactly these prompts, and the Rust test renders them with it too.
HEADER = "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n"
CHATS = [
    (
        "You are a sentiment classifier. Answer with one word: positive or negative.",
        "The movie was long, but the ending made it worth it.",
    ),
    ("Réponds en français.", "Quelle heure est-il ? 🕰️\n\nMerci."),
    ("", "What is 12 * 34?"),
]

# (index into CHATS, answer): METHOD.md 1d: ids = encode(prompt + answer), n_prompt = encode(prompt).
EXAMPLES = [(0, "positive"), (0, "negative"), (1, "Il est 12h30."), (2, "408"), (2, "True")]

# METHOD.md 1b: the paper's exclusion ids for Llama 3.x: "\n\n" and <|eot_id|>.
EXCLUSION_IDS = [271, 128009]


def layout(system, user):
    def turn(role, content):
        return f"<|start_header_id|>{role}<|end_header_id|>\n\n{content}<|eot_id|>"

    # The template trims each message's content, but not the date header before the system's.
    return (
        "<|begin_of_text|>"
        + turn("system", HEADER + system.strip())
        + turn("user", user.strip())
        + "<|start_header_id|>assistant<|end_header_id|>\n\n"
    )


def check_rendering(hf, template_path, chats):
    """transformers' apply_chat_template with the model's own template gives `layout`'s prompts
    (an empty system message and none render alike)."""
    import hashlib
    from transformers import PreTrainedTokenizerFast

    with open(template_path, "rb") as f:
        raw = f.read()
    tok = PreTrainedTokenizerFast(tokenizer_object=hf, bos_token="<|begin_of_text|>", eos_token="<|eot_id|>")
    for c in chats:
        for system in [c["system"]] + ([None] if c["system"] == "" else []):
            messages = ([{"role": "system", "content": system}] if system is not None else []) + [
                {"role": "user", "content": c["user"]}
            ]
            got = tok.apply_chat_template(
                messages, chat_template=raw.decode("utf-8"), tokenize=False, add_generation_prompt=True
            )
            assert got == c["prompt"], (got, c["prompt"])
    return hashlib.sha256(raw).hexdigest()


def main(wheel, template=None):
    with tempfile.TemporaryDirectory() as d:
        with zipfile.ZipFile(wheel) as z:
            for name in z.namelist():
                if name.startswith("llama_models/llama3/") or name == "llama_models/tokenizer_utils.py":
                    z.extract(name, d)
        sys.path.insert(0, d)
        from llama_models.llama3.tokenizer import Tokenizer as MetaTokenizer

        model_path = Path(d) / "llama_models/llama3/tokenizer.model"
        meta = MetaTokenizer(model_path)
        from transformers.convert_slow_tokenizer import TikTokenConverter
        import transformers

        specials = sorted(meta.special_tokens.items(), key=lambda kv: kv[1])
        converter = TikTokenConverter(vocab_file=str(model_path), pattern=meta.pat_str)
        vocab, merges = converter.extract_vocab_merges_from_model(str(model_path))
        hf = converter.converted()
        hf.add_special_tokens([AddedToken(t, normalized=False, special=True) for t, _ in specials])

    assert hf.get_vocab_size(with_added_tokens=True) == meta.n_words == 128256
    for t, i in specials:
        assert hf.token_to_id(t) == i, (t, i)
    tokens = [None] * len(vocab)
    for t, i in vocab.items():
        tokens[i] = t
    assert None not in tokens and len(tokens) == 128000
    assert hf.model.ignore_merges
    # What the converter spells the vocabulary in is GPT-2's byte alphabet, as the Rust test does.
    assert all(len(tokens[b]) == 1 for b in range(256)) and set("".join(tokens)) <= set(bytes_to_unicode())

    def encode(text):
        ours = hf.encode(text, add_special_tokens=False).ids
        theirs = meta.encode(text, bos=False, eos=False, allowed_special="all")
        assert ours == theirs, (text, ours, theirs)
        return ours

    cases = [{"text": t, "ids": encode(t), "decoded": hf.decode(encode(t), skip_special_tokens=False)} for t in TEXTS]
    for c in cases:
        assert c["decoded"] == meta.decode(c["ids"]) == c["text"], c
    chats = [{"system": s, "user": u, "prompt": layout(s, u), "ids": encode(layout(s, u))} for s, u in CHATS]
    examples = []
    for i, answer in EXAMPLES:
        prompt = chats[i]["prompt"]
        examples.append(
            {"prompt": prompt, "answer": answer, "ids": encode(prompt + answer), "n_prompt": len(encode(prompt))}
        )
    assert encode("\n\n") == [271] and meta.eot_id == 128009

    template_sha256 = check_rendering(hf, template, chats) if template else None
    merge_strings = [f"{a} {b}" for a, b in merges]
    out = {
        "source": "llama3/tokenizer.model of Meta's PyPI wheel llama-models==0.3.0 (Llama 3 Community License), "
        "fetched by scripts/fetch-test-data.sh, not committed",
        "tokenizer_model_sha256": "82e9d31979e92ab929cd544440f129d9ecd797b69e327f80f17e1c50d5551b55",
        "tokenizers": tokenizers.__version__,
        "transformers": transformers.__version__,
        "pattern": meta.pat_str,
        "vocab_size": meta.n_words,
        "n_merges": len(merges),
        "vocab_fnv1a64": fnv1a64(tokens),
        "merges_fnv1a64": fnv1a64(merge_strings),
        "special_tokens": [t for t, _ in specials],
        # The prompts as transformers renders them with this template (None: not checked).
        "chat_template_sha256": template_sha256,
        "exclusion_ids": EXCLUSION_IDS,
        "newline_id": encode("\n"),
        "cases": cases,
        "chats": chats,
        "examples": examples,
    }
    write_ids("llama3_ids.json", out)
    print("Meta's and Hugging Face's ids agree on every one")


if __name__ == "__main__":
    main(*sys.argv[1:])
