//! The KV cache's bookkeeping: writing a step's new keys/values into the cache, and keeping,
//! reordering or scattering rows (finished batch rows stop costing; the loss gradient goes
//! back to the whole token axis). Layouts as in `attention`.

use super::attention::{check_f32, dims4, token_rows};
use crate::context::Gpu;
use crate::dispatch::{grid_1d, kernel_params, u32_of, Kernel};
use crate::error::{GpuError, Result};
use crate::tensor::Tensor;

const KV_WRITE: &str = include_str!("../kernels/kv_write.wgsl");
const GATHER_ROWS: &str = include_str!("../kernels/gather_rows.wgsl");
/// The row index gather_rows.wgsl reads as "a row of zeros".
const ZERO_ROW: u32 = u32::MAX;

// n: the threads, B · t · nkv · hd.
kernel_params!(KvWriteParams { n: u32, t: u32, nkv: u32, hd: u32, cap: u32, at: u32 });
// n: the threads, rows.len() · width.
kernel_params!(GatherParams { n: u32, width: u32 });

impl Gpu {
    /// Writes t new keys (or values) of every batch row, `new` [b·t, nkv·hd] (row b's tokens
    /// at b·t..), into cache [b, nkv, cap, hd] at columns at..at+t.
    pub fn kv_write(&self, cache: &Tensor, new: &Tensor, b: usize, at: usize) -> Result<()> {
        let [cb, nkv, cap, hd] = dims4("kv_write", "cache", cache)?;
        check_f32("kv_write", &[("cache", cache), ("new", new)])?;
        if cb != b || b == 0 {
            return Err(GpuError::shape("kv_write", format!("cache {:?} for {b} batch rows", cache.shape())));
        }
        let t = token_rows("kv_write", "new", new, b, nkv, hd)?;
        if at + t > cap {
            return Err(GpuError::shape(
                "kv_write",
                format!("{t} new columns at {at} overflow a cache of {cap} ({:?})", cache.shape()),
            ));
        }
        let n = new.len();
        let k = Kernel { name: "kv_write", variant: "", parts: &[super::lib::PER_ELEMENT, KV_WRITE] };
        let u = u32_of;
        let params = KvWriteParams { n: u(n), t: u(t), nkv: u(nkv), hd: u(hd), cap: u(cap), at: u(at) };
        self.dispatch(&k, &params, &[new, cache], grid_1d(n.div_ceil(256)))
    }

    /// The given leading-dim rows of `src` (any trailing shape, 4-byte elements or whole
    /// words of bytes), in that order: [rows.len(), ...].
    pub fn gather_rows(&self, src: &Tensor, rows: &[usize]) -> Result<Tensor> {
        let (r, width) = self.row_words("gather_rows", src)?;
        if let Some(bad) = rows.iter().find(|&&i| i >= r) {
            return Err(GpuError::shape("gather_rows", format!("row {bad} of {src:?}")));
        }
        let idx: Vec<u32> = rows.iter().map(|&i| i as u32).collect();
        self.gather_words(src, width, &idx)
    }

    /// The transpose of `gather_rows`: a [total, ...] tensor holding row i of `src` at
    /// `rows[i]` and zeros elsewhere (rows distinct). The loss gradient on the scored
    /// positions goes back to the whole token axis this way, without a dense selector.
    pub fn scatter_rows(&self, src: &Tensor, rows: &[usize], total: usize) -> Result<Tensor> {
        let (n, width) = self.row_words("scatter_rows", src)?;
        if rows.len() != n {
            return Err(GpuError::shape("scatter_rows", format!("{} rows for {src:?}", rows.len())));
        }
        let mut inverse = vec![ZERO_ROW; total];
        for (i, &r) in rows.iter().enumerate() {
            match inverse.get_mut(r) {
                Some(slot) if *slot == ZERO_ROW => *slot = i as u32,
                Some(_) => return Err(GpuError::shape("scatter_rows", format!("row {r} given twice"))),
                None => return Err(GpuError::shape("scatter_rows", format!("row {r} of {total}"))),
            }
        }
        self.gather_words(src, width, &inverse)
    }

    /// (rows, 32-bit words per row) of a tensor whose rows are whole words.
    fn row_words(&self, op: &'static str, src: &Tensor) -> Result<(usize, usize)> {
        let (&r, rest) = src.shape().split_first().ok_or_else(|| GpuError::shape(op, "src is a scalar"))?;
        let width_bytes = rest.iter().product::<usize>() as u64 * src.dtype().size();
        if width_bytes % 4 != 0 {
            return Err(GpuError::shape(op, format!("rows of {src:?} are not whole 4-byte words")));
        }
        Ok((r, (width_bytes / 4) as usize))
    }

    /// dst[i] = src[idx[i]], or a zero row where idx[i] is `ZERO_ROW`, for rows of `width`
    /// words; the callers have checked the indices.
    fn gather_words(&self, src: &Tensor, width: usize, idx: &[u32]) -> Result<Tensor> {
        let mut shape = src.shape().to_vec();
        shape[0] = idx.len();
        let dst = self.empty(&shape, src.dtype())?;
        let n = idx.len() * width;
        if n == 0 {
            return Ok(dst);
        }
        let idx = self.upload_u32(idx, &[idx.len()])?;
        let k = Kernel { name: "gather_rows", variant: "", parts: &[super::lib::PER_ELEMENT, GATHER_ROWS] };
        let params = GatherParams { n: u32_of(n), width: u32_of(width) };
        self.dispatch(&k, &params, &[src, &idx, &dst], grid_1d(n.div_ceil(256)))?;
        Ok(dst)
    }
}
