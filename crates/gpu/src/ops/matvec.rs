//! The linear layer for the few rows of a decode step (matvec.wgsl): `C (+)= X Wᵀ (+ bias)`
//! with W read through the same loaders as the tiled matmul, so every weight format works.
//! `linear_q` takes this path for at most `MATVEC_MAX_ROWS` rows.

use crate::context::Gpu;
use crate::dispatch::{grid_1d, kernel_params, u32_of, Kernel};
use crate::error::{GpuError, Result};
use crate::ops::matmul::Loader;
use crate::tensor::{DType, Tensor};

const MATVEC: &str = include_str!("../kernels/matvec.wgsl");
/// W rows per workgroup (RW in matvec.wgsl).
const ROWS_PER_GROUP: usize = 16;

kernel_params!(MatvecParams { m: u32, n: u32, k: u32, flags: u32, ldc: u32, c_off: u32 });

/// Up to this many rows of X, `linear_q` uses the matvec kernel instead of the 64×64 tiles
/// (measured on lavapipe with SmolLM2's shapes: docs/benchmarks/gpu-lavapipe.md). The
/// kernel's workgroup memory (64 · 4 · rows floats) bounds it at 16.
pub const MATVEC_MAX_ROWS: usize = 16;

/// One product into a column slice of C: `C[m, c_off + n] (+)= Σ_k X[m, k] W[n, k]
/// (+ bias[c_off + n])` for m < rows, n < W's rows, k < width.
pub(crate) struct Matvec<'a> {
    /// X [rows, width], f32.
    pub x: &'a Tensor,
    pub rows: usize,
    pub width: usize,
    /// W's buffer (a chunk of a weight) with `n` rows of `width` elements, read by `loader`.
    pub w: &'a Tensor,
    pub n: usize,
    pub loader: &'a Loader,
    /// Indexed like C's columns: [ldc].
    pub bias: Option<&'a Tensor>,
    /// C [rows, ldc], f32.
    pub c: &'a Tensor,
    pub ldc: usize,
    pub c_off: usize,
    pub accumulate: bool,
}

impl Matvec<'_> {
    fn check(&self) -> Result<()> {
        let bad = |why: String| Err(GpuError::shape("matvec", why));
        if self.rows > MATVEC_MAX_ROWS {
            return bad(format!("{} rows (at most {MATVEC_MAX_ROWS})", self.rows));
        }
        for (what, t, len) in [("input", self.x, self.rows * self.width), ("output", self.c, self.rows * self.ldc)] {
            if t.dtype() != DType::F32 || t.len() != len {
                return bad(format!("{what} {t:?} must be f32 with {len} elements"));
            }
        }
        if self.c_off + self.n > self.ldc {
            return bad(format!("columns {}..{} of {}", self.c_off, self.c_off + self.n, self.ldc));
        }
        if let Some(b) = self.bias {
            if b.len() != self.ldc {
                return bad(format!("bias {b:?} for {} outputs", self.ldc));
            }
        }
        Ok(())
    }

    pub fn record(&self, gpu: &Gpu) -> Result<()> {
        self.check()?;
        if self.rows == 0 || self.n == 0 {
            return Ok(());
        }
        let (bias, flags) = gpu.bias_and_flags(self.bias, self.accumulate)?;
        let variant = format!("const MR: u32 = {}u;\n// loader {}", self.rows, self.loader.name);
        let mut parts = self.loader.sources.to_vec();
        parts.push(MATVEC);
        let kernel = Kernel { name: "matvec", variant: &variant, parts: &parts };
        let u = u32_of;
        let params = MatvecParams {
            m: u(self.rows),
            n: u(self.n),
            k: u(self.width),
            flags,
            ldc: u(self.ldc),
            c_off: u(self.c_off),
        };
        let groups = grid_1d(self.n.div_ceil(ROWS_PER_GROUP));
        gpu.dispatch(&kernel, &params, &[self.x, self.w, &bias, self.c], groups)
    }
}
