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
exec scripts/wheel-file.sh llama-models==0.3.0 llama_models/llama3/tokenizer.model \
  models/llama3/tokenizer.model 82e9d31979e92ab929cd544440f129d9ecd797b69e327f80f17e1c50d5551b55
