"""Ground truth for labelcast-text: token ids and chat-template renderings from Python.

Run from the repository root with a venv holding `tokenizers transformers gguf numpy jinja2`
(e.g. /root/.cache/labelcast/refvenv):

    python tests/reference/text/tokenizer_reference.py [path/to/SmolLM2-135M-Instruct.Q4_1.gguf]

It writes, next to itself:
  smollm2_ids.json      ids of STRINGS under SmolLM2's tokenizer, the chat prompts, the METHOD.md 1d
                        example encodings, the exclusion ids, and custom-template renderings.
  tiny_tokenizer.json   a small byte-level BPE (vocab 512) trained here, a standard HF tokenizer.json.
  tiny_ids.json         ids of STRINGS under tiny_tokenizer.json, and under tokenizers rebuilt from its
                        vocab + merges with each GGUF `tokenizer.ggml.pre` type labelcast supports.

Why the SmolLM2 tokenizer is rebuilt rather than loaded: the GGUF carries no tokenizer.json, and none
could be fetched here (no model hub). SmolLM2 ships the cosmo2 tokenizer.json, whose structure is:
BPE (no unk, no byte fallback), normalizer null, pre-tokenizer Sequence[Digits(individual_digits),
ByteLevel(add_prefix_space=false, use_regex=true)], ByteLevel decoder, and the 17 tokens 0..=16 as
special added tokens. `smollm2_tokenizer` rebuilds exactly that from the GGUF's vocab and merges
(llama.cpp's converter copies them verbatim). transformers' own GGUF conversion is NOT used as the
truth: it has no "smollm" pre-tokenizer entry and falls back to plain GPT-2 splitting without the
digit split, which differs on text like "x  12" (recorded under `transformers_gguf_mismatches`).
Other reference scripts that tokenize for SmolLM2 should import `smollm2_tokenizer` from here.
"""

import json
import os
import sys

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
DEFAULT_GGUF = os.path.join(ROOT, "models", "SmolLM2-135M-Instruct.Q4_1.gguf")

STRINGS = [
    "",
    " ",
    "Hello world",
    "Hello, world!",
    "  leading spaces",
    "trailing spaces   ",
    "multiple   internal    spaces",
    "12345",
    "x  12",
    "3.14159 and 1,000,000",
    "abc123def456",
    "The year 2024 had 366 days.",
    "café résumé naïve façade",
    "Ångström",
    "e\u0301 combining vs \u00e9",
    "日本語のテキストとカタカナ",
    "你好，世界！这是一个测试。",
    "한국어 텍스트입니다",
    "Привет, мир!",
    "مرحبا بالعالم",
    "αβγ δεζ",
    "emoji 😀👍🏽🇺🇸 and ❤️",
    "\n",
    "\n\n",
    "a\n\nb",
    "line1\nline2\n",
    "\t",
    "tab\tseparated\tvalues",
    "windows\r\nline",
    "   ",
    "\n \n  x",
    "def foo(x):\n    return x ** 2  # comment",
    'fn main() {\n\tprintln!("hi {}", 1 + 2);\n}',
    "<html><body class=\"x\">text</body></html>",
    "SELECT * FROM t WHERE a = 1;",
    "#include <stdio.h>",
    "I'm sure they'll say it's fine, don't you think? We've seen it.",
    "DON'T SHOUT, IT'S LOUD",
    "https://example.com/path?q=1&r=2#frag",
    "email: someone@example.org",
    "$100.00 (USD) -- 50% off!!!",
    "!!!???...",
    "supercalifragilisticexpialidocious",
    "a\u00a0b non-breaking",
    "zero\u200bwidth",
    "\ufb01 ligature",
    "a\x00b\x7fc",
    "ĠĠ Ċ literal byte-level chars",
    "<|im_start|>",
    "<|im_end|>",
    "<|endoftext|>",
    "<|im_start|>user\nHi<|im_end|>\n",
    "before<|im_end|>after",
    "<|im_start|><|im_end|><|im_start|>",
    "<|im_start",
    "not <|special|> token",
    "<repo_name>x<file_sep>y",
    " Paris",
    "The answer is 42.",
    "Answer: B) 7\n",
]

# (system, user): the chat prompts; None = no system message (SmolLM2 then inserts its default one).
CHATS = [
    (None, "What is the capital of France?"),
    ("You are a careful grader.", "Is 17 prime? Answer yes or no."),
    (None, "Translate to German:\n\n  \"Good morning\"\tplease."),
    ("Antworte auf Deutsch.", "Wie spät ist es? 🕰️"),
    ("", "Empty system message."),
]

# (prompt_index into CHATS, answer): METHOD.md 1d encodings.
EXAMPLES = [
    (0, "Paris"),
    (0, "The capital of France is Paris."),
    (1, "yes"),
    (2, "\n\nGuten Morgen"),
    (3, "Es ist 12:30 Uhr."),
    (4, ""),
]

# Templates exercising what chat templates use beyond SmolLM2's: tojson (Python json.dumps, not
# Jinja's HTML-escaping one), Python string methods, loop controls, namespace, trim/lstrip_blocks.
CUSTOM_TEMPLATES = [
    "{{ messages | tojson }}",
    "{{ messages[0] | tojson(indent=2) }}",
    "{% for m in messages %}{{ m.role.upper() }}: {{ m.content.strip() }}|{% endfor %}",
    "{% for m in messages %}{% if loop.index > 1 %}{% break %}{% endif %}[{{ m['content'].split(' ')[0] }}|{{ m['content'].split()[0] }}]{% endfor %}",
    "{% for m in messages %}{% if m.role == 'system' %}{% continue %}{% endif %}{{ m.content.title() }}{% endfor %}",
    "{% for k, v in messages[1].items() %}{{ k }}={{ v }};{% endfor %}{{ messages | length }}",
    "{{ (messages | selectattr('role', 'equalto', 'user') | list | first).content | trim }} {{ messages[-1]['content'][:3] }}",
    "{% set ns = namespace(n=0) %}{% for m in messages %}{% set ns.n = ns.n + m.content|length %}{% endfor %}{{ ns.n }}",
    "{%- for m in messages %}\n  {%- if m.role == 'user' %}\n    <u>{{ m.content }}</u>\n  {% endif %}\n{% endfor %}\n{{ bos_token }}|{{ eos_token }}",
    "{{ messages[0].content.startswith('  ') }} {{ messages[1].content.replace('\"', \"'\") }} {{ messages[0].content.lstrip() }}",
    "{% if add_generation_prompt %}gen{% else %}nogen{% endif %} {{ tools is none }} {{ documents is none }}",
    # The shape of the Qwen2.5 / Hermes templates: whitespace control everywhere, undefined
    # attributes on dicts, neighbours through loop.index0, nested quotes and escapes.
    '''{%- if tools %}
    {{- '<|im_start|>system\\n' + 'tools' }}
{%- else %}
    {%- if messages[0]['role'] == 'system' %}
        {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}
    {%- else %}
        {{- '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}
    {%- endif %}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}
    {%- elif message.role == "tool" %}
        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\\n<tool_response>\\n' + message.content + "\\n</tool_response>" }}
    {%- endif %}
    {%- if message.name is defined %}{{ raise_exception('names are not supported') }}{% endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
{%- endif %}
''',
]
CUSTOM_MESSAGES = [
    {"role": "system", "content": "  Ünïcødé <b>&amp;</b> \"quoted\" \\ back\tslash\n"},
    {"role": "user", "content": "say \"hi\" to 日本 😀"},
]

EXCLUSION_IDS = [0, 2, 198]


def gguf_tokenizer_fields(path):
    import gguf

    reader = gguf.GGUFReader(path)

    def get(key):
        field = reader.fields.get(key)
        return None if field is None else field.contents()

    return get


def smollm2_tokenizer(gguf_path=DEFAULT_GGUF):
    """SmolLM2's tokenizer.json, rebuilt from the GGUF metadata (see the module docstring)."""
    get = gguf_tokenizer_fields(gguf_path)
    assert get("tokenizer.ggml.model") == "gpt2" and get("tokenizer.ggml.pre") == "smollm"
    tokens, types = get("tokenizer.ggml.tokens"), get("tokenizer.ggml.token_type")
    merges = [tuple(m.split(" ")) for m in get("tokenizer.ggml.merges")]
    bpe = models.BPE(vocab={t: i for i, t in enumerate(tokens)}, merges=merges, fuse_unk=False, byte_fallback=False)
    tok = Tokenizer(bpe)
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)]
    )
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(t, normalized=False, special=True) for t, ty in zip(tokens, types) if ty == 3])
    return tok


def encode(tok, text):
    return tok.encode(text, add_special_tokens=False).ids


def smollm2_reference(gguf_path):
    from transformers import AutoTokenizer
    from transformers.utils.chat_template_utils import _compile_jinja_template

    tok = smollm2_tokenizer(gguf_path)
    hf = AutoTokenizer.from_pretrained(os.path.dirname(gguf_path), gguf_file=os.path.basename(gguf_path))

    def messages(system, user):
        return ([] if system is None else [{"role": "system", "content": system}]) + [{"role": "user", "content": user}]

    chats = []
    for system, user in CHATS:
        prompt = hf.apply_chat_template(messages(system, user), tokenize=False, add_generation_prompt=True)
        no_gen = hf.apply_chat_template(messages(system, user), tokenize=False, add_generation_prompt=False)
        chats.append({"system": system, "user": user, "prompt": prompt, "prompt_no_generation": no_gen,
                      "ids": encode(tok, prompt)})

    strings = STRINGS + [c["prompt"] for c in chats]
    cases = []
    mismatches = []
    for s in strings:
        ids = encode(tok, s)
        assert tok.decode(ids, skip_special_tokens=False) == s or "\u0000" in s, repr(s)
        cases.append({"text": s, "ids": ids, "decoded": tok.decode(ids, skip_special_tokens=False)})
        theirs = hf(s, add_special_tokens=False)["input_ids"]
        if theirs != ids:
            mismatches.append({"text": s, "transformers_gguf_ids": theirs})

    examples = []
    for index, answer in EXAMPLES:
        prompt = chats[index]["prompt"]
        ids = encode(tok, prompt + answer)
        examples.append({"prompt": prompt, "answer": answer, "ids": ids, "n_prompt": len(encode(tok, prompt))})

    # The exclusions METHOD.md 1b names: <|endoftext|>, <|im_end|> and the newline token "Ċ".
    assert [tok.token_to_id(t) for t in ("<|endoftext|>", "<|im_end|>", "\u010a")] == EXCLUSION_IDS
    assert encode(tok, "\n") == [198]

    templates = []
    for source in CUSTOM_TEMPLATES:
        for gen in (False, True):
            out = _compile_jinja_template(source).render(
                messages=CUSTOM_MESSAGES, tools=None, documents=None, add_generation_prompt=gen,
                bos_token="<|im_start|>", eos_token="<|im_end|>")
            templates.append({"template": source, "add_generation_prompt": gen, "output": out})

    return {
        "source": "SmolLM2 tokenizer rebuilt from the GGUF vocab/merges with the published tokenizer.json "
                  "structure (Digits(individual) + ByteLevel); see tokenizer_reference.py",
        "python_tokenizers_version": __import__("tokenizers").__version__,
        "transformers_version": __import__("transformers").__version__,
        "vocab_size": tok.get_vocab_size(with_added_tokens=True),
        "chat_template": hf.chat_template,
        "exclusion_ids": EXCLUSION_IDS,
        "cases": cases,
        "chats": chats,
        "examples": examples,
        "custom_templates": {"messages": CUSTOM_MESSAGES, "bos_token": "<|im_start|>", "eos_token": "<|im_end|>",
                             "renders": templates},
        "transformers_gguf_mismatches": mismatches,
    }


# Pre-tokenizers labelcast builds for each GGUF `tokenizer.ggml.pre`, as transformers' Qwen2/Llama-3
# tokenizer classes and SmolLM2's tokenizer.json define them.
QWEN2_SPLIT = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
LLAMA3_SPLIT = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""


def pipeline(pre):
    split = lambda rx: [pre_tokenizers.Split(Regex(rx), behavior="isolated", invert=False),  # noqa: E731
                        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]
    if pre == "gpt2":
        return None, pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    if pre == "smollm":
        return None, pre_tokenizers.Sequence(
            [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)])
    if pre == "qwen2":
        return normalizers.NFC(), pre_tokenizers.Sequence(split(QWEN2_SPLIT))
    if pre == "llama-bpe":
        return None, pre_tokenizers.Sequence(split(LLAMA3_SPLIT))
    raise ValueError(pre)


TINY_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def tiny_reference():
    # Corpus: the test strings plus a little prose, so merges exist for common words and digits.
    prose = ("The quick brown fox jumps over the lazy dog. " * 3 + "Numbers 0123456789 and 2024. "
             "def main():\n    return 0\n" + "Ünïcødé café 日本語 😀\n\n")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=512, special_tokens=TINY_SPECIALS, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator([prose] * 4 + STRINGS, trainer=trainer)
    path = os.path.join(HERE, "tiny_tokenizer.json")
    tok.save(path)
    tok = Tokenizer.from_file(path)

    data = json.load(open(path, encoding="utf-8"))
    vocab = data["model"]["vocab"]
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in data["model"]["merges"]]
    by_pre = {}
    for pre in ("gpt2", "smollm", "qwen2", "llama-bpe"):
        # Llama 3's tokenizer.json sets ignore_merges (a word in the vocabulary is one token).
        rebuilt = Tokenizer(models.BPE(vocab=vocab, merges=merges, ignore_merges=pre == "llama-bpe"))
        normalizer, pre_tok = pipeline(pre)
        if normalizer is not None:
            rebuilt.normalizer = normalizer
        rebuilt.pre_tokenizer = pre_tok
        rebuilt.decoder = decoders.ByteLevel()
        rebuilt.add_special_tokens([AddedToken(t, normalized=False, special=True) for t in TINY_SPECIALS])
        by_pre[pre] = [encode(rebuilt, s) for s in STRINGS]
    return {
        "vocab_size": tok.get_vocab_size(with_added_tokens=True),
        "specials": {t: tok.token_to_id(t) for t in TINY_SPECIALS},
        "cases": [{"text": s, "ids": encode(tok, s)} for s in STRINGS],
        "by_pre": by_pre,
    }


def write(name, value):
    with open(os.path.join(HERE, name), "w", encoding="utf-8") as f:
        json.dump(value, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    gguf_path = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("LABELCAST_SMOLLM2_GGUF", DEFAULT_GGUF)
    write("smollm2_ids.json", smollm2_reference(gguf_path))
    write("tiny_ids.json", tiny_reference())
    print("wrote smollm2_ids.json, tiny_tokenizer.json, tiny_ids.json")
