// Q4_0 loader part: blocks of 32 elements, repacked to 5 words: word 0 = d (f16, low half),
// words 1..4 = 16 bytes; element j < 16 is the low nibble of byte j, element j + 16 the
// high nibble. Value = (nibble - 8) · d.

@group(0) @binding(2) var<storage, read> w: array<u32>;

fn w_vec4(base: u32, row: u32, col: u32, cols: u32) -> vec4<f32> {
    let o = (row * (cols / 32u) + col / 32u) * 5u;
    let j = col % 32u;
    let d = half_to_f32(w[o]);
    let q = bytes_u((w[o + 1u + (j % 16u) / 4u] >> (4u * (j / 16u))) & 0x0f0f0f0fu);
    return vec4<f32>(vec4<i32>(q) - vec4<i32>(8)) * d;
}
