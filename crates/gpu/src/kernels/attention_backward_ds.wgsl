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
// One workgroup per (b, h, block of QB rows); grid split over x/y. Pass 1 walks the keys in
// tiles of KB (V through workgroup memory), writes dP into ds and sums dP ⊙ P per slot;
// the row sums are then reduced in workgroup memory; pass 2 rewrites every dS from the dP
// the same thread stored (so no cross-thread memory ordering is needed). A tile where the
// whole block has P = 0 loads no V (the flags alternate between tiles so that the barrier
// of the uniform load separates setting, reading and clearing them).

@group(0) @binding(1) var<storage, read> d_o: array<f32>;
@group(0) @binding(2) var<storage, read> vc: array<f32>;
@group(0) @binding(3) var<storage, read> probs: array<f32>;
@group(0) @binding(4) var<storage, read_write> ds: array<f32>;

const KS: u32 = HD + 1u;

var<workgroup> gs: array<f32, QB * HD>;
var<workgroup> vs: array<f32, KB * KS>;
var<workgroup> part: array<f32, QB * KB>;
var<workgroup> rs: array<f32, QB>;
var<workgroup> live: array<u32, 2>;

@compute @workgroup_size(WG)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) tid: u32,
) {
    let z = group_index(wid, nwg);
    if (z >= p.nwg) {
        return;
    }
    let qb = z % p.nqb;
    let h = (z / p.nqb) % p.nh;
    let b = z / (p.nqb * p.nh);
    let i0 = qb * QB;
    let nq = min(QB, p.t - i0);
    let kvh = h / (p.nh / p.nkv);
    let width = p.nh * HD;
    let gbase = (b * p.t + i0) * width + h * HD;
    let vbase = (b * p.nkv + kvh) * p.cap * HD;
    let pbase = ((b * p.nh + h) * p.t + i0) * p.t;

    for (var e = tid; e < QB * HD; e += WG) {
        let r = e / HD;
        var v = 0.0;
        if (r < nq) {
            v = d_o[gbase + r * width + e % HD];
        }
        gs[e] = v;
    }
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
        for (var e = tid; e < KB * HD; e += WG) {
            let jj = e / HD;
            var v = 0.0;
            if (jj < nk) {
                v = vc[vbase + (j0 + jj) * HD + e % HD];
            }
            vs[jj * KS + e % HD] = v;
        }
        workgroupBarrier();
        for (var c = 0u; c < PAIRS; c++) {
            let e = tid + c * WG;
            let r = e / KB;
            let jj = e % KB;
            if (e < QB * KB && r < nq && jj < nk) {
                var dot = 0.0;
                if (pr[c] != 0.0) {
                    for (var d = 0u; d < HD; d++) {
                        dot += gs[r * HD + d] * vs[jj * KS + d];
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
