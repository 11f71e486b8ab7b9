#!/usr/bin/env bash
# Runs every test: Rust unit/property/integration tests (core, model loading, tokenizer,
# engine parity with the committed PyTorch numbers on the real SmolLM2 model, CLI, web),
# a wasm32 build check, the Trunk build, and the browser end-to-end test in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
# A test run builds once: incremental state only costs disk, and optimized incremental builds
# can fail to link (rust-lang/rust#81280).
export CARGO_INCREMENTAL=0
# Each step names itself and the disk space left, so a CI run that fills the disk says so.
step() {
    echo "==> $1 (disk free: $(df -h --output=avail . | tail -1 | tr -d ' '))" >&2
}

scripts/setup.sh --test
scripts/fetch-model.sh
scripts/fetch-test-data.sh

step "formatting (rustfmt.toml; cargo fmt --all fixes it)"
cargo fmt --all --check
(cd fuzz && cargo fmt --check)

step "cargo test (workspace)"
cargo test --workspace --locked --exclude labelcast-gpu

# GPU ops against the CPU reference on lavapipe (Vulkan on the CPU); one test at a time,
# as software Vulkan drivers are not made for many devices at once.
step "GPU op tests (wgpu on lavapipe)"
cargo test -p labelcast-gpu --locked -- --test-threads=1

# The same op tests and a CoS-Low of the tiny reference models (GPU against CPU), compiled to
# wasm32 and run in headless Chromium on its WebGPU (SwiftShader without a GPU) by
# wasm-bindgen-test-runner (.cargo/config.toml; browser flags in tests/webdriver.json). The
# runner's default of 20 s for a whole binary is too short for a software adapter.
step "GPU tests in headless Chromium (WebGPU, wasm-bindgen-test)"
export WASM_BINDGEN_TEST_TIMEOUT=900
cargo test -p labelcast-gpu --target wasm32-unknown-unknown --locked --test ops
cargo test -p labelcast-engine --target wasm32-unknown-unknown --locked --test gpu_reference
# The model worker's CPU kernels on WebAssembly SIMD, in Node: the bits of their portable
# lanes, and candle's products.
cargo test -p labelcast-engine --target wasm32-unknown-unknown --locked --test kernels_wasm
# The same kernels as the worker's second build has them (scripts/build-web.sh: relaxed SIMD's
# fused multiply-add), in that build's target directory; Node 20 needs a flag for it.
RUSTFLAGS="-C target-feature=+simd128,+relaxed-simd" NODE_ARGS=--experimental-wasm-relaxed-simd \
  cargo test -p labelcast-engine --target wasm32-unknown-unknown --locked --test kernels_wasm --target-dir target/fma

step "clippy (deny warnings)"
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo clippy -p labelcast-web -p labelcast-worker -p labelcast-protocol --target wasm32-unknown-unknown --locked -- -D warnings
cargo clippy -p labelcast-gpu -p labelcast-engine --target wasm32-unknown-unknown --test ops --test gpu_reference --test kernels_wasm --locked -- -D warnings

step "core, the GPU kernels and the model engine build for wasm32"
cargo build -p labelcast-core -p labelcast-gpu -p labelcast-engine --target wasm32-unknown-unknown --locked

step "Trunk build"
scripts/build-web.sh

step "browser end-to-end test"
# The generator of the synthetic Llama-3.1-8B-shaped model the streaming test drops on the page.
cargo build -p labelcast-modelfile --example synth_model --features testing --locked
# The CLI binary `cargo test` built for the CLI's own tests: building it again with
# `cargo build -p labelcast-cli` would resolve features differently and recompile every dependency.
LABELCAST_BIN="$PWD/target/debug/labelcast" node --test tests/e2e/app.test.mjs
