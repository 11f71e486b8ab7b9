// sketch: count-sketch of a flattened gradient, S[k] = Σ_{h(i)=k} s(i) g[i], gathered per
// bucket (WGSL has no float atomics to scatter with). The hash is grad/sketch.rs's, a
// 64-bit mix WGSL cannot compute, so the host lays it out once as a CSR: the coordinates
// of bucket k are entries[offsets[k] .. offsets[k + 1]], in increasing order, each
// `i | sign << 31`. Adding them in that order from 0 gives bit for bit the sum that the
// CPU's GradStore::add_block forms when the blocks arrive in offset order.
//
// Shapes: offsets u32 [size + 1]; entries u32 [len]; g [len]; out [size].
// Bindings: 0 params, 1 offsets, 2 entries, 3 g, 4 out.
// One thread per bucket, 256 per workgroup (grid split over x/y, see dispatch.rs).

struct Params {
    size: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> offsets: array<u32>;
@group(0) @binding(2) var<storage, read> entries: array<u32>;
@group(0) @binding(3) var<storage, read> g: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let k = (wid.x + wid.y * nwg.x) * 256u + lid;
    if (k >= p.size) {
        return;
    }
    var acc = 0.0;
    for (var e = offsets[k]; e < offsets[k + 1u]; e++) {
        let c = entries[e];
        let v = g[c & 0x7fffffffu];
        acc += select(v, -v, (c >> 31u) == 1u);
    }
    out[k] = acc;
}
