//! `d W` for d [m, out] and a dense f32 W [out, in] as the file stores it: the gradient at a
//! projection's input, in the browser's backward pass, without gemm's repacking.
//!
//! A row of W is contiguous along `in`, the output's axis, so each step broadcasts one value
//! of d and adds it times four lanes of a row of W. The micro-kernel takes 2 rows of d
//! against 16 columns of W: 8 sums, 4 loaded vectors and 2 broadcasts, within x86-64's 16
//! vector registers. Rows of W come in chunks, and a chunk's 16-column strip is copied into
//! one contiguous buffer (32 KiB, within L1) that every pair of rows of d then reads: read in
//! place, the strip's rows lie a multiple of 64 cache lines apart for SmolLM2's widths (576
//! and 1,536 floats), so they fall into a few of L1's sets and evict each other. Each chunk's sum
//! starts from zero and is then added to the output: an output's rounding error grows with
//! the chunk's 512 terms and the number of chunks, not with all of `out` (49,152 for
//! SmolLM2's output layer, where one running sum moved CoS-Low in the 6th digit). The edges
//! do the same arithmetic, so an output's bits do not depend on where it falls.

use super::lanes::Lanes;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use super::lanes::Simd;

/// Rows of W per chunk: a 16-column strip of 512 rows is 32 KiB, within L1.
const W_CHUNK: usize = 512;

/// `out[i, j] = Σ_p d[i, p] · w[p, j]` for d [m, n], w [n, k] (both row-major), out [m, k].
pub fn d_w<L: Lanes>(d: &[f32], w: &[f32], m: usize, n: usize, k: usize) -> Vec<f32> {
    assert!(d.len() == m * n && w.len() == n * k, "d_w: d {} ≠ {m}×{n} or w {} ≠ {n}×{k}", d.len(), w.len());
    let mut out = vec![0f32; m * k];
    let mut strip = vec![0f32; W_CHUNK * 16];
    for p0 in (0..n).step_by(W_CHUNK) {
        let p1 = (p0 + W_CHUNK).min(n);
        let mut j = 0;
        while j < k {
            let c = 16.min(k - j);
            if c == 16 && m >= 2 {
                for (p, row) in (p0..p1).zip(strip.chunks_exact_mut(16)) {
                    row.copy_from_slice(&w[p * k + j..p * k + j + 16]);
                }
            }
            let mut i = 0;
            while i < m {
                let r = 2.min(m - i);
                // SAFETY: rows i .. i + r of d (n long) and of out (k long) exist, as do rows
                // p0 .. p1 of w (k long), whose columns j .. j + c are within k.
                unsafe {
                    let (dp, wp, op) = (d.as_ptr().add(i * n), w.as_ptr().add(j), out.as_mut_ptr().add(i * k + j));
                    if r == 2 && c == 16 {
                        block_2x16::<L>(dp.add(p0), strip.as_ptr(), op, p1 - p0, n, k);
                    } else {
                        for a in 0..r {
                            for b in 0..c {
                                let o = op.add(a * k + b);
                                *o += column_sum(dp.add(a * n), wp.add(b), (p0, p1), k);
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

/// Adds `len` values of d's two rows (at `d` and `d + n`) times the `len` rows of a
/// 16-column strip of W (contiguous at `strip`) to the sums at `out` (row stride k).
///
/// # Safety
/// `d` and `d + n` must be readable for `len` floats, `strip` for `16 · len`, and `out`,
/// `out + k` writable for 16 floats.
#[inline(always)]
unsafe fn block_2x16<L: Lanes>(d: *const f32, strip: *const f32, out: *mut f32, len: usize, n: usize, k: usize) {
    let (o0, o1) = (out, out.add(k));
    let z = L::zero();
    let (mut a00, mut a01, mut a02, mut a03) = (z, z, z, z);
    let (mut a10, mut a11, mut a12, mut a13) = (z, z, z, z);
    let (d0, d1) = (d, d.add(n));
    for p in 0..len {
        let (u, v) = (L::splat(*d0.add(p)), L::splat(*d1.add(p)));
        let row = strip.add(16 * p);
        let c = L::load(row);
        a00 = L::mul_add(a00, u, c);
        a10 = L::mul_add(a10, v, c);
        let c = L::load(row.add(4));
        a01 = L::mul_add(a01, u, c);
        a11 = L::mul_add(a11, v, c);
        let c = L::load(row.add(8));
        a02 = L::mul_add(a02, u, c);
        a12 = L::mul_add(a12, v, c);
        let c = L::load(row.add(12));
        a03 = L::mul_add(a03, u, c);
        a13 = L::mul_add(a13, v, c);
    }
    for (o, sums) in [(o0, [a00, a01, a02, a03]), (o1, [a10, a11, a12, a13])] {
        for (q, a) in sums.into_iter().enumerate() {
            let at = o.add(4 * q);
            L::add(L::load(at), a).store(at);
        }
    }
}

/// `Σ_p d[p] · w[p · k]` over p0 .. p1, in order: one output's chunk at an edge, with
/// `block_2x16`'s arithmetic.
///
/// # Safety
/// `d` readable at p0 .. p1 and `w` at `p · k`.
#[inline(always)]
unsafe fn column_sum(d: *const f32, w: *const f32, (p0, p1): (usize, usize), k: usize) -> f32 {
    let mut s = 0.0;
    for p in p0..p1 {
        s += *d.add(p) * *w.add(p * k);
    }
    s
}

/// [`d_w`] on simd128: the one the model worker runs, compiled here so that the tests time
/// the very code that ships.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub fn d_w_simd(d: &[f32], w: &[f32], m: usize, n: usize, k: usize) -> Vec<f32> {
    d_w::<Simd>(d, w, m, n, k)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::kernels::test_values as values;
    use crate::model::kernels::{assert_sums, Portable};

    #[test]
    fn every_shape_at_the_edges_gives_the_sums() {
        // Odd rows of d, columns that leave a partial strip, and more rows of W than a chunk.
        for &(m, n, k) in &[(1, 1, 1), (2, 3, 16), (3, 5, 17), (5, 9, 40), (4, 1300, 33), (33, 64, 48)] {
            let (d, w) = (values(m * n, 11 + m as u64), values(n * k, 13 + k as u64));
            let got = d_w::<Portable>(&d, &w, m, n, k);
            assert_sums(&got, (m, n, k), |i, p| d[i * n + p], |p, j| w[p * k + j]);
        }
    }

    #[test]
    fn an_output_has_the_same_bits_in_a_full_block_and_at_an_edge() {
        // 2 × 16 blocks and edges both, across two chunks of W.
        let (m, n, k) = (3, W_CHUNK + 7, 18);
        let (d, w) = (values(m * n, 5), values(n * k, 6));
        let all = d_w::<Portable>(&d, &w, m, n, k);
        for i in 0..m {
            for j in 0..k {
                let column: Vec<f32> = (0..n).map(|p| w[p * k + j]).collect();
                let one = d_w::<Portable>(&d[i * n..(i + 1) * n], &column, 1, n, 1);
                assert_eq!(all[i * k + j].to_bits(), one[0].to_bits(), "({i}, {j})");
            }
        }
    }

    #[test]
    fn empty_inputs_give_zeros() {
        assert_eq!(d_w::<Portable>(&[], &[], 2, 0, 3), vec![0.0; 6]);
        assert!(d_w::<Portable>(&[], &[0.0; 8], 0, 2, 4).is_empty());
    }
}
