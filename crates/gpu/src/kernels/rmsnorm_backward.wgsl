// rmsnorm_backward: dx of y = w ⊙ x · inv (inv = 1/rms(x) from the forward pass), the
// weight being frozen. As backward.rs: g = dy ⊙ w, dot = Σ g·x / h,
//   dx = g · inv − x · inv³ · dot.
//
// Shapes: dy, x, dx [rows, h]; inv [rows]; w [h].
// Bindings: 0 p (RmsNormBackwardParams, ops/norm_backward.rs), 1 dy, 2 x, 3 inv, 4 w, 5 dx.
// One workgroup of 256 threads per row (lib/per_row.wgsl, lib/reduce.wgsl).

@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> inv: array<f32>;
@group(0) @binding(4) var<storage, read> w: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;

fn apply_row(row: u32, lid: u32) {
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
