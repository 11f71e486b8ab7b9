// logit_stats: what the scorer needs from one next-token distribution (backend/mod.rs
// step_stats), without reading the logits back: the argmax (first index among equal
// maxima), p_max = 1/z, p_second = e^(second − max)/z and the entropy in nats
// H = ln z − Σ e·d / z, with d = logit − max, e = e^d, z = Σ e. `second` is the largest
// logit other than the argmax one, so a duplicated maximum gives p_second = p_max, as the
// CPU loop does.
//
// Shapes: logits [rows, v]; arg u32 [rows]; stats [rows, 3] (p_max, p_second, entropy).
// Bindings: 0 p (LogitStatsParams, ops/stats.rs), 1 logits, 2 arg, 3 stats.
// One workgroup of 256 threads per row (lib/per_row.wgsl, lib/reduce.wgsl); two passes
// over the row: the max, then the sums shifted by it.

@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read_write> arg: array<u32>;
@group(0) @binding(3) var<storage, read_write> stats: array<f32>;

// Stands for "no value yet" without infinities, which WGSL does not guarantee.
// -f32::MAX written exactly (hex): the decimal -3.40282347e+38 rounds past f32's range, which
// naga accepts but Chromium's WGSL compiler (Tint) rejects.
const LOWEST: f32 = -0x1.fffffep+127f;
const NONE: u32 = 0xffffffffu;

var<workgroup> best: array<f32, 256>;
var<workgroup> second: array<f32, 256>;
var<workgroup> idx: array<u32, 256>;

fn apply_row(row: u32, lid: u32) {
    let base = row * p.v;
    // Each thread scans its indices in increasing order, so `>` keeps the first maximum.
    var b = LOWEST;
    var s = LOWEST;
    var a = NONE;
    for (var i = lid; i < p.v; i += 256u) {
        let x = logits[base + i];
        if (a == NONE || x > b) {
            s = select(s, b, a != NONE);
            b = x;
            a = i;
        } else {
            s = max(s, x);
        }
    }
    best[lid] = b;
    second[lid] = s;
    idx[lid] = a;
    workgroupBarrier();
    for (var stride = 128u; stride > 0u; stride >>= 1u) {
        if (lid < stride) {
            let b1 = best[lid];
            let a1 = idx[lid];
            let b2 = best[lid + stride];
            let a2 = idx[lid + stride];
            // The other side's maximum becomes a candidate for second (NONE: no values).
            let take2 = a2 != NONE && (a1 == NONE || b2 > b1 || (b2 == b1 && a2 < a1));
            if (take2) {
                second[lid] = select(second[lid + stride], max(second[lid + stride], b1), a1 != NONE);
                best[lid] = b2;
                idx[lid] = a2;
            } else if (a2 != NONE) {
                second[lid] = max(second[lid], b2);
            }
        }
        workgroupBarrier();
    }
    let m = best[0];
    let sec = second[0];
    let am = idx[0];
    workgroupBarrier();

    var z = 0.0;
    var zl = 0.0;
    for (var i = lid; i < p.v; i += 256u) {
        let d = logits[base + i] - m;
        let e = exp(d);
        z += e;
        // e underflows to 0 far below the max; 0 · d stays 0 (never 0 · −inf).
        zl += select(e * d, 0.0, e == 0.0);
    }
    let zt = wg_sum(lid, z);
    let zlt = wg_sum(lid, zl);
    if (lid == 0u) {
        arg[row] = select(am, 0u, am == NONE);
        stats[row * 3u] = 1.0 / zt;
        // No second value (v = 1): probability 0; the clamp keeps exp's argument finite.
        stats[row * 3u + 1u] = select(exp(max(sec - m, -200.0)) / zt, 0.0, sec == LOWEST);
        stats[row * 3u + 2u] = log(zt) - zlt / zt;
    }
}
