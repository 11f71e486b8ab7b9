// gather_rows: dst[i] = src[rows[i]] for leading-dim rows of any trailing shape, copied as
// raw 32-bit words (f32 or u32 data alike, bit for bit). Keeps the live rows of a KV cache
// during generation, or picks the last-token rows of hidden states. rows[i] = 0xffffffff
// writes a row of zeros, which makes the same kernel the scatter (gather's transpose) too.
//
// Shapes: src [R, width] words; rows [n] u32 (each < R or 0xffffffff, checked on the host); dst
// [n, width]. Bindings: 0 p (GatherParams, ops/kv.rs), 1 src, 2 rows, 3 dst. One thread per word of
// dst (lib/per_element.wgsl).

@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read> rows: array<u32>;
@group(0) @binding(3) var<storage, read_write> dst: array<u32>;

fn apply(e: u32) {
    let r = rows[e / p.width];
    if (r == 0xffffffffu) {
        dst[e] = 0u; // the bits of 0.0f
    } else {
        dst[e] = src[r * p.width + e % p.width];
    }
}
