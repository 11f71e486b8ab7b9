//! Keeping each example's flattened gradient only as far as the cosines need it.
//!
//! A cosine needs inner products, nothing else. When the flattened gradient fits the
//! per-example budget (SmolLM2-135M's LoRA-B gradient: ~10M floats) it is kept exactly.
//! Otherwise (an 8B model's ~88M floats × 32 examples would not fit) it is reduced to a
//! count-sketch of `m` buckets: coordinate i goes to bucket h(i) with sign s(i), both from
//! a seeded hash, `S(a)[k] = Σ_{h(i)=k} s(i) a_i`.
//!
//! Error this adds. The sketched inner product is unbiased, E⟨S(a), S(b)⟩ = ⟨a, b⟩, with
//! variance (for a 2-wise independent hash; the mixing hash here behaves as one)
//!
//! ```text
//! Var⟨S(a), S(b)⟩ = (1/m) · ( ‖a‖²‖b‖² + ⟨a,b⟩² − 2 Σ_i a_i² b_i² )
//!                 ≤ (1/m) · ‖a‖²‖b‖² (1 + cos²(a, b))
//! ```
//!
//! so a cosine computed from sketches (inner product over the sketched norms) has a
//! standard deviation of about √((1 + cos²)/m) · (1 − cos²)^{~1/2} ≤ √(2/m): with the
//! default m = 16M buckets, about 3.5e-4 at most per pair, and the median over 496 pairs
//! (CoS-Low) moves far less. The ratio of sketched quantities is consistent but not exactly
//! unbiased; its bias is O(1/m).

use candle_core::{Device, Tensor};
use labelcast_core::rng::bucket_sign;

use crate::error::{EngineError, Result};

/// Default per-example budget, in floats, for the kept gradient (64 MB in f32).
pub const DEFAULT_BUDGET: usize = 16 << 20;

/// How one example's flattened gradient is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reduction {
    /// The whole vector.
    Exact,
    /// A count-sketch of `size` buckets with hash seed `seed`.
    Sketch { size: usize, seed: u64 },
}

impl Reduction {
    /// The standard deviation a sketch adds to a cosine near `cos`: √((1 + c²)(1 − c²)/m), the
    /// bound of the module's note (a cosine of 0 gets 1/√m). None when the gradients are exact.
    pub fn cosine_sd(self, cos: f64) -> Option<f64> {
        match self {
            Reduction::Exact => None,
            Reduction::Sketch { size, .. } => {
                let c2 = (cos * cos).min(1.0);
                Some(((1.0 + c2) * (1.0 - c2) / size.max(1) as f64).sqrt())
            }
        }
    }

    /// Floats kept per example of a gradient of `full_len` floats.
    pub fn width(self, full_len: usize) -> usize {
        match self {
            Reduction::Exact => full_len,
            Reduction::Sketch { size, .. } => size,
        }
    }

    /// Exact when `full_len` fits `budget`, else a sketch using the whole budget.
    pub fn for_budget(full_len: usize, budget: usize, seed: u64) -> Self {
        if full_len <= budget {
            Reduction::Exact
        } else {
            Reduction::Sketch { size: budget.max(1), seed }
        }
    }
}

/// The kept gradients of `examples` examples, one row each.
#[derive(Debug)]
pub struct GradStore {
    pub reduction: Reduction,
    full_len: usize,
    width: usize,
    data: Vec<f32>,
}

impl GradStore {
    pub fn new(full_len: usize, examples: usize, reduction: Reduction) -> Self {
        let width = reduction.width(full_len);
        GradStore { reduction, full_len, width, data: vec![0.0; width * examples] }
    }

    pub fn examples(&self) -> usize {
        self.data.len() / self.width.max(1)
    }

    /// Adds `block` at `offset` of example `ex`'s flattened gradient.
    pub fn add_block(&mut self, ex: usize, offset: usize, block: &[f32]) {
        assert!(offset + block.len() <= self.full_len, "gradient block past the end");
        let row = &mut self.data[ex * self.width..(ex + 1) * self.width];
        match self.reduction {
            Reduction::Exact => row[offset..offset + block.len()].copy_from_slice(block),
            Reduction::Sketch { size, seed } => {
                for (k, &v) in block.iter().enumerate() {
                    let (b, neg) = bucket_sign(seed, (offset + k) as u64, size as u64);
                    row[b] += if neg { -v } else { v };
                }
            }
        }
    }

    /// The kept vector of example `ex` (the gradient itself when exact).
    pub fn row(&self, ex: usize) -> &[f32] {
        &self.data[ex * self.width..(ex + 1) * self.width]
    }

    /// Sets the kept vector of example `ex` (one another worker computed, `row` as it gave it).
    pub fn set_row(&mut self, ex: usize, values: &[f32]) -> Result<()> {
        if values.len() != self.width || ex >= self.examples() {
            return Err(EngineError::Invalid(format!(
                "a kept gradient row of {} floats for example {ex}: the store keeps {} examples of {} floats",
                values.len(),
                self.examples(),
                self.width
            )));
        }
        self.data[ex * self.width..(ex + 1) * self.width].copy_from_slice(values);
        Ok(())
    }

    /// Gram matrix of the kept vectors, accumulated in f64 over column chunks, each chunk
    /// one f32 matrix product. Only one chunk of the rows is copied at a time (k × 65536
    /// floats), not the whole store, which is most of the memory CoS-Low takes (1.27 GB
    /// for SmolLM2-135M and 32 examples, next to a 4 GiB wasm32 address space).
    pub fn gram(&self) -> Result<Vec<Vec<f64>>> {
        let mut g = self.gram_groups(&[(0, self.width, 0)], 1)?;
        Ok(g.pop().expect("one group"))
    }

    /// One Gram per group of columns: `segments` are (start, end, group) column ranges and
    /// group g's Gram sums the products over its segments (chunked as in `gram`). Columns
    /// are the gradient's own coordinates only when the reduction is exact.
    pub fn gram_groups(&self, segments: &[(usize, usize, usize)], groups: usize) -> Result<Vec<Vec<Vec<f64>>>> {
        let k = self.examples();
        let mut out = vec![vec![vec![0.0f64; k]; k]; groups];
        let mut chunk = Vec::with_capacity(k * GRAM_CHUNK.min(self.width));
        for &(from, to, group) in segments {
            assert!(from <= to && to <= self.width && group < groups, "a Gram segment outside the store");
            let mut start = from;
            while start < to {
                let len = GRAM_CHUNK.min(to - start);
                chunk.clear();
                for ex in 0..k {
                    chunk.extend_from_slice(&self.row(ex)[start..start + len]);
                }
                let m = Tensor::from_slice(&chunk, (k, len), &Device::Cpu)?;
                let part = m.matmul(&m.t()?)?.to_dtype(candle_core::DType::F64)?.to_vec2::<f64>()?;
                for (gi, pi) in out[group].iter_mut().zip(part) {
                    gi.iter_mut().zip(pi).for_each(|(a, b)| *a += b);
                }
                start += len;
            }
        }
        Ok(out)
    }
}

/// Columns per f32 product in `GradStore::gram` (the GPU store's partial Grams use the same).
pub const GRAM_CHUNK: usize = 1 << 16;

/// Cosines from a Gram matrix (`labelcast_core::forecast::cosines_from_gram`, the one rule
/// for the engine and the calibration's parts), its message kept as the engine's own.
pub fn cosines_from_gram(g: &[Vec<f64>]) -> Result<Vec<Vec<f64>>> {
    labelcast_core::forecast::cosines_from_gram(g).map_err(|e| match e {
        labelcast_core::Error::Invalid(m) => EngineError::Invalid(m),
        e => e.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Gram as it was computed before (all rows copied into one tensor, column chunks
    /// narrowed from it): the chunked copy must give the same numbers, bit for bit.
    fn gram_of_one_tensor(s: &GradStore) -> Vec<Vec<f64>> {
        let k = s.examples();
        let all = Tensor::from_slice(&s.data, (k, s.width), &Device::Cpu).unwrap();
        let mut g = vec![vec![0.0f64; k]; k];
        let mut start = 0;
        while start < s.width {
            let len = GRAM_CHUNK.min(s.width - start);
            let m = all.narrow(1, start, len).unwrap();
            let part =
                m.matmul(&m.t().unwrap()).unwrap().to_dtype(candle_core::DType::F64).unwrap().to_vec2::<f64>().unwrap();
            for (gi, pi) in g.iter_mut().zip(part) {
                gi.iter_mut().zip(pi).for_each(|(a, b)| *a += b);
            }
            start += len;
        }
        g
    }

    #[test]
    fn the_error_a_sketch_adds_shrinks_with_its_size_and_is_none_when_exact() {
        assert_eq!(Reduction::Exact.cosine_sd(0.3), None);
        let sd = |m| Reduction::Sketch { size: m, seed: 0 }.cosine_sd(0.0).unwrap();
        assert!((sd(16 << 20) - 1.0 / 4096.0).abs() < 1e-12, "1/√m at a cosine of 0");
        assert!((sd(100) / sd(400) - 2.0).abs() < 1e-12);
        let at = |c| Reduction::Sketch { size: 100, seed: 0 }.cosine_sd(c).unwrap();
        assert!(at(0.99) < at(0.5) && at(1.0) == 0.0);
    }

    #[test]
    fn chunked_gram_equals_the_one_tensor_gram() {
        let mut r = labelcast_core::rng::Rng::new(3);
        for (len, k) in [(1, 2), (1000, 3), (GRAM_CHUNK, 5), (2 * GRAM_CHUNK + 777, 32)] {
            let mut s = GradStore::new(len, k, Reduction::Exact);
            for ex in 0..k {
                let row: Vec<f32> = (0..len).map(|_| r.normal() as f32).collect();
                s.add_block(ex, 0, &row);
            }
            assert_eq!(s.gram().unwrap(), gram_of_one_tensor(&s), "len {len}, k {k}");
        }
    }

    #[test]
    fn group_grams_are_the_grams_of_their_columns_and_sum_to_the_whole() {
        let mut r = labelcast_core::rng::Rng::new(5);
        let (len, k) = (2 * GRAM_CHUNK + 300, 4);
        let mut s = GradStore::new(len, k, Reduction::Exact);
        let rows: Vec<Vec<f32>> = (0..k).map(|_| (0..len).map(|_| r.normal() as f32).collect()).collect();
        for (ex, row) in rows.iter().enumerate() {
            s.add_block(ex, 0, row);
        }
        // Group 0: columns 0..10 and 70000..len; group 1: 10..70000.
        let segs = [(0, 10, 0), (10, 70_000, 1), (70_000, len, 0)];
        let g = s.gram_groups(&segs, 2).unwrap();
        let dot = |a: usize, b: usize, cols: &mut dyn Iterator<Item = usize>| -> f64 {
            cols.map(|c| rows[a][c] as f64 * rows[b][c] as f64).sum()
        };
        let whole = s.gram().unwrap();
        for (a, b) in (0..k).flat_map(|a| (0..k).map(move |b| (a, b))) {
            let g0 = dot(a, b, &mut (0..10).chain(70_000..len));
            let g1 = dot(a, b, &mut (10..70_000));
            assert!((g[0][a][b] - g0).abs() < 1e-3 * (1.0 + g0.abs()), "{a} {b}");
            assert!((g[1][a][b] - g1).abs() < 1e-3 * (1.0 + g1.abs()), "{a} {b}");
            let w = whole[a][b];
            assert!((g[0][a][b] + g[1][a][b] - w).abs() < 1e-6 * (1.0 + w.abs()));
        }
    }
}
