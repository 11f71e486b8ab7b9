//! Count-sketch of a flattened gradient on the GPU, equal to the engine's CPU sketch
//! (grad/sketch.rs) for the same hash. The hash is 64-bit arithmetic WGSL lacks, and a
//! scatter would need float atomics WGSL lacks too, so the host inverts the hash once into
//! a bucket → coordinates CSR (`SketchPlan`) and the kernel gathers per bucket.
//!
//! Memory: the plan holds 4 bytes per coordinate plus 4 per bucket, so a gradient of `len`
//! floats needs `4 len` bytes in one binding (the adapter's `max_binding`).

use crate::context::Gpu;
use crate::dispatch::{grid_1d, Kernel, Params};
use crate::error::{GpuError, Result};
use crate::tensor::{DType, Tensor};

const SKETCH: &str = include_str!("../kernels/sketch.wgsl");

/// Coordinates are stored with the sign in bit 31.
const MAX_LEN: usize = 1 << 31;

/// The bucket → coordinates layout of one hash over `len` coordinates and `size` buckets.
pub struct SketchPlan {
    len: usize,
    size: usize,
    offsets: Tensor,
    entries: Tensor,
}

impl std::fmt::Debug for SketchPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SketchPlan(len {}, size {})", self.len, self.size)
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
}

impl Gpu {
    /// Builds and uploads the plan of `hash(i) = (bucket < size, negative)` for i < len
    /// (the engine passes its seeded `bucket_sign`). A counting sort: O(len + size) time.
    pub fn sketch_plan(&self, len: usize, size: usize, hash: impl Fn(usize) -> (usize, bool)) -> Result<SketchPlan> {
        if len == 0 || size == 0 || len >= MAX_LEN || size >= MAX_LEN {
            return Err(GpuError::shape(
                "sketch_plan",
                format!("{len} coordinates into {size} buckets (need both in 1 .. 2^31)"),
            ));
        }
        let mut offsets = vec![0u32; size + 1];
        let buckets: Vec<(u32, bool)> = (0..len)
            .map(|i| {
                let (b, neg) = hash(i);
                (b as u32, neg)
            })
            .collect();
        for &(b, _) in &buckets {
            let b = b as usize;
            if b >= size {
                return Err(GpuError::shape("sketch_plan", format!("hash gave bucket {b} of {size}")));
            }
            offsets[b + 1] += 1;
        }
        for k in 0..size {
            offsets[k + 1] += offsets[k];
        }
        // Coordinates in increasing order within each bucket: the CPU's summation order.
        let mut next = offsets.clone();
        let mut entries = vec![0u32; len];
        for (i, &(b, neg)) in buckets.iter().enumerate() {
            let slot = &mut next[b as usize];
            entries[*slot as usize] = i as u32 | ((neg as u32) << 31);
            *slot += 1;
        }
        Ok(SketchPlan {
            len,
            size,
            offsets: self.upload_u32(&offsets, &[size + 1])?,
            entries: self.upload_u32(&entries, &[len])?,
        })
    }

    /// The count-sketch [size] of g [len] under `plan`.
    pub fn sketch_gather(&self, g: &Tensor, plan: &SketchPlan) -> Result<Tensor> {
        if g.dtype() != DType::F32 || g.len() != plan.len {
            return Err(GpuError::shape(
                "sketch_gather",
                format!("gradient {g:?} for a plan over {} coordinates", plan.len),
            ));
        }
        let out = self.empty(&[plan.size], DType::F32)?;
        let k = Kernel {
            name: "sketch",
            variant: "",
            parts: &[SKETCH],
        };
        self.dispatch(
            &k,
            Params::new().u(plan.size),
            &[&plan.offsets, &plan.entries, g, &out],
            grid_1d(plan.size.div_ceil(256)),
        )?;
        Ok(out)
    }
}
