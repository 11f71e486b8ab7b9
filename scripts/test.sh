#!/usr/bin/env bash
# Runs every test: Rust unit/property/integration tests (core, model loading, tokenizer,
# engine parity with the committed PyTorch numbers on the real SmolLM2 model, CLI, web),
# a wasm32 build check, the Trunk build, and the browser end-to-end test in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
scripts/setup.sh --test
scripts/fetch-model.sh

echo "==> cargo test (workspace)" >&2
cargo test --workspace --locked --exclude labelcast-gpu

# GPU ops against the CPU reference on lavapipe (Vulkan on the CPU); one test at a time,
# as software Vulkan drivers are not made for many devices at once.
echo "==> GPU op tests (wgpu on lavapipe)" >&2
cargo test -p labelcast-gpu --locked -- --test-threads=1

echo "==> clippy (deny warnings)" >&2
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo clippy -p labelcast-web -p labelcast-worker -p labelcast-protocol --target wasm32-unknown-unknown --locked -- -D warnings

echo "==> core, the GPU kernels and the model engine build for wasm32" >&2
cargo build -p labelcast-core -p labelcast-gpu -p labelcast-engine --target wasm32-unknown-unknown --locked

echo "==> CLI binary for the end-to-end test" >&2
cargo build -p labelcast-cli --locked

echo "==> Trunk build" >&2
scripts/build-web.sh

echo "==> browser end-to-end test" >&2
LABELCAST_BIN="$PWD/target/debug/labelcast" node --test tests/e2e/app.test.mjs
