// Loader part of matmul.wgsl (and embedding.wgsl) for an f32 weight: W[row][col] is
// w[base + row * cols + col]. Any cols (no alignment): elements past `cols` read as zero.

@group(0) @binding(2) var<storage, read> w: array<f32>;

fn w_vec4(base: u32, row: u32, col: u32, cols: u32) -> vec4<f32> {
    let i = base + row * cols + col;
    var v = vec4<f32>(0.0);
    v.x = w[i];
    if (col + 1u < cols) {
        v.y = w[i + 1u];
    }
    if (col + 2u < cols) {
        v.z = w[i + 2u];
    }
    if (col + 3u < cols) {
        v.w = w[i + 3u];
    }
    return v;
}
