// Loader part of matmul.wgsl (and embedding.wgsl) for an f32 weight: W[row][col] is
// w[base + row * cols + col]; w_vec4 from lib/w_elements.wgsl.

@group(0) @binding(2) var<storage, read> w: array<f32>;

fn w_elem(e: u32) -> f32 {
    return w[e];
}
