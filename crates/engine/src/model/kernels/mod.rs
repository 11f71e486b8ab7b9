//! The CPU kernels of the model worker: the products with a weight matrix, which candle
//! hands to gemm, written for WebAssembly's simd128 so that W is read as the file stores
//! it instead of being repacked on every call (a fifth of the worker's time went to gemm's
//! repacking, docs/benchmarks/browser.md). Natively gemm keeps them: it has AVX2 and FMA.
//!
//! - `x_wt`: `x Wᵀ`, the forward pass;
//! - `d_w`: `d W`, the backward pass to a projection's input;
//! - `lanes`: the four-lane arithmetic both use, on simd128 or portable.

pub mod d_w;
pub mod lanes;
pub mod x_wt;

pub use d_w::d_w;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub use d_w::d_w_simd;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub use lanes::Simd;
pub use lanes::{Lanes, Portable};
pub use x_wt::x_wt;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub use x_wt::x_wt_simd;

/// Values in [-1, 1] for the kernels' tests.
#[cfg(test)]
fn test_values(len: usize, seed: u64) -> Vec<f32> {
    let mut rng = labelcast_core::rng::Rng::new(seed);
    (0..len).map(|_| (rng.next_f64() * 2.0 - 1.0) as f32).collect()
}

/// Asserts `got` [m, n] equals `Σ_p a(i, p) · b(p, j)` over p < inner, summed in f64, within
/// the rounding of f32 sums of `inner` products of values in [-1, 1].
#[cfg(test)]
fn assert_sums(
    got: &[f32],
    (m, inner, n): (usize, usize, usize),
    a: impl Fn(usize, usize) -> f32,
    b: impl Fn(usize, usize) -> f32,
) {
    assert_eq!(got.len(), m * n);
    let tol = 4e-5 * (inner as f64).sqrt();
    for i in 0..m {
        for j in 0..n {
            let want: f64 = (0..inner).map(|p| a(i, p) as f64 * b(p, j) as f64).sum();
            let g = got[i * n + j] as f64;
            assert!((g - want).abs() <= tol, "{m}×{inner}×{n} at ({i}, {j}): {g} vs {want}");
        }
    }
}
