// rmsnorm: y[r] = w ⊙ x[r] / sqrt(mean(x[r]²) + eps), and inv[r] = 1 / sqrt(mean(x[r]²) + eps)
// (kept for the backward pass), as Hugging Face's LlamaRMSNorm computes it in f32.
//
// Shapes: x, y [rows, h]; w [h]; inv [rows]. Bindings: 0 p (RmsNormParams, ops/norm.rs), 1 x, 2 w,
// 3 y, 4 inv. One workgroup of 256 threads per row (lib/per_row.wgsl, lib/reduce.wgsl).

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read_write> inv: array<f32>;

fn apply_row(row: u32, lid: u32) {
    let base = row * p.h;
    var s = 0.0;
    for (var i = lid; i < p.h; i += 256u) {
        let v = x[base + i];
        s += v * v;
    }
    let r = 1.0 / sqrt(wg_sum(lid, s) / f32(p.h) + p.eps);
    for (var i = lid; i < p.h; i += 256u) {
        y[base + i] = w[i] * (x[base + i] * r);
    }
    if (lid == 0u) {
        inv[row] = r;
    }
}
