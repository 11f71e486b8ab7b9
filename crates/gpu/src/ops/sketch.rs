//! Count-sketch of a flattened gradient on the GPU, piece by piece (a piece: one
//! projection's gradient, as the backward pass hands them out), added into rows of a sketch
//! store kept on the GPU. Equal to the engine's CPU sketch (grad/sketch.rs) for the same
//! hash and piece order. The hash is 64-bit arithmetic WGSL lacks, and a scatter would need
//! float atomics WGSL lacks too, so the host inverts the hash of each piece once into a CSR
//! over the buckets the piece touches (`SketchPlan`) and the kernel gathers per bucket.
//!
//! Memory: a plan holds 4 bytes per coordinate plus about 8 per touched bucket (at most
//! one per coordinate), so plans for a whole gradient of `len` floats take ≤ 12 `len`
//! bytes, each piece's arrays in their own bindings.

use crate::context::Gpu;
use crate::dispatch::{grid_1d, kernel_params, u32_of, Kernel};
use crate::error::{GpuError, Result};
use crate::tensor::{DType, Tensor};

const SKETCH: &str = include_str!("../kernels/sketch.wgsl");

// n: the threads, B · nt (examples · touched buckets of the block).
kernel_params!(SketchParams { n: u32, t0: u32, nt: u32, len: u32, row0: u32, ldo: u32, c0: u32 });

/// Coordinates are stored with the sign in bit 31.
const MAX_LEN: usize = 1 << 31;

/// The touched buckets → coordinates layout of one hash over the `len` coordinates of a
/// piece, into `size` buckets.
pub struct SketchPlan {
    len: usize,
    size: usize,
    /// The touched buckets in increasing order (kept on the host too, to find the range
    /// that falls in a column block).
    touched: Vec<u32>,
    buckets: Tensor,
    offsets: Tensor,
    entries: Tensor,
}

impl std::fmt::Debug for SketchPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SketchPlan(len {}, size {}, {} buckets touched)", self.len, self.size, self.touched.len())
    }
}

impl SketchPlan {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn size(&self) -> usize {
        self.size
    }

    /// Bytes this plan holds on the GPU.
    pub fn bytes(&self) -> u64 {
        self.buckets.bytes() + self.offsets.bytes() + self.entries.bytes()
    }
}

impl Gpu {
    /// Builds and uploads the plan of `hash(i) = (bucket < size, negative)` for the
    /// coordinates i < len of one piece (the engine passes its seeded `bucket_sign` at the
    /// piece's offset). Sorting by bucket: O(len log len) on the host, once per piece.
    pub fn sketch_plan(&self, len: usize, size: usize, hash: impl Fn(usize) -> (usize, bool)) -> Result<SketchPlan> {
        if len == 0 || size == 0 || len >= MAX_LEN || size >= MAX_LEN {
            return Err(GpuError::shape(
                "sketch_plan",
                format!("{len} coordinates into {size} buckets (need both in 1 .. 2^31)"),
            ));
        }
        // (bucket, coordinate | sign) sorted: coordinates increase within a bucket, the
        // CPU's summation order.
        let mut pairs = Vec::with_capacity(len);
        for i in 0..len {
            let (b, neg) = hash(i);
            if b >= size {
                return Err(GpuError::shape("sketch_plan", format!("hash gave bucket {b} of {size}")));
            }
            // b < 2^31, i < 2^31: (bucket, coordinate) order with the sign in the low bit.
            pairs.push(((b as u64) << 33) | ((i as u64) << 1) | neg as u64);
        }
        pairs.sort_unstable();
        let mut touched = Vec::new();
        let mut offsets = Vec::new();
        let mut entries = Vec::with_capacity(len);
        for (e, &pair) in pairs.iter().enumerate() {
            let b = (pair >> 33) as u32;
            if touched.last() != Some(&b) {
                touched.push(b);
                offsets.push(e as u32);
            }
            entries.push(((pair >> 1) as u32 & 0x7fff_ffff) | ((pair as u32 & 1) << 31));
        }
        offsets.push(len as u32);
        let up = |what: &str, v: &[u32]| self.upload_static(what, bytemuck::cast_slice(v), &[v.len()], DType::U32);
        Ok(SketchPlan {
            len,
            size,
            buckets: up("sketch plan buckets", &touched)?,
            offsets: up("sketch plan offsets", &offsets)?,
            entries: up("sketch plan entries", &entries)?,
            touched,
        })
    }

    /// Adds the sketch of every row b of g [B, plan.len()] to row `row0 + b` of `out`
    /// [rows, cols], a column block holding buckets `c0 .. c0 + cols` of the sketch (the
    /// buckets outside it are left to the other blocks).
    pub fn sketch_add(&self, g: &Tensor, plan: &SketchPlan, out: &Tensor, row0: usize, c0: usize) -> Result<()> {
        let bad = |msg: String| Err(GpuError::shape("sketch_add", msg));
        let b = match *g.shape() {
            [b, len] if g.dtype() == DType::F32 && len == plan.len => b,
            _ => return bad(format!("gradient {g:?} for a plan over {} coordinates", plan.len)),
        };
        let (rows, cols) = match *out.shape() {
            [r, c] if out.dtype() == DType::F32 => (r, c),
            _ => return bad(format!("the store block must be f32 [rows, cols], got {out:?}")),
        };
        if row0 + b > rows || c0 + cols > plan.size {
            return bad(format!(
                "rows {row0}..{} and buckets {c0}..{} of a [{rows}, {cols}] block of a {}-bucket sketch",
                row0 + b,
                c0 + cols,
                plan.size
            ));
        }
        let t0 = plan.touched.partition_point(|&k| (k as usize) < c0);
        let t1 = plan.touched.partition_point(|&k| (k as usize) < c0 + cols);
        if t1 == t0 || b == 0 {
            return Ok(());
        }
        let k = Kernel { name: "sketch", variant: "", parts: &[super::lib::PER_ELEMENT, SKETCH] };
        let (nt, n) = (t1 - t0, b * (t1 - t0));
        let u = u32_of;
        let params =
            SketchParams { n: u(n), t0: u(t0), nt: u(nt), len: u(plan.len), row0: u(row0), ldo: u(cols), c0: u(c0) };
        self.dispatch(&k, &params, &[&plan.buckets, &plan.offsets, &plan.entries, g, out], grid_1d(n.div_ceil(256)))
    }
}
