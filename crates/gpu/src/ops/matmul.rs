//! Matrix products: `C = alpha · op(A) · op(B) (+ bias) (+ C)`, batched, with the weight side
//! read through a loader (f32 here; quantized blocks in `quant`), so a quantized weight is
//! multiplied without ever being expanded to f32 in memory.

use crate::context::Gpu;
use crate::dispatch::{kernel_params, u32_of, Kernel};
use crate::error::{GpuError, Result};
use crate::tensor::{DType, Tensor};

const MATMUL: &str = include_str!("../kernels/matmul.wgsl");
const LOAD_F32: &str = include_str!("../kernels/matmul_b_f32.wgsl");
const TILE: usize = 64;

kernel_params!(MatmulParams {
    m: u32,
    n: u32,
    k: u32,
    flags: u32,
    a_batch: u32,
    w_batch: u32,
    c_batch: u32,
    alpha: f32,
    lda: u32,
    a_off: u32,
    ldc: u32,
    c_off: u32,
});

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MatmulOpts {
    /// A is stored [K, M] (read transposed).
    pub trans_a: bool,
    /// B is stored [N, K] (read transposed): a linear layer's weight.
    pub trans_b: bool,
    pub alpha: f32,
}

impl Default for MatmulOpts {
    fn default() -> Self {
        MatmulOpts { trans_a: false, trans_b: false, alpha: 1.0 }
    }
}

/// How the kernel reads the weight operand.
pub(crate) struct Loader {
    /// Part of the pipeline key.
    pub name: &'static str,
    /// WGSL parts declaring binding 2 and defining `w_vec4` (see matmul.wgsl).
    pub sources: &'static [&'static str],
}

pub(crate) const F32_LOADER: Loader = Loader { name: "f32", sources: &[super::lib::W_ELEMENTS, LOAD_F32] };

/// Sizes of one (batched) product.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dims {
    pub z: usize,
    pub m: usize,
    pub n: usize,
    pub k: usize,
    /// Elements between batches of A, W (0: shared across the batch) and C.
    pub a_batch: usize,
    pub w_batch: usize,
    pub c_batch: usize,
}

/// Where A and C lie in their buffers: A's leading dimension and element offset (a slice of
/// A's columns, or rows with `trans_a`), C's leading dimension and column offset (also the
/// offset into the bias). `Strides::dense` is the plain contiguous product.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Strides {
    pub lda: usize,
    pub a_off: usize,
    pub ldc: usize,
    pub c_off: usize,
}

impl Strides {
    pub fn dense(d: &Dims, o: &MatmulOpts) -> Self {
        Strides { lda: if o.trans_a { d.m } else { d.k }, a_off: 0, ldc: d.n, c_off: 0 }
    }
}

/// Splits a shape into (batch, rows, cols); 2-D shapes have batch 1.
fn mat(op: &'static str, t: &Tensor) -> Result<(usize, usize, usize)> {
    match *t.shape() {
        [r, c] => Ok((1, r, c)),
        [z, r, c] => Ok((z, r, c)),
        ref s => Err(GpuError::shape(op, format!("expected a 2-D or 3-D tensor, got {s:?}"))),
    }
}

impl Gpu {
    /// The tensor to bind as the bias of matmul.wgsl or matvec.wgsl and their flags (1:
    /// accumulate into C, 2: add the bias). Without a bias the binding still needs a buffer,
    /// which the flags keep the kernel from reading.
    pub(super) fn bias_and_flags(&self, bias: Option<&Tensor>, accumulate: bool) -> Result<(Tensor, u32)> {
        let flags = accumulate as u32 | (bias.is_some() as u32) << 1;
        let bias = match bias {
            Some(b) => b.clone(),
            None => self.empty(&[1], DType::F32)?,
        };
        Ok((bias, flags))
    }

    /// `alpha · op(A) · op(B)` into a new tensor. A: [Z?, M, K] (or [Z?, K, M] with
    /// `trans_a`); B: [Z?, K, N] (or [Z?, N, K] with `trans_b`); a 2-D B is shared by every
    /// batch. The result is [Z?, M, N] (3-D when A is).
    pub fn matmul(&self, a: &Tensor, b: &Tensor, o: MatmulOpts) -> Result<Tensor> {
        let d = self.matmul_dims(a, b, o)?;
        let shape: Vec<usize> = if a.shape().len() == 3 { vec![d.z, d.m, d.n] } else { vec![d.m, d.n] };
        let c = self.empty(&shape, DType::F32)?;
        self.record_matmul(d, Strides::dense(&d, &o), o, a, b, &F32_LOADER, None, &c, false)?;
        Ok(c)
    }

    /// `C (+)= alpha · op(A) · op(B) (+ bias)` into an existing tensor of the result's shape.
    pub fn matmul_into(
        &self,
        a: &Tensor,
        b: &Tensor,
        o: MatmulOpts,
        bias: Option<&Tensor>,
        c: &Tensor,
        accumulate: bool,
    ) -> Result<()> {
        let d = self.matmul_dims(a, b, o)?;
        if c.len() != d.z * d.m * d.n {
            return Err(GpuError::shape(
                "matmul",
                format!("output {:?} for a [{}, {}, {}] product", c.shape(), d.z, d.m, d.n),
            ));
        }
        self.record_matmul(d, Strides::dense(&d, &o), o, a, b, &F32_LOADER, bias, c, accumulate)
    }

    /// A linear layer `x W^T (+ b)`: x [T, in], W [out, in] → [T, out].
    pub fn linear(&self, x: &Tensor, w: &Tensor, bias: Option<&Tensor>) -> Result<Tensor> {
        let o = MatmulOpts { trans_b: true, ..Default::default() };
        let d = self.matmul_dims(x, w, o)?;
        let c = self.empty(&[d.m, d.n], DType::F32)?;
        self.record_matmul(d, Strides::dense(&d, &o), o, x, w, &F32_LOADER, bias, &c, false)?;
        Ok(c)
    }

    fn matmul_dims(&self, a: &Tensor, b: &Tensor, o: MatmulOpts) -> Result<Dims> {
        let (za, ar, ac) = mat("matmul", a)?;
        let (zb, br, bc) = mat("matmul", b)?;
        let (m, k) = if o.trans_a { (ac, ar) } else { (ar, ac) };
        let (kb, n) = if o.trans_b { (bc, br) } else { (br, bc) };
        let b_batched = b.shape().len() == 3;
        if k != kb || (b_batched && zb != za) {
            return Err(GpuError::shape(
                "matmul",
                format!(
                    "{:?}{} times {:?}{} do not fit",
                    a.shape(),
                    if o.trans_a { "ᵀ" } else { "" },
                    b.shape(),
                    if o.trans_b { "ᵀ" } else { "" }
                ),
            ));
        }
        Ok(Dims { z: za, m, n, k, a_batch: m * k, w_batch: if b_batched { k * n } else { 0 }, c_batch: m * n })
    }

    /// Records one product with the given weight loader. `w` is the loader's binding; the
    /// caller has checked that A, W and C hold what `d` and `s` address.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn record_matmul(
        &self,
        d: Dims,
        s: Strides,
        o: MatmulOpts,
        a: &Tensor,
        w: &Tensor,
        loader: &Loader,
        bias: Option<&Tensor>,
        c: &Tensor,
        accumulate: bool,
    ) -> Result<()> {
        if let Some(b) = bias {
            if b.len() != s.ldc {
                return Err(GpuError::shape("matmul", format!("bias of {} for {} outputs", b.len(), s.ldc)));
            }
        }
        let (bias, flags) = self.bias_and_flags(bias, accumulate)?;
        let variant =
            format!("const A_T: bool = {};\nconst B_T: bool = {};\n// loader {}", o.trans_a, o.trans_b, loader.name);
        let u = u32_of;
        let params = MatmulParams {
            m: u(d.m),
            n: u(d.n),
            k: u(d.k),
            flags,
            a_batch: u(d.a_batch),
            w_batch: u(d.w_batch),
            c_batch: u(d.c_batch),
            alpha: o.alpha,
            lda: u(s.lda),
            a_off: u(s.a_off),
            ldc: u(s.ldc),
            c_off: u(s.c_off),
        };
        let mut parts = loader.sources.to_vec();
        parts.extend([super::lib::TILE_CORE, MATMUL]);
        let kernel = Kernel { name: "matmul", variant: &variant, parts: &parts };
        let groups = [d.n.div_ceil(TILE) as u32, d.m.div_ceil(TILE) as u32, d.z as u32];
        self.dispatch(&kernel, &params, &[a, w, &bias, c], groups)
    }
}
