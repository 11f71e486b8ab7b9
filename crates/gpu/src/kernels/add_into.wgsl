// add_into: dst += src, elementwise (gradient accumulation). A kernel of its own because
// one buffer cannot be bound both read-only and read-write in a dispatch.
//
// Shapes: dst, src [n] (flattened). Bindings: 0 params, 1 dst, 2 src.
// One thread per element, 256 per workgroup (grid split over x/y, see dispatch.rs).

struct Params {
    n: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<storage, read> src: array<f32>;

@compute @workgroup_size(256)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let i = (wid.x + wid.y * nwg.x) * 256u + lid;
    if (i < p.n) {
        dst[i] = dst[i] + src[i];
    }
}
