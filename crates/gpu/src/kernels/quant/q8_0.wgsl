// Q8_0 loader part: blocks of 32 elements, repacked to 9 words: word 0 = d (f16, low half),
// words 1..8 = the 32 int8 quants. Value = q · d.

@group(0) @binding(2) var<storage, read> w: array<u32>;

fn w_vec4(base: u32, row: u32, col: u32, cols: u32) -> vec4<f32> {
    let o = (row * (cols / 32u) + col / 32u) * 9u;
    let d = half_to_f32(w[o]);
    let q = w[o + 1u + (col % 32u) / 4u];
    let v = vec4<i32>(i32(q << 24u), i32(q << 16u), i32(q << 8u), i32(q)) >> vec4<u32>(24u);
    return vec4<f32>(v) * d;
}
