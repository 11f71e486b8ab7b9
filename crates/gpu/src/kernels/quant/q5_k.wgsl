// Q5_K loader part: super-blocks of 256 elements as in GGUF (176 bytes, 4-aligned): word 0 =
// d, dmin (f16 halves), words 1..3 = 12 bytes of packed 6-bit scales and mins (as Q4_K,
// k_scales.wgsl), words 4..11 = 32 bytes qh, words 12..43 = 128 bytes of low nibbles.
// Element l of sub-block s: low nibble s % 2 of byte 32·(s/2) + l, high bit = bit s of
// qh[l]. Value = (d·sc)·q - dmin·mn.

@group(0) @binding(2) var<storage, read> w: array<u32>;

fn w_vec4(base: u32, row: u32, col: u32, cols: u32) -> vec4<f32> {
    let o = (row * (cols / 256u) + col / 256u) * 44u;
    let j = col % 256u;
    let s = j / 32u;
    let l = j % 32u;
    let dd = w[o];
    let sm = k_scale_min(o, s);
    let d1 = half_to_f32(dd & 0xffffu) * f32(sm.x);
    let m1 = half_to_f32(dd >> 16u) * f32(sm.y);
    let lo = (w[o + 12u + 8u * (s / 2u) + l / 4u] >> (4u * (s % 2u))) & 0x0f0f0f0fu;
    let hi = ((w[o + 4u + l / 4u] >> s) & 0x01010101u) << 4u;
    return d1 * vec4<f32>(bytes_u(lo | hi)) - m1;
}
