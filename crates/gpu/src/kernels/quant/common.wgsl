// Shared by the quantized loaders (kernels/quant/*.wgsl), prepended before them.
//
// Every loader has `fn w_vec4(base, row, col, cols) -> vec4<f32>` (see matmul.wgsl):
// W[row][col..col+4] of a weight whose rows are `cols` elements stored as ggml blocks along
// the row, repacked on upload (ops/quant.rs) so that each block starts on a 4-byte boundary;
// `w` is the chunk's words and `base` is unused (quantized weights are never batched). The
// 4 elements always lie in one block and in one u32 word of quants, so a call reads one
// quant word plus the block's scale words (shared with the neighbouring threads).
//
// Exactness: every dequantized value equals candle's `to_float`: the scales are converted
// from f16 bit by bit (subnormals included, which hardware f16 unpacking may flush), and
// each value is `scale · q (- min)` where the product is exact in f32 (≤ 24 significant
// bits), so a fused multiply-add rounds the same as candle's separate operations.

// f16 bits (the low 16 bits of bits) → f32, exactly.
fn half_to_f32(bits: u32) -> f32 {
    let h = bits & 0xffffu;
    let sign = (h & 0x8000u) << 16u;
    let e = (h >> 10u) & 0x1fu;
    let m = h & 0x3ffu;
    if (e == 0u) {
        // Zero or subnormal: m · 2^-24 is exact in f32.
        return bitcast<f32>(sign | bitcast<u32>(f32(m) * 5.9604644775390625e-8));
    }
    if (e == 31u) {
        return bitcast<f32>(sign | 0x7f800000u | (m << 13u));
    }
    return bitcast<f32>(sign | ((e + 112u) << 23u) | (m << 13u));
}

// The 4 bytes of a word as unsigned values.
fn bytes_u(v: u32) -> vec4<u32> {
    return vec4<u32>(v & 0xffu, (v >> 8u) & 0xffu, (v >> 16u) & 0xffu, v >> 24u);
}

// Byte i of the words w[o..].
fn byte_at(o: u32, i: u32) -> u32 {
    return (w[o + i / 4u] >> (8u * (i % 4u))) & 0xffu;
}
