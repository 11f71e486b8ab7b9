// Q5_K loader part: super-blocks of 256 elements as in GGUF (176 bytes, 4-aligned): word 0 =
// d, dmin (f16 halves), words 1..3 = 12 bytes of packed 6-bit scales and mins (as Q4_K),
// words 4..11 = 32 bytes qh, words 12..43 = 128 bytes of low nibbles. Element l of
// sub-block s: low nibble s % 2 of byte 32·(s/2) + l, high bit = bit s of qh[l].
// Value = (d·sc)·q - dmin·mn. Needs q4_k.wgsl's k4_scale_min, defined here again so each
// loader part stands alone.

@group(0) @binding(2) var<storage, read> w: array<u32>;

fn k5_scale_min(o: u32, s: u32) -> vec2<u32> {
    if (s < 4u) {
        return vec2<u32>(byte_at(o + 1u, s) & 63u, byte_at(o + 1u, s + 4u) & 63u);
    }
    let hi = byte_at(o + 1u, s + 4u);
    return vec2<u32>(
        (hi & 0xfu) | ((byte_at(o + 1u, s - 4u) >> 6u) << 4u),
        (hi >> 4u) | ((byte_at(o + 1u, s) >> 6u) << 4u),
    );
}

fn w_vec4(base: u32, row: u32, col: u32, cols: u32) -> vec4<f32> {
    let o = (row * (cols / 256u) + col / 256u) * 44u;
    let j = col % 256u;
    let s = j / 32u;
    let l = j % 32u;
    let dd = w[o];
    let sm = k5_scale_min(o, s);
    let d1 = half_to_f32(dd & 0xffffu) * f32(sm.x);
    let m1 = half_to_f32(dd >> 16u) * f32(sm.y);
    let lo = (w[o + 12u + 8u * (s / 2u) + l / 4u] >> (4u * (s % 2u))) & 0x0f0f0f0fu;
    let hi = ((w[o + 4u + l / 4u] >> s) & 0x01010101u) << 4u;
    return d1 * vec4<f32>(bytes_u(lo | hi)) - m1;
}
