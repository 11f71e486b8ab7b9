#!/usr/bin/env bash
# Builds the browser app into dist/ with Trunk (offline, release): the page (crates/web) and
# the model worker (crates/worker). The default model, when present in models/ (fetched by
# scripts/fetch-model.sh), is put next to the app so the page loads it from its own origin.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
trunk build --release
MODEL=models/SmolLM2-135M-Instruct.Q4_1.gguf
if [ -f "$MODEL" ]; then
  mkdir -p dist/models
  # A hard link where the file system allows it: the model is ~100 MB.
  ln -f "$MODEL" dist/models/ 2>/dev/null || cp "$MODEL" dist/models/
else
  echo "note: $MODEL is missing (scripts/fetch-model.sh fetches it); the page will offer only models from disk" >&2
fi
