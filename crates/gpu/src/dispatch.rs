//! Recording one compute dispatch: pipeline from the cache, a uniform block of parameters
//! at binding 0, tensors at bindings 1, 2, ... in the order the kernel declares them.
//!
//! Kernel conventions (every .wgsl file under kernels/ follows them):
//! - entry point `main`; `@group(0) @binding(0) var<uniform> p: Params;` then storage
//!   buffers from binding 1;
//! - every declared binding is used (pipelines use automatic layouts, which drop unused
//!   bindings);
//! - 1-D grids may be split over x and y (at most 65535 workgroups per dimension): the
//!   linear workgroup index is `wid.x + wid.y * nwg.x`.

use crate::context::Gpu;
use crate::error::{GpuError, Result};
use crate::tensor::Tensor;

/// A kernel and its specialization.
pub(crate) struct Kernel<'a> {
    pub name: &'static str,
    /// Constants etc. prepended to the source; also the pipeline cache key.
    pub variant: &'a str,
    /// The WGSL parts, concatenated after `variant` (kernel body last).
    pub parts: &'a [&'static str],
}

/// Parameter words: u32 as is, f32 by bits. Padded to 16 bytes.
#[derive(Default)]
pub(crate) struct Params(Vec<u32>);

impl Params {
    pub fn new() -> Self {
        Params(Vec::new())
    }
    pub fn u(mut self, v: usize) -> Self {
        self.0.push(u32::try_from(v).expect("parameter fits u32"));
        self
    }
    pub fn f(mut self, v: f32) -> Self {
        self.0.push(v.to_bits());
        self
    }
}

/// Workgroup counts for `n` workgroups in a row, split over x and y when over the limit.
pub(crate) fn grid_1d(n: usize) -> [u32; 3] {
    const MAX: usize = 65535;
    if n <= MAX {
        [n.max(1) as u32, 1, 1]
    } else {
        let y = n.div_ceil(MAX);
        [n.div_ceil(y) as u32, y as u32, 1]
    }
}

impl Gpu {
    pub(crate) fn dispatch(
        &self,
        k: &Kernel<'_>,
        params: Params,
        tensors: &[&Tensor],
        groups: [u32; 3],
    ) -> Result<()> {
        self.alive()?;
        let max = self.limits().max_compute_workgroups_per_dimension;
        if groups.iter().any(|&g| g > max) {
            return Err(GpuError::shape(
                k.name,
                format!("grid {groups:?} exceeds {max} workgroups per dimension"),
            ));
        }
        if groups.contains(&0) {
            return Ok(());
        }
        let pipeline = self.pipeline(k.name, k.variant, || {
            let mut s = String::from(k.variant);
            s.push('\n');
            for part in k.parts {
                s.push_str(part);
                s.push('\n');
            }
            s
        });
        let mut words = params.0;
        words.resize(words.len().next_multiple_of(4).max(4), 0);
        // Written through the queue, not mapped at creation: a device lost before its
        // callback has run then gives an error instead of a panic in the mapping.
        let uniform = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(k.name),
            size: (words.len() * 4) as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        self.queue.write_buffer(&uniform, 0, bytemuck::cast_slice(&words));
        let mut entries = vec![wgpu::BindGroupEntry {
            binding: 0,
            resource: uniform.as_entire_binding(),
        }];
        for (i, t) in tensors.iter().enumerate() {
            entries.push(wgpu::BindGroupEntry {
                binding: i as u32 + 1,
                resource: t.binding(),
            });
        }
        let bind = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(k.name),
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        });
        self.with_encoder(|e| {
            let mut pass = e.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some(k.name),
                timestamp_writes: None,
            });
            pass.set_pipeline(&pipeline);
            pass.set_bind_group(0, &bind, &[]);
            pass.dispatch_workgroups(groups[0], groups[1], groups[2]);
        });
        Ok(())
    }
}
