// Q6_K loader part: super-blocks of 256 elements, GGUF's 210 bytes padded to 53 words:
// words 0..31 = 128 bytes ql (low nibbles), 32..47 = 64 bytes qh (2 high bits each),
// 48..51 = 16 int8 scales, word 52 = d (f16, low half). Element j: half h = j/128, quarter
// t = (j%128)/32, l = j%32; low nibble t/2 of ql[64h + 32(t%2) + l], bits 2t.. of
// qh[32h + l], scale sc[8h + l/16 + 2t]. Value = (d·sc)·(q - 32).

@group(0) @binding(2) var<storage, read> w: array<u32>;

fn w_vec4(base: u32, row: u32, col: u32, cols: u32) -> vec4<f32> {
    let o = (row * (cols / 256u) + col / 256u) * 53u;
    let j = col % 256u;
    let h = j / 128u;
    let t = (j % 128u) / 32u;
    let l = j % 32u;
    let lo = (w[o + 16u * h + 8u * (t % 2u) + l / 4u] >> (4u * (t / 2u))) & 0x0f0f0f0fu;
    let hi = ((w[o + 32u + 8u * h + l / 4u] >> (2u * t)) & 0x03030303u) << 4u;
    let sc = i32(byte_at(o + 48u, 8u * h + l / 16u + 2u * t) << 24u) >> 24u;
    let d = half_to_f32(w[o + 52u]) * f32(sc);
    return d * vec4<f32>(vec4<i32>(bytes_u(lo | hi)) - vec4<i32>(32));
}
