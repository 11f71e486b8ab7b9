//! RMSNorm forward (and, with the backward kernels, its gradient).

use crate::context::Gpu;
use crate::dispatch::{grid_1d, kernel_params, u32_of, Kernel};
use crate::error::{GpuError, Result};
use crate::tensor::{DType, Tensor};

const RMSNORM: &str = include_str!("../kernels/rmsnorm.wgsl");

kernel_params!(RmsNormParams { rows: u32, h: u32, eps: f32 });

impl Gpu {
    /// `(w ⊙ x / rms(x), 1 / rms(x))` per row: x [rows, h], w [h] → ([rows, h], [rows]).
    pub fn rms_norm(&self, x: &Tensor, w: &Tensor, eps: f32) -> Result<(Tensor, Tensor)> {
        let (rows, h) = match *x.shape() {
            [r, h] => (r, h),
            ref s => return Err(GpuError::shape("rms_norm", format!("x must be 2-D, got {s:?}"))),
        };
        if w.len() != h {
            return Err(GpuError::shape("rms_norm", format!("weight of {} for rows of {h}", w.len())));
        }
        let y = self.empty(&[rows, h], DType::F32)?;
        let inv = self.empty(&[rows], DType::F32)?;
        let k = Kernel { name: "rmsnorm", variant: "", parts: &[super::lib::PER_ROW, super::lib::REDUCE, RMSNORM] };
        let params = RmsNormParams { rows: u32_of(rows), h: u32_of(h), eps };
        self.dispatch(&k, &params, &[x, w, &y, &inv], grid_1d(rows))?;
        Ok((y, inv))
    }
}
