//! RMSNorm backward: the gradient w.r.t. the norm's input (weights are frozen).

use crate::context::Gpu;
use crate::dispatch::{grid_1d, kernel_params, u32_of, Kernel};
use crate::error::{GpuError, Result};
use crate::tensor::{DType, Tensor};

const RMSNORM_BACKWARD: &str = include_str!("../kernels/rmsnorm_backward.wgsl");

kernel_params!(RmsNormBackwardParams { rows: u32, h: u32 });

impl Gpu {
    /// dx [rows, h] of `y = w ⊙ x · inv` given dy [rows, h], the forward input x [rows, h],
    /// inv [rows] (the second output of `rms_norm`) and w [h].
    pub fn rms_norm_backward(&self, dy: &Tensor, x: &Tensor, inv: &Tensor, w: &Tensor) -> Result<Tensor> {
        let op = "rms_norm_backward";
        for (name, t) in [("dy", dy), ("x", x), ("inv", inv), ("w", w)] {
            if t.dtype() != DType::F32 {
                return Err(GpuError::shape(op, format!("{name} must be f32, got {t:?}")));
            }
        }
        let (rows, h) = match *x.shape() {
            [r, h] => (r, h),
            ref s => return Err(GpuError::shape(op, format!("x must be 2-D, got {s:?}"))),
        };
        if dy.shape() != x.shape() || inv.len() != rows || w.len() != h {
            return Err(GpuError::shape(
                op,
                format!(
                    "dy {:?}, x {:?}, inv {:?}, w {:?}: expected dy = x = [rows, h], inv [rows], w [h]",
                    dy.shape(),
                    x.shape(),
                    inv.shape(),
                    w.shape()
                ),
            ));
        }
        let dx = self.empty(&[rows, h], DType::F32)?;
        let k = Kernel {
            name: "rmsnorm_backward",
            variant: "",
            parts: &[super::lib::PER_ROW, super::lib::REDUCE, RMSNORM_BACKWARD],
        };
        let params = RmsNormBackwardParams { rows: u32_of(rows), h: u32_of(h) };
        self.dispatch(&k, &params, &[dy, x, inv, w, &dx], grid_1d(rows))?;
        Ok(dx)
    }
}
