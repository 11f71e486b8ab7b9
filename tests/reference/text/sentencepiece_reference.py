"""Ground truth for labelcast-text's SentencePiece tokenizer (GGUF `tokenizer.ggml.model` = "llama"):
Mistral v0.3's vocabulary (Mistral-7B-Instruct-v0.3, the v3 SentencePiece BPE model of 32,768 pieces)
and the ids SentencePiece itself gives for plain texts.

The model file is mistral-common's `src/mistral_common/data/mistral_instruct_tokenizer_240323.model.v3`
(github.com/mistralai/mistral-common, Apache-2.0), the same vocabulary as the model's
tokenizer.model.v3. Run with a venv holding `sentencepiece protobuf`:

    python tests/reference/text/sentencepiece_reference.py path/to/mistral_instruct_tokenizer_240323.model.v3

It writes `mistral_v3_spm.json` next to itself: what llama.cpp's converter stores in a GGUF (pieces,
scores, token types, special ids) and, for each of STRINGS, `sp.encode(text)` (SentencePiece adds its
dummy-prefix "▁" to the text, as the model saw in training).
"""

import json
import os
import sys

import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2 as pb

HERE = os.path.dirname(os.path.abspath(__file__))

STRINGS = [
    "Hello world",
    "Hello, world!",
    "What is the capital of France?",
    " leading space",
    "two  spaces and three   spaces",
    "trailing space ",
    "line one\nline two\n\nafter a blank line",
    "\ttab\tseparated",
    "Numbers: 0 7 42 1234567 3.14159 -12 1e-5",
    "Prices: $4.99, €12,50; 50% off!",
    "naïve café résumé Ångström",
    "日本語のテキスト",
    "emoji 🎉🚀 and a rare one 𓀀",
    "Σ αβγ δε — Привет мир",
    "def f(x):\n    return x ** 2  # square",
    "snake_case camelCase kebab-case SCREAMING_CASE",
    "URL https://example.com/a?b=c&d=e#f",
    "quotes 'single' \"double\" `back`",
    "[INST] brackets that are not special",
    "antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis",
    "x" * 40,
    "The result of 5 + 5 is 10.",
    "Classify the sentiment: The movie was long but the ending made it worth it.",
    "Answer with one word: yes or no.",
]


def main(path):
    sp = spm.SentencePieceProcessor(model_file=path)
    m = pb.ModelProto()
    with open(path, "rb") as f:
        m.ParseFromString(f.read())
    assert m.trainer_spec.model_type == pb.TrainerSpec.BPE
    n = m.normalizer_spec
    assert n.add_dummy_prefix and not n.remove_extra_whitespaces and n.name == "identity", n
    # llama.cpp's converter: token types 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused,
    # 6 byte; SentencePiece's ModelProto types are NORMAL=1, UNKNOWN=2, CONTROL=3, USER_DEFINED=4,
    # BYTE=6, UNUSED=5: the same numbers.
    out = {
        "source": "mistral-common src/mistral_common/data/mistral_instruct_tokenizer_240323.model.v3 (Apache-2.0)",
        "sentencepiece": spm.__version__,
        "tokens": [p.piece for p in m.pieces],
        "scores": [p.score for p in m.pieces],
        "token_types": [int(p.type) for p in m.pieces],
        "bos_token_id": sp.bos_id(),
        "eos_token_id": sp.eos_id(),
        "unknown_token_id": sp.unk_id(),
        "cases": [{"text": s, "ids": sp.encode(s)} for s in STRINGS],
    }
    with open(os.path.join(HERE, "mistral_v3_spm.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
