//! Pairwise dot products of the rows of a matrix (the Gram matrix of the kept per-example
//! gradients), per column chunk, so the gradients never leave the GPU: only the k × k
//! partials are read back and summed in f64 by the caller (the CPU's `GradStore::gram`
//! sums 65536-column chunks the same way).

use crate::context::Gpu;
use crate::dispatch::{kernel_params, u32_of, Kernel};
use crate::error::{GpuError, Result};
use crate::tensor::{DType, Tensor};

const GRAM: &str = include_str!("../kernels/gram.wgsl");

kernel_params!(GramParams { k: u32, w: u32, chunk: u32 });

impl Gpu {
    /// For x f32 [k, w]: the partial Grams [ceil(w / chunk), k, k], partial z over columns
    /// z·chunk .. (z+1)·chunk.
    pub fn gram_partials(&self, x: &Tensor, chunk: usize) -> Result<Tensor> {
        let (k, w) = match *x.shape() {
            [k, w] if x.dtype() == DType::F32 && k > 0 && w > 0 => (k, w),
            _ => {
                return Err(GpuError::shape("gram_partials", format!("rows must be a non-empty f32 [k, w], got {x:?}")))
            }
        };
        if chunk == 0 {
            return Err(GpuError::shape("gram_partials", "chunks of 0 columns"));
        }
        let chunks = w.div_ceil(chunk);
        let out = self.empty(&[chunks, k, k], DType::F32)?;
        let kernel = Kernel { name: "gram", variant: "", parts: &[GRAM] };
        let tiles = k.div_ceil(16) as u32;
        let params = GramParams { k: u32_of(k), w: u32_of(w), chunk: u32_of(chunk) };
        self.dispatch(&kernel, &params, &[x, &out], [tiles, tiles, chunks as u32])?;
        Ok(out)
    }
}
