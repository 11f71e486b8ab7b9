//! Recording one compute dispatch: pipeline from the cache, a uniform block of parameters
//! at binding 0, tensors at bindings 1, 2, ... in the order the kernel declares them.
//!
//! Kernel conventions (every .wgsl file under kernels/ follows them):
//! - entry point `main`; the parameters `p` at binding 0 (declared by the dispatch from the
//!   kernel's [`KernelParams`] struct, see below), storage buffers from binding 1;
//! - every declared binding is used (pipelines use automatic layouts, which drop unused
//!   bindings);
//! - 1-D grids may be split over x and y (at most 65535 workgroups per dimension): the
//!   linear workgroup index is `group_index(wid, nwg)` from kernels/lib/grid.wgsl, which
//!   every kernel gets (other shared parts, e.g. lib/reduce.wgsl, are listed in its parts);
//! - the uniform parameters are a [`KernelParams`] struct: its fields, written once in Rust, are
//!   the WGSL `struct Params` the dispatch prepends to the source, so the two cannot differ.

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

/// A kernel's uniform parameters: a `#[repr(C)]` struct of `u32`/`f32` fields (4 bytes each,
/// so the uniform layout is the C layout), declared with [`kernel_params!`]. The kernel reads
/// them as `p`, of the WGSL `struct Params` [`wgsl_params`] writes from [`Self::FIELDS`].
pub(crate) trait KernelParams: bytemuck::Pod {
    /// (name, WGSL type) of each field, in order.
    const FIELDS: &'static [(&'static str, &'static str)];
}

/// Declares a [`KernelParams`] struct: `kernel_params!(AddParams { n: u32 });` (fields may
/// carry doc comments).
macro_rules! kernel_params {
    ($(#[$meta:meta])* $name:ident { $($(#[$fmeta:meta])* $field:ident : $ty:ident),* $(,)? }) => {
        $(#[$meta])*
        #[repr(C)]
        #[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
        pub(crate) struct $name {
            $($(#[$fmeta])* pub $field: $ty,)*
        }
        impl $crate::dispatch::KernelParams for $name {
            const FIELDS: &'static [(&'static str, &'static str)] = &[$((stringify!($field), stringify!($ty))),*];
        }
    };
}
pub(crate) use kernel_params;

/// A size as a kernel parameter; sizes beyond u32 are refused before any kernel runs (tensor
/// sizes are checked against the device's buffer limits, far below).
pub(crate) fn u32_of(v: usize) -> u32 {
    u32::try_from(v).expect("parameter fits u32")
}

/// The WGSL declaration of `P` as the kernel sees it: `struct Params` and `p` at binding 0.
pub(crate) fn wgsl_params<P: KernelParams>() -> String {
    let mut s = String::from("struct Params {\n");
    for (name, ty) in P::FIELDS {
        s.push_str(&format!("    {name}: {ty},\n"));
    }
    s.push_str("}\n@group(0) @binding(0) var<uniform> p: Params;\n");
    s
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
    pub(crate) fn dispatch<P: KernelParams>(
        &self,
        k: &Kernel<'_>,
        params: &P,
        tensors: &[&Tensor],
        groups: [u32; 3],
    ) -> Result<()> {
        self.alive()?;
        let max = self.limits().max_compute_workgroups_per_dimension;
        if groups.iter().any(|&g| g > max) {
            return Err(GpuError::shape(k.name, format!("grid {groups:?} exceeds {max} workgroups per dimension")));
        }
        if groups.contains(&0) {
            return Ok(());
        }
        let pipeline = self.pipeline(k.name, k.variant, || {
            let mut s = String::from(k.variant);
            s.push('\n');
            s.push_str(&wgsl_params::<P>());
            s.push_str(crate::ops::lib::GRID);
            s.push('\n');
            for part in k.parts {
                s.push_str(part);
                s.push('\n');
            }
            s
        });
        let mut words: Vec<u32> = bytemuck::cast_slice(bytemuck::bytes_of(params)).to_vec();
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
        let mut entries = vec![wgpu::BindGroupEntry { binding: 0, resource: uniform.as_entire_binding() }];
        for (i, t) in tensors.iter().enumerate() {
            entries.push(wgpu::BindGroupEntry { binding: i as u32 + 1, resource: t.binding() });
        }
        let bind = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(k.name),
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        });
        self.with_encoder(|e| {
            let mut pass =
                e.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some(k.name), timestamp_writes: None });
            pass.set_pipeline(&pipeline);
            pass.set_bind_group(0, &bind, &[]);
            pass.dispatch_workgroups(groups[0], groups[1], groups[2]);
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    kernel_params!(Sample { n: u32, scale: f32 });

    #[test]
    fn the_wgsl_struct_is_the_rust_struct_field_for_field() {
        assert_eq!(
            wgsl_params::<Sample>(),
            "struct Params {\n    n: u32,\n    scale: f32,\n}\n@group(0) @binding(0) var<uniform> p: Params;\n"
        );
        assert_eq!(
            bytemuck::bytes_of(&Sample { n: 3, scale: 1.5 }),
            [3u32.to_le_bytes(), 1.5f32.to_bits().to_le_bytes()].concat()
        );
    }
}
