// scale: dst *= s, elementwise, in place.
//
// Shapes: dst [n] (flattened). Bindings: 0 params, 1 dst.
// One thread per element, 256 per workgroup (grid split over x/y, see dispatch.rs).

struct Params {
    n: u32,
    s: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(256)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let i = (wid.x + wid.y * nwg.x) * 256u + lid;
    if (i < p.n) {
        dst[i] = dst[i] * p.s;
    }
}
