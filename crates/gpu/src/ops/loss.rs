//! The training loss: weighted cross-entropy per row and its gradient w.r.t. the logits,
//! in one kernel that writes the gradient while it has the softmax's sums.

use crate::context::Gpu;
use crate::dispatch::{grid_1d, kernel_params, u32_of, Kernel};
use crate::error::{GpuError, Result};
use crate::tensor::{DType, Tensor};

const CROSS_ENTROPY: &str = include_str!("../kernels/cross_entropy.wgsl");

kernel_params!(CrossEntropyParams { rows: u32, v: u32 });

impl Gpu {
    /// For logits [N, V], targets u32 [N] and weights [N]: (loss [N], dlogits [N, V]) with
    /// `loss_i = w_i (logsumexp_i − logit_i[t_i])` and `dlogits_i = w_i (softmax_i −
    /// onehot(t_i))`. Rows of weight 0 get zeros (not read). Weights 1/count over an
    /// example's counted tokens make its losses sum to its mean cross-entropy, the engine's
    /// loss. A target outside the vocabulary gives a NaN loss (no read-back in ops).
    pub fn cross_entropy(&self, logits: &Tensor, targets: &Tensor, weights: &Tensor) -> Result<(Tensor, Tensor)> {
        let op = "cross_entropy";
        let (rows, v) = match *logits.shape() {
            [r, v] if logits.dtype() == DType::F32 && v > 0 => (r, v),
            _ => return Err(GpuError::shape(op, format!("logits must be f32 [N, V > 0], got {logits:?}"))),
        };
        if targets.dtype() != DType::U32 || targets.shape() != [rows] {
            return Err(GpuError::shape(op, format!("targets must be u32 [{rows}], got {targets:?}")));
        }
        if weights.dtype() != DType::F32 || weights.shape() != [rows] {
            return Err(GpuError::shape(op, format!("weights must be f32 [{rows}], got {weights:?}")));
        }
        let loss = self.empty(&[rows], DType::F32)?;
        let dlogits = self.empty(&[rows, v], DType::F32)?;
        let k = Kernel { name: "cross_entropy", variant: "", parts: &[super::lib::PER_ROW, CROSS_ENTROPY] };
        self.dispatch(
            &k,
            &CrossEntropyParams { rows: u32_of(rows), v: u32_of(v) },
            &[logits, targets, weights, &loss, &dlogits],
            grid_1d(rows),
        )?;
        Ok((loss, dlogits))
    }
}
