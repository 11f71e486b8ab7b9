// rmsnorm_backward: dx of y = w ⊙ x · inv (inv = 1/rms(x) from the forward pass), the
// weight being frozen. As backward.rs: g = dy ⊙ w, dot = Σ g·x / h,
//   dx = g · inv − x · inv³ · dot.
//
// Shapes: dy, x, dx [rows, h]; inv [rows]; w [h].
// Bindings: 0 params, 1 dy, 2 x, 3 inv, 4 w, 5 dx.
// One workgroup of 256 threads per row (grid split over x/y, see dispatch.rs).
// Needs lib/reduce.wgsl.

struct Params {
    rows: u32,
    h: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> inv: array<f32>;
@group(0) @binding(4) var<storage, read> w: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(256)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let row = group_index(wid, nwg);
    if (row >= p.rows) {
        return;
    }
    let base = row * p.h;
    var s = 0.0;
    for (var i = lid; i < p.h; i += 256u) {
        s += dy[base + i] * w[i] * x[base + i];
    }
    let total = wg_sum(lid, s);
    let r = inv[row];
    let coef = r * r * r * (total / f32(p.h));
    for (var i = lid; i < p.h; i += 256u) {
        dx[base + i] = dy[base + i] * w[i] * r - x[base + i] * coef;
    }
}
