//! The model worker's CPU kernels in WebAssembly (simd128), run by wasm-bindgen-test in Node:
//! `cargo test -p labelcast-engine --target wasm32-unknown-unknown --test kernels_wasm`.
//!
//! Their simd lanes must give the bits of the portable lanes (which the native unit tests
//! check against plain sums), and `Matrix::forward` and `backward_input` must agree with
//! candle's matmul. The worker's build with relaxed SIMD runs them too (scripts/test.sh:
//! `RUSTFLAGS="-C target-feature=+simd128,+relaxed-simd"`, Node with
//! `NODE_ARGS=--experimental-wasm-relaxed-simd`), where fused sums differ in the last bits. With `--release -- --include-ignored --nocapture` it also times both
//! against candle on SmolLM2's shapes.
#![cfg(all(target_arch = "wasm32", target_feature = "simd128"))]

use candle_core::{Device, Tensor};
use labelcast_core::rng::Rng;
use labelcast_engine::model::kernels::{d_w, d_w_simd, x_wt, x_wt_simd, Portable};
use labelcast_engine::model::Matrix;
use wasm_bindgen_test::{console_log, wasm_bindgen_test};

fn values(len: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    (0..len).map(|_| (rng.next_f64() * 2.0 - 1.0) as f32).collect()
}

fn tensor(rows: usize, cols: usize, seed: u64) -> Tensor {
    Tensor::from_vec(values(rows * cols, seed), (rows, cols), &Device::Cpu).unwrap()
}

/// The same bits; in the build with relaxed SIMD (fused multiply-add, rounded once instead of
/// twice), within the rounding of a sum of `terms` products of values in [-1, 1].
fn same_sums(a: &[f32], b: &[f32], terms: usize) -> bool {
    let tol = if cfg!(target_feature = "relaxed-simd") { 4e-7 * terms as f32 } else { 0.0 };
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits() || (x - y).abs() <= tol)
}

fn close(got: &Tensor, want: &Tensor) {
    let (got, want): (Vec<f32>, Vec<f32>) =
        (got.flatten_all().unwrap().to_vec1().unwrap(), want.flatten_all().unwrap().to_vec1().unwrap());
    assert_eq!(got.len(), want.len());
    for (g, r) in got.iter().zip(&want) {
        assert!((g - r).abs() <= 1e-4, "{g} vs {r}");
    }
}

#[wasm_bindgen_test]
fn simd_lanes_give_the_portable_bits() {
    for &(m, k, n) in &[(1, 1, 1), (4, 4, 3), (5, 7, 4), (33, 64, 11), (32, 576, 40), (70, 9000, 5)] {
        let (x, w) = (values(m * k, m as u64), values(n * k, n as u64 + 9));
        assert!(same_sums(&x_wt_simd(&x, &w, m, k, n), &x_wt::<Portable>(&x, &w, m, k, n), k), "x Wᵀ {m}×{k}×{n}");
        // The same sizes as d [m, k] times W [k, n].
        let w = values(k * n, n as u64 + 3);
        assert!(same_sums(&d_w_simd(&x, &w, m, k, n), &d_w::<Portable>(&x, &w, m, k, n), k), "d W {m}×{k}×{n}");
    }
}

#[wasm_bindgen_test]
fn matrix_products_agree_with_candle() {
    let (m, k, n) = (7, 96, 50);
    let w = tensor(n, k, 2);
    let dense = Matrix::Dense(w.clone());
    // Contiguous operands, and views that are not (every other column of a wider matrix).
    for x in [tensor(m, k, 1), tensor(m, 2 * k, 3).narrow(1, 5, k).unwrap()] {
        close(&dense.forward(&x).unwrap(), &x.matmul(&w.t().unwrap()).unwrap());
    }
    for d in [tensor(m, n, 4), tensor(m, 2 * n, 5).narrow(1, 1, n).unwrap()] {
        close(&dense.backward_input(&d).unwrap(), &d.matmul(&w).unwrap());
    }
}

/// Milliseconds per call of `f`: the mean of as many calls as take half a second, the best of
/// three such runs (Date.now counts whole milliseconds).
fn best_ms(mut f: impl FnMut()) -> f64 {
    (0..3)
        .map(|_| {
            let (t, mut calls) = (js_sys::Date::now(), 0);
            while calls == 0 || js_sys::Date::now() - t < 500.0 {
                f();
                calls += 1;
            }
            (js_sys::Date::now() - t) / calls as f64
        })
        .fold(f64::INFINITY, f64::min)
}

#[wasm_bindgen_test]
#[ignore = "a timing, run with --include-ignored in a release build"]
fn timing_against_candle() {
    // SmolLM2-135M's projections at a decoding step of 32 prompts, a prefill of 32 prompts of
    // 40 tokens, its tied output layer, and the backward pass of a pack of 128 tokens.
    for &(what, m, k, n) in &[
        ("q/o proj, decode", 32, 576, 576),
        ("gate/up, decode", 32, 576, 1536),
        ("down, decode", 32, 1536, 576),
        ("gate/up, prefill", 1280, 576, 1536),
        ("output layer, decode", 32, 576, 49152),
        ("gate/up, pack of 128", 128, 576, 1536),
    ] {
        let x = tensor(m, k, 1);
        let w = tensor(n, k, 2);
        let wt = w.t().unwrap();
        let dense = Matrix::Dense(w.clone());
        let line = |op: &str, dims: String, candle: f64, ours: f64| {
            let gflop = 2.0 * (m * k * n) as f64 / 1e6;
            console_log!(
                "{op} {what:22} {dims}: candle {candle:7.2} ms, ours {ours:7.2} ms ({:.2}×, {:.1} GFLOP/s)",
                candle / ours,
                gflop / ours
            );
        };
        let candle = best_ms(|| drop(x.matmul(&wt).unwrap()));
        let ours = best_ms(|| drop(dense.forward(&x).unwrap()));
        line("x Wᵀ", format!("{m}×{k}×{n}"), candle, ours);
        let d = tensor(m, n, 3);
        let candle = best_ms(|| drop(d.matmul(&w).unwrap()));
        let ours = best_ms(|| drop(dense.backward_input(&d).unwrap()));
        line("d W ", format!("{m}×{n}×{k}"), candle, ours);
    }
}
