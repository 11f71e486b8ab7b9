// kv_write: stores the keys (or values) of t new tokens of every batch row into a KV cache
// at columns at .. at + t:  cache[b][h][at + i][d] = new[b * t + i][h * hd + d].
// The projections come out token-major; the cache is head-major so that attention reads
// one head's keys as a contiguous [keys, hd] block.
//
// Shapes: cache [B, nkv, cap, hd]; new [B * t, nkv * hd]. Bindings: 0 p (KvWriteParams, ops/kv.rs),
// 1 new, 2 cache. One thread per element of new (lib/per_element.wgsl).

@group(0) @binding(1) var<storage, read> new_rows: array<f32>;
@group(0) @binding(2) var<storage, read_write> cache: array<f32>;

fn apply(e: u32) {
    let width = p.nkv * p.hd;
    let row = e / width; // b * t + i
    let b = row / p.t;
    let i = row % p.t;
    let h = (e % width) / p.hd;
    let d = e % p.hd;
    cache[((b * p.nkv + h) * p.cap + p.at + i) * p.hd + d] = new_rows[e];
}
