// Loader part of matmul.wgsl for an f32 weight: W[z] is [rows, cols] row-major at
// w[z * w_batch + row * cols + col], where cols is K with B_T (W is [N,K]) and N without.

@group(0) @binding(2) var<storage, read> w: array<f32>;

fn w_at(z: u32, row: u32, col: u32) -> f32 {
    var cols = p.n;
    if (B_T) {
        cols = p.k;
    }
    return w[z * p.w_batch + row * cols + col];
}
