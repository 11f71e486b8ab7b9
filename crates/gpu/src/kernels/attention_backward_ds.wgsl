// attention_backward_ds: the gradient at the attention scores (before scaling),
//   dP = dO · Vᵀ,   dS = scale · P ⊙ (dP − rowsum(dP ⊙ P)),
// per (batch row, query head), keys == t (the gradient pass has no earlier cache). Query
// head h reads KV head h / group. Masked keys have P = 0, hence dS = 0: their dot products
// are skipped.
//
// Shapes: d_o [B * t, nh * HD] token-major; v [B, nkv, cap, HD] (columns 0..t used);
// probs, ds [B, nh, t, t]. Bindings: 0 p (BackwardDsParams, ops/attention.rs), 1 d_o, 2 v, 3 probs,
// 4 ds.
//
// Prepended constants: HD, QB (query rows per workgroup), KB (keys per tile), WG (threads),
// PAIRS = ceil(QB * KB / WG) (score slots per thread).
// One workgroup per (b, h, block of QB rows) (attention_block.wgsl). Pass 1 walks the keys in
// tiles of KB (V through workgroup memory), writes dP into ds and sums dP ⊙ P per slot;
// the row sums are then reduced in workgroup memory; pass 2 rewrites every dS from the dP
// the same thread stored (so no cross-thread memory ordering is needed). A tile where the
// whole block has P = 0 loads no V (the flags alternate between tiles so that the barrier
// of the uniform load separates setting, reading and clearing them).

@group(0) @binding(1) var<storage, read> d_o: array<f32>;
@group(0) @binding(2) var<storage, read> vc: array<f32>;
@group(0) @binding(3) var<storage, read> probs: array<f32>;
@group(0) @binding(4) var<storage, read_write> ds: array<f32>;

var<workgroup> part: array<f32, QB * KB>;
var<workgroup> rs: array<f32, QB>;
var<workgroup> live: array<u32, 2>;

fn row_at(i: u32) -> f32 {
    return d_o[i];
}

fn cache_at(i: u32, values: bool) -> f32 {
    return vc[i];
}

fn apply_block(blk: Block, tid: u32) {
    let nq = blk.nq;
    let pbase = ((blk.b * p.nh + blk.h) * p.t + blk.i0) * p.t;
    load_rows(blk, tid);
    var acc: array<f32, PAIRS>;
    var pr: array<f32, PAIRS>;
    if (tid == 0u) {
        live[0] = 0u;
    }

    var step = 0u;
    for (var j0 = 0u; j0 < p.t; j0 += KB) {
        let nk = min(KB, p.t - j0);
        let cur = step & 1u;
        step++;
        workgroupBarrier();
        if (tid == 0u) {
            live[1u - cur] = 0u;
        }
        for (var c = 0u; c < PAIRS; c++) {
            let e = tid + c * WG;
            let r = e / KB;
            let jj = e % KB;
            pr[c] = 0.0;
            if (e < QB * KB && r < nq && jj < nk) {
                pr[c] = probs[pbase + r * p.t + j0 + jj];
                if (pr[c] != 0.0) {
                    live[cur] = 1u;
                }
            }
        }
        if (workgroupUniformLoad(&live[cur]) == 0u) {
            for (var c = 0u; c < PAIRS; c++) {
                let e = tid + c * WG;
                let r = e / KB;
                let jj = e % KB;
                if (e < QB * KB && r < nq && jj < nk) {
                    ds[pbase + r * p.t + j0 + jj] = 0.0;
                }
            }
            continue;
        }
        load_cache_tile(blk, j0, nk, tid, true);
        workgroupBarrier();
        for (var c = 0u; c < PAIRS; c++) {
            let e = tid + c * WG;
            let r = e / KB;
            let jj = e % KB;
            if (e < QB * KB && r < nq && jj < nk) {
                var dot = 0.0;
                if (pr[c] != 0.0) {
                    for (var d = 0u; d < HD; d++) {
                        dot += rows_s[r * HD + d] * kv[jj * KS + d];
                    }
                }
                ds[pbase + r * p.t + j0 + jj] = dot;
                acc[c] += dot * pr[c];
            }
        }
    }

    for (var c = 0u; c < PAIRS; c++) {
        let e = tid + c * WG;
        if (e < QB * KB) {
            part[e] = acc[c];
        }
    }
    workgroupBarrier();
    if (tid < QB) {
        var s = 0.0;
        for (var jj = 0u; jj < KB; jj++) {
            s += part[tid * KB + jj];
        }
        rs[tid] = s;
    }
    workgroupBarrier();

    for (var j0 = 0u; j0 < p.t; j0 += KB) {
        let nk = min(KB, p.t - j0);
        for (var c = 0u; c < PAIRS; c++) {
            let e = tid + c * WG;
            let r = e / KB;
            let jj = e % KB;
            if (e < QB * KB && r < nq && jj < nk) {
                let i = pbase + r * p.t + j0 + jj;
                ds[i] = p.scale * probs[i] * (ds[i] - rs[r]);
            }
        }
    }
}
