// sketch: adds the count-sketch of one piece of a flattened gradient to rows of a sketch
// store, S[h(i)] += s(i) g[i] (h, s: the engine's seeded hash, grad/sketch.rs). The hash is
// 64-bit arithmetic WGSL lacks, and a scatter would need float atomics WGSL lacks too, so
// the host inverts the hash of the piece once into a CSR over the buckets it touches: the
// t-th touched bucket is buckets[t] and its coordinates are entries[offsets[t] ..
// offsets[t + 1]], increasing, each `i | sign << 31` (i counted from the piece's start).
// Each thread starts from the stored value and adds its bucket's terms one by one, in
// coordinate order: bit for bit the sums of the CPU's GradStore::add_block when the pieces
// arrive in the same order.
//
// Only touched buckets t0 .. t0 + n are handled, those inside one column block of the
// store (columns c0 ..): out[(row0 + b) * ldo + buckets[t] - c0] for example b of g.
// Shapes: buckets u32 [nt]; offsets u32 [nt + 1]; entries u32 [len]; g [B, len];
// out [rows, ldo]. Bindings: 0 p (SketchParams, ops/sketch.rs), 1 buckets, 2 offsets, 3 entries, 4
// g, 5 out. One thread per (example b, touched bucket) (lib/per_element.wgsl).

@group(0) @binding(1) var<storage, read> buckets: array<u32>;
@group(0) @binding(2) var<storage, read> offsets: array<u32>;
@group(0) @binding(3) var<storage, read> entries: array<u32>;
@group(0) @binding(4) var<storage, read> g: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

fn apply(i: u32) {
    let b = i / p.nt;
    let t = p.t0 + i % p.nt;
    let o = (p.row0 + b) * p.ldo + buckets[t] - p.c0;
    var acc = out[o];
    for (var e = offsets[t]; e < offsets[t + 1u]; e++) {
        let c = entries[e];
        let v = g[b * p.len + (c & 0x7fffffffu)];
        acc += select(v, -v, (c >> 31u) == 1u);
    }
    out[o] = acc;
}
