#!/usr/bin/env bash
# Fetches reference files the tests read but the repository does not commit, because their
# licences ask for terms a copy here would have to carry:
#   models/llama3/tokenizer.model   Llama 3.x's tokenizer (tiktoken ranks, 128,000 tokens), from
#       Meta's PyPI wheel llama-models==0.3.0, under the Llama 3 Community License. The text
#       tests check labelcast's Llama 3 tokenizer (GGUF and tokenizer.json paths) against the ids
#       committed in tests/reference/text/llama3_ids.json (written by llama3_reference.py).
# Idempotent; verifies each file's SHA-256.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=models/llama3/tokenizer.model
SHA256=82e9d31979e92ab929cd544440f129d9ecd797b69e327f80f17e1c50d5551b55
if [ -f "$OUT" ] && echo "$SHA256  $OUT" | sha256sum --check --status; then
  echo "present: $OUT" >&2
  exit 0
fi
mkdir -p "$(dirname "$OUT")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "==> downloading the llama-models wheel from PyPI (Llama 3's tokenizer, 2.2 MB of its 6.6 MB)" >&2
python3 -m pip download --no-deps --disable-pip-version-check -q -d "$tmp" llama-models==0.3.0
python3 - "$tmp"/llama_models-0.3.0-py3-none-any.whl "$OUT" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open("llama_models/llama3/tokenizer.model") as src, open(sys.argv[2] + ".part", "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
mv "$OUT.part" "$OUT"
echo "$SHA256  $OUT" | sha256sum --check
