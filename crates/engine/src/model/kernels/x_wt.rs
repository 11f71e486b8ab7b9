//! `x Wᵀ` for a dense f32 W [out, in] as the file stores it, without repacking W: the
//! forward pass of the browser's CPU path.
//!
//! candle hands `x Wᵀ` to gemm, which repacks W into panels on every call. In the model
//! worker that repacking took a fifth of the time (docs/benchmarks/browser.md: gemm's
//! `pack_lhs`, 19.8 % of a profile of 32 prompts) and storing W transposed instead was slower.
//! Here each output is a dot product of a row of x and a row of W, both contiguous in memory,
//! so nothing is repacked.

use super::lanes::Lanes;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use super::lanes::Simd;

/// Rows of x per block, sized so a block stays in the core's L2 cache while every row of W
/// passes by it.
const X_BLOCK_BYTES: usize = 256 << 10;

/// `out[i, j] = Σ_p x[i, p] · w[j, p]` for x [m, k], w [n, k] (both row-major), out [m, n].
///
/// The micro-kernel takes 2 rows of x against 4 rows of W: 8 sums and 6 loaded vectors fit
/// x86-64's 16 vector registers, where V8 runs most pages. Measured in Node (V8) on
/// SmolLM2's shapes (a variant of tests/kernels_wasm.rs's timing, not kept), it beat 4 × 3, 4 × 2, 3 × 3, 2 × 3, 2 × 5,
/// 4 × 4 and 1 × 8 by 3–40 %. It is written out by hand, not with arrays of sums: compiled
/// in one crate those stayed in memory and the kernel ran at half the speed.
pub fn x_wt<L: Lanes>(x: &[f32], w: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
    assert!(x.len() == m * k && w.len() == n * k, "x_wt: x {} ≠ {m}×{k} or w {} ≠ {n}×{k}", x.len(), w.len());
    let mut out = vec![0f32; m * n];
    let block = ((X_BLOCK_BYTES / (4 * k.max(1))).max(2) / 2) * 2;
    for i0 in (0..m).step_by(block) {
        let i1 = (i0 + block).min(m);
        let mut j = 0;
        while j < n {
            let c = 4.min(n - j);
            let mut i = i0;
            while i < i1 {
                let r = 2.min(i1 - i);
                // SAFETY: rows i .. i + r of x and j .. j + c of w exist (r ≤ m - i, c ≤ n - j),
                // each k long, and out has m × n elements.
                unsafe {
                    let (xp, wp, op) = (x.as_ptr().add(i * k), w.as_ptr().add(j * k), out.as_mut_ptr().add(i * n + j));
                    if r == 2 && c == 4 {
                        block_2x4::<L>(xp, wp, op, k, n);
                    } else {
                        for a in 0..r {
                            for b in 0..c {
                                *op.add(a * n + b) = dot::<L>(xp.add(a * k), wp.add(b * k), k);
                            }
                        }
                    }
                }
                i += r;
            }
            j += c;
        }
    }
    out
}

/// The 2 × 4 outputs of rows x[0], x[1] and w[0..4] (row stride k), written at `out` (row
/// stride n). Each output's arithmetic is `dot`'s, so its bits do not depend on the block.
///
/// # Safety
/// The rows must be readable for k floats, and `out` writable at `i · n + j`, i < 2, j < 4.
#[inline(always)]
unsafe fn block_2x4<L: Lanes>(x: *const f32, w: *const f32, out: *mut f32, k: usize, n: usize) {
    let (x0, x1) = (x, x.add(k));
    let (w0, w1, w2, w3) = (w, w.add(k), w.add(2 * k), w.add(3 * k));
    let z = L::zero();
    let (mut a00, mut a01, mut a02, mut a03) = (z, z, z, z);
    let (mut a10, mut a11, mut a12, mut a13) = (z, z, z, z);
    let mut p = 0;
    while p + 4 <= k {
        let (u, v) = (L::load(x0.add(p)), L::load(x1.add(p)));
        let c = L::load(w0.add(p));
        a00 = L::mul_add(a00, u, c);
        a10 = L::mul_add(a10, v, c);
        let c = L::load(w1.add(p));
        a01 = L::mul_add(a01, u, c);
        a11 = L::mul_add(a11, v, c);
        let c = L::load(w2.add(p));
        a02 = L::mul_add(a02, u, c);
        a12 = L::mul_add(a12, v, c);
        let c = L::load(w3.add(p));
        a03 = L::mul_add(a03, u, c);
        a13 = L::mul_add(a13, v, c);
        p += 4;
    }
    let sums = [[a00, a01, a02, a03], [a10, a11, a12, a13]];
    for (i, (row, xr)) in sums.iter().zip([x0, x1]).enumerate() {
        for (j, (a, wr)) in row.iter().zip([w0, w1, w2, w3]).enumerate() {
            *out.add(i * n + j) = tail(a.sum(), xr, wr, p, k);
        }
    }
}

/// One output: `dot(x[..k], w[..k])` with `block_2x4`'s arithmetic.
///
/// # Safety
/// Both rows must be readable for k floats.
#[inline(always)]
unsafe fn dot<L: Lanes>(x: *const f32, w: *const f32, k: usize) -> f32 {
    let mut a = L::zero();
    let mut p = 0;
    while p + 4 <= k {
        a = L::mul_add(a, L::load(x.add(p)), L::load(w.add(p)));
        p += 4;
    }
    tail(a.sum(), x, w, p, k)
}

/// `s` plus the products of the last `k - p` (< 4) elements, in order.
///
/// # Safety
/// Both rows must be readable for k floats.
#[inline(always)]
unsafe fn tail(mut s: f32, x: *const f32, w: *const f32, p: usize, k: usize) -> f32 {
    for q in p..k {
        s += *x.add(q) * *w.add(q);
    }
    s
}

/// [`x_wt`] on simd128: the one the model worker runs, compiled here so that the tests
/// time the very code that ships.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub fn x_wt_simd(x: &[f32], w: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
    x_wt::<Simd>(x, w, m, k, n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::kernels::test_values as values;
    use crate::model::kernels::{assert_sums, Portable};

    #[test]
    fn every_shape_at_the_edges_gives_the_sums() {
        // Rows and columns that leave every kind of edge block, k with and without a tail of
        // fewer than four, and a k large enough that a block of x holds fewer rows than m.
        for &(m, k, n) in &[(1, 1, 1), (4, 4, 3), (5, 7, 4), (9, 13, 8), (33, 64, 11), (70, 9000, 5), (2, 3, 1)] {
            let (x, w) = (values(m * k, 1 + m as u64), values(n * k, 7 + n as u64));
            let got = x_wt::<Portable>(&x, &w, m, k, n);
            assert_sums(&got, (m, k, n), |i, p| x[i * k + p], |p, j| w[j * k + p]);
        }
    }

    #[test]
    fn an_output_has_the_same_bits_in_a_full_block_and_at_an_edge() {
        let (m, k, n) = (6, 37, 5);
        let (x, w) = (values(m * k, 3), values(n * k, 4));
        let all = x_wt::<Portable>(&x, &w, m, k, n);
        for i in 0..m {
            for j in 0..n {
                let one = x_wt::<Portable>(&x[i * k..(i + 1) * k], &w[j * k..(j + 1) * k], 1, k, 1);
                assert_eq!(all[i * n + j].to_bits(), one[0].to_bits(), "({i}, {j})");
            }
        }
    }

    #[test]
    fn empty_inputs_give_zeros() {
        assert_eq!(x_wt::<Portable>(&[], &[], 3, 0, 2), vec![0.0; 6]);
        assert!(x_wt::<Portable>(&[], &[0.0; 8], 0, 4, 2).is_empty());
    }
}
