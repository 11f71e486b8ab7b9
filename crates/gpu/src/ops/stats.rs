//! Next-token statistics of logits rows on the GPU (argmax, top-two probabilities,
//! entropy), so a scorer reads back 4 numbers per row instead of the vocabulary.

use crate::context::Gpu;
use crate::dispatch::{grid_1d, kernel_params, u32_of, Kernel};
use crate::error::{GpuError, Result};
use crate::tensor::{DType, Tensor};

const LOGIT_STATS: &str = include_str!("../kernels/logit_stats.wgsl");

kernel_params!(LogitStatsParams { rows: u32, v: u32 });

impl Gpu {
    /// For logits [N, V]: (argmax u32 [N], f32 [N, 3] of p_max, p_second, entropy in nats),
    /// as the engine's `step_stats` (first index wins ties; a duplicated maximum gives
    /// p_second = p_max; V = 1 gives p_second = 0).
    pub fn logit_stats(&self, logits: &Tensor) -> Result<(Tensor, Tensor)> {
        let (rows, v) = match *logits.shape() {
            [r, v] if logits.dtype() == DType::F32 => (r, v),
            _ => return Err(GpuError::shape("logit_stats", format!("logits must be f32 [N, V], got {logits:?}"))),
        };
        if v == 0 {
            return Err(GpuError::shape("logit_stats", "an empty vocabulary has no statistics"));
        }
        let arg = self.empty(&[rows], DType::U32)?;
        let stats = self.empty(&[rows, 3], DType::F32)?;
        let k =
            Kernel { name: "logit_stats", variant: "", parts: &[super::lib::PER_ROW, super::lib::REDUCE, LOGIT_STATS] };
        let params = LogitStatsParams { rows: u32_of(rows), v: u32_of(v) };
        self.dispatch(&k, &params, &[logits, &arg, &stats], grid_1d(rows))?;
        Ok((arg, stats))
    }
}
