// The w_vec4 (see matmul.wgsl) of the weight loaders that read elements one by one
// (matmul_b_f32.wgsl, quant/f16.wgsl, quant/bf16.wgsl): each defines
// `fn w_elem(e: u32) -> f32`, element e of the row-major weight. Any cols (no alignment):
// elements past `cols` read as zero.

fn w_vec4(base: u32, row: u32, col: u32, cols: u32) -> vec4<f32> {
    let e = base + row * cols + col;
    var v = vec4<f32>(0.0);
    v.x = w_elem(e);
    if (col + 1u < cols) {
        v.y = w_elem(e + 1u);
    }
    if (col + 2u < cols) {
        v.z = w_elem(e + 2u);
    }
    if (col + 3u < cols) {
        v.w = w_elem(e + 3u);
    }
    return v;
}
