// Q4_K loader part: super-blocks of 256 elements as in GGUF (144 bytes, 4-aligned): word 0 =
// d, dmin (f16 halves), words 1..3 = 12 bytes of packed 6-bit scales and mins, words 4..35 =
// 128 bytes of nibbles. Sub-block s (32 elements) uses nibble s % 2 of bytes
// 32·(s/2) .. +32 and scale/min s (k_scales.wgsl). Value = (d·sc)·q - dmin·mn.

@group(0) @binding(2) var<storage, read> w: array<u32>;

fn w_vec4(base: u32, row: u32, col: u32, cols: u32) -> vec4<f32> {
    let o = (row * (cols / 256u) + col / 256u) * 36u;
    let j = col % 256u;
    let s = j / 32u;
    let dd = w[o];
    let sm = k_scale_min(o, s);
    let d1 = half_to_f32(dd & 0xffffu) * f32(sm.x);
    let m1 = half_to_f32(dd >> 16u) * f32(sm.y);
    let q = bytes_u((w[o + 4u + 8u * (s / 2u) + (j % 32u) / 4u] >> (4u * (s % 2u))) & 0x0f0f0f0fu);
    return d1 * vec4<f32>(q) - m1;
}
