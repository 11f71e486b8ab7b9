// attention: o = softmax(scale · q kᵀ + mask) v per (batch row, query head), with grouped
// KV heads (query head h reads KV head h / group) and an additive mask (finite -1e30 for
// hidden keys, as the CPU engine), over the first `keys` columns of a KV cache. The new
// queries are the last t of those columns; which keys each one sees is the mask's business.
//
// Shapes: q, o [B * t, nh * HD] token-major; k, v [B, nkv, cap, HD]; mask [B, t, keys];
// probs [B, nh, t, keys] (written when want_probs, else a dummy that is never touched).
// Bindings: 0 p (AttentionParams, ops/attention.rs), 1 q, 2 k, 3 v, 4 mask, 5 o, 6 probs.
//
// Prepended constants: HD (head dim), QB (queries per workgroup), KB (keys per tile), WG
// (threads), ACC = ceil(QB * HD / WG) (output elements per thread).
// One workgroup per (b, h, block of QB queries) (attention_block.wgsl). It walks the keys in
// tiles of KB with an online (running max) softmax: per tile, K goes through workgroup
// memory, the QB × KB scores are formed, each row's max and sum are updated and the running
// output rescaled, then V goes through the same memory. With want_probs the raw scores are
// stored as they are formed and normalized at the end by the thread that wrote them (so no
// cross-thread memory ordering is needed), with the final max and sum.
// Tiles where every query of the block sees no key (the causal upper triangle, other
// sequences of a pack) skip the dot products, V and the softmax update: exact, since a
// hidden score (mask ≤ -1e29) is the mask value itself in f32 and its weight ends up 0. A
// row that sees no key at all (never made by the engine) must then average over every key,
// as the reference softmax does: if one occurs, the block is run again without skipping.
// Workgroup memory: QB·HD + KB·(HD+1) + QB·KB + 3·QB floats (≤ 15 KB for the chosen sizes).

@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> kc: array<f32>;
@group(0) @binding(3) var<storage, read> vc: array<f32>;
@group(0) @binding(4) var<storage, read> mask: array<f32>;
@group(0) @binding(5) var<storage, read_write> o: array<f32>;
@group(0) @binding(6) var<storage, read_write> probs: array<f32>;

// Below any masked score (-1e30 + a finite score), so exp(NONE - max) is exactly 0.
const NONE: f32 = -3.0e38;
// Masks at or below this hide a key (the engine uses -1e30).
const HIDDEN: f32 = -1.0e29;

var<workgroup> sc: array<f32, QB * KB>;
var<workgroup> m_row: array<f32, QB>;
var<workgroup> l_row: array<f32, QB>;
var<workgroup> a_row: array<f32, QB>;
// Whether some query of the block sees a key of the tile; whether some row saw none.
var<workgroup> live: u32;
var<workgroup> blind: u32;

fn row_at(i: u32) -> f32 {
    return q[i];
}

fn cache_at(i: u32, values: bool) -> f32 {
    if (values) {
        return vc[i];
    }
    return kc[i];
}

fn apply_block(blk: Block, tid: u32) {
    let nq = blk.nq;
    let mbase = (blk.b * p.t + blk.i0) * p.keys;
    let pbase = ((blk.b * p.nh + blk.h) * p.t + blk.i0) * p.keys;
    load_rows(blk, tid);
    var acc: array<f32, ACC>;
    var skip = true;
    loop {
        if (tid < QB) {
            m_row[tid] = NONE;
            l_row[tid] = 0.0;
        }
        for (var c = 0u; c < ACC; c++) {
            acc[c] = 0.0;
        }
        for (var j0 = 0u; j0 < p.keys; j0 += KB) {
            let nk = min(KB, p.keys - j0);
            workgroupBarrier(); // the previous tile's V is no longer read
            if (tid == 0u) {
                live = 0u;
                blind = 0u;
            }
            load_cache_tile(blk, j0, nk, tid, false);
            workgroupBarrier();
            for (var e = tid; e < QB * KB; e += WG) {
                let r = e / KB;
                let jj = e % KB;
                var s = NONE;
                if (r < nq && jj < nk) {
                    s = mask[mbase + r * p.keys + j0 + jj];
                    if (s > HIDDEN || !skip) {
                        var dot = 0.0;
                        for (var d = 0u; d < HD; d++) {
                            dot += rows_s[r * HD + d] * kv[jj * KS + d];
                        }
                        s += dot * p.scale;
                        live = 1u;
                    }
                    if (p.want_probs != 0u) {
                        probs[pbase + r * p.keys + j0 + jj] = s;
                    }
                }
                sc[e] = s;
            }
            // Also the barrier after which K is no longer read and the scores are complete.
            if (workgroupUniformLoad(&live) == 0u) {
                continue;
            }
            load_cache_tile(blk, j0, nk, tid, true);
            if (tid < QB) {
                let r = tid;
                let m_old = m_row[r];
                var mx = m_old;
                for (var jj = 0u; jj < nk; jj++) {
                    mx = max(mx, sc[r * KB + jj]);
                }
                var sum = 0.0;
                for (var jj = 0u; jj < nk; jj++) {
                    let e = exp(sc[r * KB + jj] - mx);
                    sc[r * KB + jj] = e;
                    sum += e;
                }
                let alpha = exp(m_old - mx);
                l_row[r] = l_row[r] * alpha + sum;
                m_row[r] = mx;
                a_row[r] = alpha;
            }
            workgroupBarrier();
            for (var c = 0u; c < ACC; c++) {
                let e = tid + c * WG;
                if (e < QB * HD) {
                    let r = e / HD;
                    let d = e % HD;
                    var acc_v = acc[c] * a_row[r];
                    for (var jj = 0u; jj < nk; jj++) {
                        acc_v += sc[r * KB + jj] * kv[jj * KS + d];
                    }
                    acc[c] = acc_v;
                }
            }
        }
        if (tid < nq && m_row[tid] <= HIDDEN) {
            blind = 1u;
        }
        let rerun = workgroupUniformLoad(&blind) != 0u;
        if (!skip || !rerun) {
            break;
        }
        skip = false;
    }

    for (var c = 0u; c < ACC; c++) {
        let e = tid + c * WG;
        let r = e / HD;
        if (e < QB * HD && r < nq) {
            o[blk.rbase + r * blk.width + e % HD] = acc[c] / l_row[r];
        }
    }
    if (p.want_probs != 0u) {
        for (var j0 = 0u; j0 < p.keys; j0 += KB) {
            let nk = min(KB, p.keys - j0);
            for (var e = tid; e < QB * KB; e += WG) {
                let r = e / KB;
                let jj = e % KB;
                if (r < nq && jj < nk) {
                    let i = pbase + r * p.keys + j0 + jj;
                    probs[i] = exp(probs[i] - m_row[r]) / l_row[r];
                }
            }
        }
    }
}
