//! Every GPU op against candle on the CPU, on random inputs. One test binary: each op family
//! is a module whose test bodies are `async fn(&Gpu)`, run natively (`cargo test -p
//! labelcast-gpu --test ops -- --test-threads=1`, lavapipe in CI) and in headless Chromium's
//! WebGPU (`--target wasm32-unknown-unknown`, wasm-bindgen-test; scripts/test.sh) by
//! `gpu_tests!` — the same bodies, so the browser checks exactly what the native run checks.

#[macro_use]
mod common;

mod attention;
mod elementwise;
mod gram;
mod matmul;
mod matvec;
mod norm;
mod quant;
mod qweights;
mod sketch;
mod stats;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
