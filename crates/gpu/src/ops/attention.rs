//! Attention over a KV cache (forward, optionally keeping the probabilities) and its backward
//! pass. The cache's bookkeeping (writing new keys/values, keeping some rows) is in `kv`.
//!
//! Layouts: activations are token-major ([B·t, heads·hd], as the projections produce them);
//! caches are head-major [B, nkv, cap, hd] so one head's keys are a contiguous block; masks
//! are additive f32 [B, t, keys] (finite -1e30 for hidden keys, as the CPU engine builds
//! them); probabilities are [B, nh, t, keys]. Query head h uses KV head h / (nh / nkv).

use crate::context::Gpu;
use crate::dispatch::{grid_1d, kernel_params, u32_of, Kernel};
use crate::error::{GpuError, Result};
use crate::tensor::{DType, Tensor};

/// The block of queries both attention kernels work on, and its loads.
const BLOCK: &str = include_str!("../kernels/attention_block.wgsl");
const ATTENTION: &str = include_str!("../kernels/attention.wgsl");
const BACKWARD_DS: &str = include_str!("../kernels/attention_backward_ds.wgsl");
const BACKWARD_MATMUL: &str = include_str!("../kernels/attention_backward_matmul.wgsl");

kernel_params!(AttentionParams {
    t: u32,
    keys: u32,
    nh: u32,
    nkv: u32,
    cap: u32,
    /// Query blocks per (b, h).
    nqb: u32,
    /// Workgroups: B · nh · nqb.
    nwg: u32,
    want_probs: u32,
    scale: f32
});
kernel_params!(BackwardDsParams { t: u32, nh: u32, nkv: u32, cap: u32, nqb: u32, nwg: u32, scale: f32 });
kernel_params!(StridedMatmulParams {
    m: u32,
    n: u32,
    kk: u32,
    g: u32,
    zh: u32,
    xdiv: u32,
    a_sb: u32,
    a_sh: u32,
    a_sm: u32,
    a_sk: u32,
    x_sb: u32,
    x_sh: u32,
    x_sk: u32,
    o_sb: u32,
    o_sh: u32,
    o_sm: u32,
});

/// Largest head dim the attention kernels take (a query block and a key tile must fit in
/// 16 KB of workgroup memory).
pub const MAX_HEAD_DIM: usize = 1024;

/// Block sizes of the attention kernels for a head dim and query count: QB queries per
/// workgroup (few for decoding, so no threads idle on absent queries), KB keys per tile,
/// WG threads. The query block takes ≤ 1024 floats and the key tile ≤ 2048 (+ padding).
/// nqb blocks per (batch row, head), nwg workgroups for b batch rows of nh heads.
#[derive(Debug, Clone, Copy)]
struct Blocks {
    qb: usize,
    kb: usize,
    wg: usize,
    nqb: usize,
    nwg: usize,
}

impl Blocks {
    fn new(hd: usize, t: usize, b: usize, nh: usize) -> Blocks {
        let qb = t.next_power_of_two().clamp(1, (1024 / hd).clamp(1, 16));
        let kb = (2048 / hd).clamp(1, 64);
        let wg = (qb * hd / 4).clamp(64, 256);
        let nqb = t.div_ceil(qb);
        let b = Blocks { qb, kb, wg, nqb, nwg: b * nh * nqb };
        debug_assert!(4 * (qb * hd + kb * (hd + 1) + qb * kb + 3 * qb) <= 16384, "{b:?}");
        b
    }

    fn variant(&self, hd: usize, per_thread: (&str, usize)) -> String {
        format!(
            "const HD: u32 = {hd}u;\nconst QB: u32 = {}u;\nconst KB: u32 = {}u;\nconst WG: u32 = {}u;\nconst {}: u32 = {}u;",
            self.qb, self.kb, self.wg, per_thread.0, per_thread.1
        )
    }
}

/// Strides of one `attention_backward_matmul` product (see the kernel's header).
struct Strided {
    m: usize,
    n: usize,
    kk: usize,
    g: usize,
    zh: usize,
    xdiv: usize,
    a: [usize; 4], // batch, head, m, k
    x: [usize; 3], // batch, head, k (n contiguous)
    o: [usize; 3], // batch, head, m (n contiguous)
}

pub(super) fn dims4(op: &'static str, what: &str, t: &Tensor) -> Result<[usize; 4]> {
    match *t.shape() {
        [a, b, c, d] => Ok([a, b, c, d]),
        ref s => Err(GpuError::shape(op, format!("{what} must be [B, nkv, cap, hd], got {s:?}"))),
    }
}

pub(super) fn check_f32(op: &'static str, ts: &[(&str, &Tensor)]) -> Result<()> {
    match ts.iter().find(|(_, t)| t.dtype() != DType::F32) {
        Some((what, t)) => Err(GpuError::shape(op, format!("{what} must be f32, got {t:?}"))),
        None => Ok(()),
    }
}

/// Checks q-like activations [B·t, heads·hd] and returns t.
pub(super) fn token_rows(op: &'static str, what: &str, x: &Tensor, b: usize, heads: usize, hd: usize) -> Result<usize> {
    match *x.shape() {
        [rows, w] if rows > 0 && rows % b == 0 && w == heads * hd => Ok(rows / b),
        ref s => Err(GpuError::shape(op, format!("{what} {s:?}: expected [B*t, {heads}*{hd}] with B = {b} and t ≥ 1"))),
    }
}

fn check_heads(op: &'static str, nh: usize, nkv: usize, hd: usize) -> Result<()> {
    if nh == 0 || nkv == 0 || nh % nkv != 0 {
        return Err(GpuError::shape(op, format!("{nh} query heads do not group over {nkv} KV heads")));
    }
    if hd == 0 || hd > MAX_HEAD_DIM {
        return Err(GpuError::shape(op, format!("head dim {hd} outside 1..={MAX_HEAD_DIM}")));
    }
    Ok(())
}

impl Gpu {
    /// `softmax(scale · q kᵀ + mask) v` for t new queries per batch row over the first `keys`
    /// columns of the caches (the queries being the last t of them). q [B·t, nh·hd];
    /// caches [B, nkv, cap, hd]; mask [B, t, keys] additive. Returns o [B·t, nh·hd] and,
    /// with `want_probs`, the probabilities [B, nh, t, keys].
    #[allow(clippy::too_many_arguments)]
    pub fn attention(
        &self,
        q: &Tensor,
        k_cache: &Tensor,
        v_cache: &Tensor,
        keys: usize,
        mask: &Tensor,
        nh: usize,
        nkv: usize,
        scale: f32,
        want_probs: bool,
    ) -> Result<(Tensor, Option<Tensor>)> {
        const OP: &str = "attention";
        let [b, ckv, cap, hd] = dims4(OP, "k_cache", k_cache)?;
        check_heads(OP, nh, nkv, hd)?;
        check_f32(OP, &[("q", q), ("k_cache", k_cache), ("v_cache", v_cache), ("mask", mask)])?;
        if ckv != nkv || v_cache.shape() != k_cache.shape() {
            return Err(GpuError::shape(
                OP,
                format!("caches {:?} and {:?} for {nkv} KV heads", k_cache.shape(), v_cache.shape()),
            ));
        }
        let t = token_rows(OP, "q", q, b, nh, hd)?;
        if keys < t || keys > cap {
            return Err(GpuError::shape(OP, format!("{keys} keys for {t} queries in a cache of {cap}")));
        }
        if mask.len() != b * t * keys || mask.shape().last() != Some(&keys) {
            return Err(GpuError::shape(OP, format!("mask {:?}: expected [{b}, {t}, {keys}]", mask.shape())));
        }
        let o = self.empty(&[b * t, nh * hd], DType::F32)?;
        let probs = if want_probs { self.empty(&[b, nh, t, keys], DType::F32)? } else { self.empty(&[1], DType::F32)? };
        let bl = Blocks::new(hd, t, b, nh);
        let variant = bl.variant(hd, ("ACC", (bl.qb * hd).div_ceil(bl.wg)));
        let k = Kernel { name: "attention", variant: &variant, parts: &[BLOCK, ATTENTION] };
        let params = AttentionParams {
            t: u32_of(t),
            keys: u32_of(keys),
            nh: u32_of(nh),
            nkv: u32_of(nkv),
            cap: u32_of(cap),
            nqb: u32_of(bl.nqb),
            nwg: u32_of(bl.nwg),
            want_probs: want_probs as u32,
            scale,
        };
        self.dispatch(&k, &params, &[q, k_cache, v_cache, mask, &o, &probs], grid_1d(bl.nwg))?;
        Ok((o, want_probs.then_some(probs)))
    }

    /// The backward of `attention` with keys == t (the cache columns 0..t hold this pass's
    /// keys and values): from dO and the forward's q (after RoPE), caches and probabilities
    /// [B, nh, t, t], returns (dq [B·t, nh·hd], dk [B·t, nkv·hd], dv [B·t, nkv·hd]), dk and
    /// dv summed over the query heads of each KV head (before RoPE's backward):
    /// dP = dO vᵀ, dS = P ⊙ (dP − rowsum(dP ⊙ P)), dq = scale dS k, dk = scale dSᵀ q,
    /// dv = Pᵀ dO. Masked keys have P = 0, so no mask is needed.
    #[allow(clippy::too_many_arguments)]
    pub fn attention_backward(
        &self,
        d_o: &Tensor,
        q: &Tensor,
        k_cache: &Tensor,
        v_cache: &Tensor,
        probs: &Tensor,
        nh: usize,
        nkv: usize,
        scale: f32,
    ) -> Result<(Tensor, Tensor, Tensor)> {
        const OP: &str = "attention_backward";
        let [b, ckv, cap, hd] = dims4(OP, "k_cache", k_cache)?;
        check_heads(OP, nh, nkv, hd)?;
        let all = [("d_o", d_o), ("q", q), ("k_cache", k_cache), ("v_cache", v_cache), ("probs", probs)];
        check_f32(OP, &all)?;
        if ckv != nkv || v_cache.shape() != k_cache.shape() {
            return Err(GpuError::shape(
                OP,
                format!("caches {:?} and {:?} for {nkv} KV heads", k_cache.shape(), v_cache.shape()),
            ));
        }
        let t = token_rows(OP, "q", q, b, nh, hd)?;
        if d_o.shape() != q.shape() || probs.shape() != [b, nh, t, t] || t > cap {
            return Err(GpuError::shape(
                OP,
                format!(
                    "d_o {:?}, q {:?}, probs {:?}, caches {:?}: expected d_o = q = [{b}*{t}, {nh}*{hd}], probs [{b}, {nh}, {t}, {t}], cap ≥ {t}",
                    d_o.shape(),
                    q.shape(),
                    probs.shape(),
                    k_cache.shape()
                ),
            ));
        }
        let ds = self.empty(&[b, nh, t, t], DType::F32)?;
        let bl = Blocks::new(hd, t, b, nh);
        let variant = bl.variant(hd, ("PAIRS", (bl.qb * bl.kb).div_ceil(bl.wg)));
        let k = Kernel { name: "attention_backward_ds", variant: &variant, parts: &[BLOCK, BACKWARD_DS] };
        let params = BackwardDsParams {
            t: u32_of(t),
            nh: u32_of(nh),
            nkv: u32_of(nkv),
            cap: u32_of(cap),
            nqb: u32_of(bl.nqb),
            nwg: u32_of(bl.nwg),
            scale,
        };
        self.dispatch(&k, &params, &[d_o, v_cache, probs, &ds], grid_1d(bl.nwg))?;

        let g = nh / nkv;
        let (tq, tkv, cache_b) = (t * nh * hd, t * nkv * hd, nkv * cap * hd);
        let dq = self.empty(&[b * t, nh * hd], DType::F32)?;
        let dk = self.empty(&[b * t, nkv * hd], DType::F32)?;
        let dv = self.empty(&[b * t, nkv * hd], DType::F32)?;
        // dq(i, d) = Σ_j dS(i, j) k(j, d), per query head, k of its KV head.
        let s = Strided {
            m: t,
            n: hd,
            kk: t,
            g: 1,
            zh: nh,
            xdiv: g,
            a: [nh * t * t, t * t, t, 1],
            x: [cache_b, cap * hd, hd],
            o: [tq, hd, nh * hd],
        };
        self.strided_matmul(b, &s, &ds, k_cache, &dq)?;
        // dk(j, d) = Σ_{h of the group} Σ_i dS_h(i, j) q_h(i, d); dv likewise with P and dO.
        let s = Strided {
            m: t,
            n: hd,
            kk: t,
            g,
            zh: nkv,
            xdiv: 1,
            a: [nh * t * t, t * t, 1, t],
            x: [tq, hd, nh * hd],
            o: [tkv, hd, nkv * hd],
        };
        self.strided_matmul(b, &s, &ds, q, &dk)?;
        self.strided_matmul(b, &s, probs, d_o, &dv)?;
        Ok((dq, dk, dv))
    }

    fn strided_matmul(&self, b: usize, s: &Strided, a: &Tensor, x: &Tensor, c: &Tensor) -> Result<()> {
        let variant = format!("const A_T: bool = {};", s.a[2] == 1);
        let k = Kernel {
            name: "attention_backward_matmul",
            variant: &variant,
            parts: &[super::lib::TILE_CORE, BACKWARD_MATMUL],
        };
        let u = u32_of;
        let params = StridedMatmulParams {
            m: u(s.m),
            n: u(s.n),
            kk: u(s.kk),
            g: u(s.g),
            zh: u(s.zh),
            xdiv: u(s.xdiv),
            a_sb: u(s.a[0]),
            a_sh: u(s.a[1]),
            a_sm: u(s.a[2]),
            a_sk: u(s.a[3]),
            x_sb: u(s.x[0]),
            x_sh: u(s.x[1]),
            x_sk: u(s.x[2]),
            o_sb: u(s.o[0]),
            o_sh: u(s.o[1]),
            o_sm: u(s.o[2]),
        };
        let groups = [s.n.div_ceil(64) as u32, s.m.div_ceil(64) as u32, (b * s.zh) as u32];
        self.dispatch(&k, &params, &[a, x, c], groups)
    }
}
