// add: out = a + b, elementwise (residual connections).
//
// Shapes: a, b, out [n] (any shape, flattened). Bindings: 0 params, 1 a, 2 b, 3 out.
// One thread per element, 256 per workgroup (grid split over x/y, see dispatch.rs).

struct Params {
    n: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let i = (wid.x + wid.y * nwg.x) * 256u + lid;
    if (i < p.n) {
        out[i] = a[i] + b[i];
    }
}
