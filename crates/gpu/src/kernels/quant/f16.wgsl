// F16 loader part: row-major f16 elements, two per word (low half first), the chunk padded
// to a whole word. Any cols: elements past `cols` read as zero.

@group(0) @binding(2) var<storage, read> w: array<u32>;

fn f16_elem(e: u32) -> f32 {
    return half_to_f32(w[e / 2u] >> (16u * (e % 2u)));
}

fn w_vec4(base: u32, row: u32, col: u32, cols: u32) -> vec4<f32> {
    let e = row * cols + col;
    var v = vec4<f32>(0.0);
    v.x = f16_elem(e);
    if (col + 1u < cols) {
        v.y = f16_elem(e + 1u);
    }
    if (col + 2u < cols) {
        v.z = f16_elem(e + 2u);
    }
    if (col + 3u < cols) {
        v.w = f16_elem(e + 3u);
    }
    return v;
}
