// silu_mul: act = silu(gate) * up, the gated MLP activation (layer.rs: gate.silu() * up).
//
// Shapes: gate, up, act [n] (flattened [T, I]). Bindings: 0 params, 1 gate, 2 up, 3 act.
// One thread per element, 256 per workgroup (grid split over x/y, see dispatch.rs).

struct Params {
    n: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> gate: array<f32>;
@group(0) @binding(2) var<storage, read> up: array<f32>;
@group(0) @binding(3) var<storage, read_write> act: array<f32>;

// exp of a non-positive argument only: WGSL leaves overflow to infinity undefined.
fn sigmoid(x: f32) -> f32 {
    let e = exp(-abs(x));
    let r = 1.0 / (1.0 + e);
    return select(e * r, r, x >= 0.0);
}

@compute @workgroup_size(256)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let i = (wid.x + wid.y * nwg.x) * 256u + lid;
    if (i < p.n) {
        let g = gate[i];
        act[i] = g * sigmoid(g) * up[i];
    }
}
