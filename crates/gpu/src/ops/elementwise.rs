//! Elementwise ops of the forward and backward pass: residual adds, gradient accumulation
//! and scaling, and the gated MLP activation `silu(gate) * up` with its gradient.

use crate::context::Gpu;
use crate::dispatch::{grid_1d, kernel_params, u32_of, Kernel, KernelParams};
use crate::error::{GpuError, Result};
use crate::tensor::{DType, Tensor};

use super::lib::{PER_ELEMENT, SIGMOID};

const ADD: &str = include_str!("../kernels/elementwise/add.wgsl");
const ADD_INTO: &str = include_str!("../kernels/elementwise/add_into.wgsl");
const SCALE: &str = include_str!("../kernels/elementwise/scale.wgsl");
const SILU_MUL: &str = include_str!("../kernels/elementwise/silu_mul.wgsl");
const SILU_MUL_BACKWARD: &str = include_str!("../kernels/elementwise/silu_mul_backward.wgsl");

kernel_params!(Count { n: u32 });
kernel_params!(Scale { n: u32, s: f32 });

/// Threads per workgroup of the elementwise kernels (one element each).
const WG: usize = 256;

/// Checks that every tensor is f32 and shaped like the first.
fn same_f32(op: &'static str, ts: &[(&str, &Tensor)]) -> Result<()> {
    let (n0, t0) = ts[0];
    for &(name, t) in ts {
        if t.dtype() != DType::F32 {
            return Err(GpuError::shape(op, format!("{name} must be f32, got {t:?}")));
        }
        if t.shape() != t0.shape() {
            return Err(GpuError::shape(op, format!("{name} {:?} differs from {n0} {:?}", t.shape(), t0.shape())));
        }
    }
    Ok(())
}

impl Gpu {
    /// One op of the elementwise family (kernels/elementwise/): its part, then the shared
    /// entry point, over every element of the first tensor.
    fn elementwise<P: KernelParams>(
        &self,
        name: &'static str,
        src: &'static str,
        params: &P,
        ts: &[&Tensor],
    ) -> Result<()> {
        let k = Kernel { name, variant: "", parts: &[SIGMOID, src, PER_ELEMENT] };
        self.dispatch(&k, params, ts, grid_1d(ts[0].len().div_ceil(WG)))
    }

    fn count(t: &Tensor) -> Count {
        Count { n: u32_of(t.len()) }
    }

    /// `a + b` into a new tensor (same shapes).
    pub fn add(&self, a: &Tensor, b: &Tensor) -> Result<Tensor> {
        same_f32("add", &[("a", a), ("b", b)])?;
        let out = self.empty(a.shape(), DType::F32)?;
        self.elementwise("add", ADD, &Self::count(a), &[a, b, &out])?;
        Ok(out)
    }

    /// `dst += src` (same shapes).
    pub fn add_into(&self, dst: &Tensor, src: &Tensor) -> Result<()> {
        same_f32("add_into", &[("dst", dst), ("src", src)])?;
        self.elementwise("add_into", ADD_INTO, &Self::count(dst), &[dst, src])
    }

    /// `dst *= s`.
    pub fn scale_into(&self, dst: &Tensor, s: f32) -> Result<()> {
        same_f32("scale_into", &[("dst", dst)])?;
        self.elementwise("scale", SCALE, &Scale { n: u32_of(dst.len()), s }, &[dst])
    }

    /// `silu(gate) * up` (same shapes): the MLP's activation, the input of `down`.
    pub fn silu_mul(&self, gate: &Tensor, up: &Tensor) -> Result<Tensor> {
        same_f32("silu_mul", &[("gate", gate), ("up", up)])?;
        let act = self.empty(gate.shape(), DType::F32)?;
        self.elementwise("silu_mul", SILU_MUL, &Self::count(gate), &[gate, up, &act])?;
        Ok(act)
    }

    /// Gradients of `silu(gate) * up` given `d_act`: `(d_gate, d_up)`, all of one shape.
    pub fn silu_mul_backward(&self, d_act: &Tensor, gate: &Tensor, up: &Tensor) -> Result<(Tensor, Tensor)> {
        same_f32("silu_mul_backward", &[("d_act", d_act), ("gate", gate), ("up", up)])?;
        let d_gate = self.empty(gate.shape(), DType::F32)?;
        let d_up = self.empty(gate.shape(), DType::F32)?;
        self.elementwise(
            "silu_mul_backward",
            SILU_MUL_BACKWARD,
            &Self::count(gate),
            &[d_act, gate, up, &d_gate, &d_up],
        )?;
        Ok((d_gate, d_up))
    }
}
