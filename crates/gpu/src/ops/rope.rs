//! Rotary position embedding (Hugging Face's rotate_half convention) and its transpose.

use crate::context::Gpu;
use crate::dispatch::{grid_1d, kernel_params, u32_of, Kernel};
use crate::error::{GpuError, Result};
use crate::tensor::{DType, Tensor};

const ROPE: &str = include_str!("../kernels/rope.wgsl");

// n: the threads, rows · heads · hd.
kernel_params!(RopeParams { n: u32, heads: u32, hd: u32, inverse: u32 });

impl Gpu {
    /// RoPE over the heads of each row: x [T, heads·hd], cos and sin [T, hd] (per row, laid
    /// out `cat(freqs, freqs)`) → [T, heads·hd]. `inverse = false` applies the rotation
    /// `x cos + rotate_half(x) sin`; `inverse = true` its transpose
    /// `x cos + rotate_half_t(x sin)`, which is the backward of RoPE applied to a gradient
    /// (and, the rotation being orthogonal, also its inverse).
    pub fn rope(&self, x: &Tensor, cos: &Tensor, sin: &Tensor, heads: usize, inverse: bool) -> Result<Tensor> {
        let bad = |msg: String| Err(GpuError::shape("rope", msg));
        let (rows, width) = match *x.shape() {
            [r, w] => (r, w),
            ref s => return bad(format!("x must be 2-D [T, heads*hd], got {s:?}")),
        };
        let hd = match *cos.shape() {
            [r, hd] if r == rows && hd > 0 && hd % 2 == 0 => hd,
            ref s => return bad(format!("cos {s:?} for x {:?}: expected [{rows}, hd] with hd even", x.shape())),
        };
        if sin.shape() != cos.shape() {
            return bad(format!("sin {:?} differs from cos {:?}", sin.shape(), cos.shape()));
        }
        if heads == 0 || width != heads * hd {
            return bad(format!("x {:?} is not {heads} heads of {hd}", x.shape()));
        }
        if [x, cos, sin].iter().any(|t| t.dtype() != DType::F32) {
            return bad("x, cos and sin must be f32".into());
        }
        let y = self.empty(&[rows, width], DType::F32)?;
        let k = Kernel { name: "rope", variant: "", parts: &[super::lib::PER_ELEMENT, ROPE] };
        let params =
            RopeParams { n: u32_of(rows * width), heads: u32_of(heads), hd: u32_of(hd), inverse: inverse as u32 };
        self.dispatch(&k, &params, &[x, cos, sin, &y], grid_1d((rows * width).div_ceil(256)))?;
        Ok(y)
    }
}
