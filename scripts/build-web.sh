#!/usr/bin/env bash
# Builds the browser app into dist/ with Trunk (offline, release): the page (crates/web) and
# the model worker (crates/worker). The default model, when present in models/ (fetched by
# scripts/fetch-model.sh), is put next to the app so the page loads it from its own origin.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
trunk build --release
# The model worker's second build, with WebAssembly's relaxed SIMD (fused multiply-add in its
# CPU kernels) for the browsers that have it; web/wasm-features.js picks one of the two at run
# time, as a module using relaxed SIMD does not validate elsewhere. Trunk builds one set of
# target features, so this one is built beside it (its own target directory) with the same
# profile and the same wasm-bindgen as Trunk's worker.
RUSTFLAGS="-C target-feature=+simd128,+relaxed-simd" cargo build -p labelcast-worker --bin labelcast-worker \
  --target wasm32-unknown-unknown --profile release-worker --target-dir target/fma --locked
wasm-bindgen --target no-modules --no-typescript --out-dir dist --out-name labelcast-worker-fma \
  target/fma/wasm32-unknown-unknown/release-worker/labelcast-worker.wasm
MODEL=models/SmolLM2-135M-Instruct.Q4_1.gguf
if [ -f "$MODEL" ]; then
  mkdir -p dist/models
  # A hard link where the file system allows it: the model is ~100 MB.
  ln -f "$MODEL" dist/models/ 2>/dev/null || cp "$MODEL" dist/models/
else
  echo "note: $MODEL is missing (scripts/fetch-model.sh fetches it); the page will offer only models from disk" >&2
fi
