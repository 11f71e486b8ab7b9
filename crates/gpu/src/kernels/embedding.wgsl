// embedding: out[i][:] = W[ids[i]][:], dequantized through a weight loader part prepended to
// this file (matmul_b_f32.wgsl or kernels/quant/*.wgsl, which declare binding 2 and define
// w_vec4; see matmul.wgsl).
//
// A weight larger than one binding is split by rows; one dispatch per chunk (rows row0 ..
// row0 + nrows of the table) writes the rows whose id falls in it. Ids ≥ total (invalid:
// the engine checks ids first) read nothing and give zeros, written by the first chunk.
//
// Shapes: ids u32 [n]; out f32 [n, cols]. Bindings: 0 p (EmbeddingParams, ops/quant/mod.rs), 1 ids,
// 2 w (loader), 3 out. One thread per 4 consecutive outputs of a row (cpr = ceil(cols / 4) per row;
// lib/per_element.wgsl).

@group(0) @binding(1) var<storage, read> ids: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

fn apply(idx: u32) {
    let i = idx / p.cpr;
    let col = (idx % p.cpr) * 4u;
    let id = ids[i];
    var v = vec4<f32>(0.0);
    if (id >= p.row0 && id - p.row0 < p.nrows) {
        v = w_vec4(0u, id - p.row0, col, p.cols);
    } else if (p.first == 0u || id < p.total) {
        return;
    }
    let o = i * p.cols + col;
    out[o] = v.x;
    if (col + 1u < p.cols) {
        out[o + 1u] = v.y;
    }
    if (col + 2u < p.cols) {
        out[o + 2u] = v.z;
    }
    if (col + 3u < p.cols) {
        out[o + 3u] = v.w;
    }
}
