// Q4_1 loader part: blocks of 32 elements as in GGUF (already 20 bytes, 4-aligned): word 0 =
// d (f16, low half) and m (f16, high half), words 1..4 = 16 bytes of nibbles as in Q4_0.
// Value = nibble · d + m.

@group(0) @binding(2) var<storage, read> w: array<u32>;

fn w_vec4(base: u32, row: u32, col: u32, cols: u32) -> vec4<f32> {
    let o = (row * (cols / 32u) + col / 32u) * 5u;
    let j = col % 32u;
    let dm = w[o];
    let d = half_to_f32(dm & 0xffffu);
    let m = half_to_f32(dm >> 16u);
    let q = bytes_u((w[o + 1u + (j % 16u) / 4u] >> (4u * (j / 16u))) & 0x0f0f0f0fu);
    return vec4<f32>(q) * d + m;
}
