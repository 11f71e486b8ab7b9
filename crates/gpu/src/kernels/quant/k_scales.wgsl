// Shared by the Q4_K and Q5_K loaders, prepended before them (after common.wgsl): their
// super-blocks hold the same 12 bytes of packed 6-bit scales and mins at words 1..3.

// (scale, min) of sub-block s from the 12 scale bytes at words o+1.. (ggml's get_scale_min_k4).
fn k_scale_min(o: u32, s: u32) -> vec2<u32> {
    if (s < 4u) {
        return vec2<u32>(byte_at(o + 1u, s) & 63u, byte_at(o + 1u, s + 4u) & 63u);
    }
    let hi = byte_at(o + 1u, s + 4u);
    return vec2<u32>(
        (hi & 0xfu) | ((byte_at(o + 1u, s - 4u) >> 6u) << 4u),
        (hi >> 4u) | ((byte_at(o + 1u, s) >> 6u) << 4u),
    );
}
