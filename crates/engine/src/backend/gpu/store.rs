//! The kept LoRA-B gradients on the GPU: each example's flattened gradient (or its
//! count-sketch) is a row of a [k, width] matrix that never leaves the GPU; CoS-Low reads
//! back only its Gram matrix, k × k per 65536-column chunk (SmolLM2-135M, 32 examples:
//! 152 partials of 4 KB, 0.6 MB, instead of 1.27 GB of gradients).
//!
//! The matrix is split by columns into blocks [k, w] that each fit one storage binding
//! (WebGPU's default limit is 128 MiB; 32 rows of SmolLM2's ~10M floats take 1.27 GB), so
//! a projection's gradient may straddle two blocks and is copied in pieces.

use labelcast_core::rng::bucket_sign;
use std::collections::HashMap;

use labelcast_gpu::{DType, Gpu, SketchPlan, Tensor};

use crate::error::Result;
// Columns per partial Gram: the f32 sums of the kernel run over at most this many columns
// and the partials are added in f64, the chunks of the CPU's `GradStore::gram`.
use crate::grad::{Reduction, GRAM_CHUNK};

/// The gradient store of a CoS-Low run on the GPU.
pub struct GpuGradStore {
    reduction: Reduction,
    full_len: usize,
    rows: usize,
    /// (first column, [rows, w] block) in column order.
    blocks: Vec<(usize, Tensor)>,
    /// Sketch only: the hash plan of each piece (one projection's gradient), by its
    /// offset, built when the piece first arrives.
    plans: HashMap<usize, SketchPlan>,
}

impl std::fmt::Debug for GpuGradStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "GpuGradStore({} rows × {} columns in {} blocks, {:?})",
            self.rows,
            self.width(),
            self.blocks.len(),
            self.reduction
        )
    }
}

impl GpuGradStore {
    /// Allocates the zeroed blocks, each ≤ `block_bytes` and ≤ the adapter's binding limit.
    pub(crate) fn new(gpu: &Gpu, full_len: usize, rows: usize, reduction: Reduction, block_bytes: u64) -> Result<Self> {
        let width = reduction.width(full_len);
        let max_cols = (block_bytes.min(gpu.max_binding()) / (4 * rows.max(1) as u64)).max(1) as usize;
        // Whole Gram chunks per block when blocks are that wide, so the partials are the
        // CPU's chunks.
        let bw = if max_cols >= GRAM_CHUNK { max_cols / GRAM_CHUNK * GRAM_CHUNK } else { max_cols };
        let mut blocks = Vec::with_capacity(width.div_ceil(bw));
        for c0 in (0..width).step_by(bw) {
            let w = bw.min(width - c0);
            blocks.push((c0, gpu.zeros_static("LoRA gradient store", &[rows, w], DType::F32)?));
        }
        // Natively an allocation that failed is reported at once: say so here, before the
        // backward passes run (in a browser it surfaces at the next submission).
        gpu.check()?;
        Ok(GpuGradStore { reduction, full_len, rows, blocks, plans: HashMap::new() })
    }

    pub fn reduction(&self) -> Reduction {
        self.reduction
    }

    /// Columns of a row: the gradient's length, or the sketch's.
    pub fn width(&self) -> usize {
        self.blocks.last().map_or(0, |(c0, t)| c0 + t.shape()[1])
    }

    pub fn blocks(&self) -> usize {
        self.blocks.len()
    }

    /// Records adding `grad` [B, …] (one piece of the flattened gradient of examples
    /// `row0 .. row0 + B`, at offset `off` of their rows): copies of the exact values, or
    /// their sketch. A piece's offset must always come with the same length.
    pub(crate) fn add(&mut self, gpu: &Gpu, off: usize, grad: &Tensor, row0: usize) -> Result<()> {
        let b = grad.shape()[0];
        let n = grad.len() / b.max(1);
        assert!(row0 + b <= self.rows && off + n <= self.full_len, "gradient piece outside the store");
        match self.reduction {
            Reduction::Exact => {
                for (c0, blk) in &self.blocks {
                    let w = blk.shape()[1];
                    let (s, e) = (off.max(*c0), (off + n).min(c0 + w));
                    if s >= e {
                        continue;
                    }
                    for i in 0..b {
                        let src = (i * n + s - off) as u64 * 4;
                        let dst = ((row0 + i) * w + s - c0) as u64 * 4;
                        gpu.copy(grad, src, blk, dst, (e - s) as u64 * 4)?;
                    }
                }
            }
            Reduction::Sketch { size, seed } => {
                let plan = match self.plans.entry(off) {
                    std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::hash_map::Entry::Vacant(e) => {
                        e.insert(gpu.sketch_plan(n, size, |i| bucket_sign(seed, (off + i) as u64, size as u64))?)
                    }
                };
                assert_eq!(plan.len(), n, "a gradient piece changed length");
                let g = grad.reshape(&[b, n])?;
                for (c0, blk) in &self.blocks {
                    gpu.sketch_add(&g, plan, blk, row0, *c0)?;
                }
            }
        }
        Ok(())
    }

    /// The Gram matrix of the rows: each block's partials read back and added in f64.
    pub(crate) async fn gram(&self, gpu: &Gpu) -> Result<Vec<Vec<f64>>> {
        let k = self.rows;
        let mut g = vec![vec![0f64; k]; k];
        // Every block's products are recorded before the first read-back, which submits
        // them together: one wait for the GPU instead of one per block.
        let partials = self
            .blocks
            .iter()
            .map(|(_, blk)| gpu.gram_partials(blk, GRAM_CHUNK))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        for p in &partials {
            let parts = gpu.read_f32(p).await?;
            for part in parts.chunks_exact(k * k) {
                for (gi, pi) in g.iter_mut().zip(part.chunks_exact(k)) {
                    gi.iter_mut().zip(pi).for_each(|(a, &b)| *a += b as f64);
                }
            }
        }
        Ok(g)
    }

    /// Bytes that `gram` reads back.
    pub fn gram_readback_bytes(&self) -> u64 {
        let k = self.rows as u64;
        self.blocks.iter().map(|(_, t)| t.shape()[1].div_ceil(GRAM_CHUNK) as u64 * k * k * 4).sum()
    }
}
