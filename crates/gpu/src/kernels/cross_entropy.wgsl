// cross_entropy: per-row weighted loss and its gradient w.r.t. the logits, as
// backward.rs's loss_and_grad (there in f64 on the host):
//   loss[r] = w[r] · (logsumexp(logits[r]) − logits[r, t[r]]),
//   dlogits[r] = w[r] · (softmax(logits[r]) − onehot(t[r])).
// The engine sets w = 1/count for an example's counted answer tokens, so the losses of an
// example sum to its mean cross-entropy; rows with w = 0 (prompt or excluded tokens) get
// zero loss and zero gradient without being read. A target ≥ v gives a NaN loss.
//
// Shapes: logits, dlogits [rows, v]; targets u32 [rows]; weights, loss [rows].
// Bindings: 0 p (CrossEntropyParams, ops/loss.rs), 1 logits, 2 targets, 3 weights, 4 loss, 5
// dlogits. One workgroup of 256 threads per row (lib/per_row.wgsl). The max and the sum of
// exponentials come from one pass (online softmax: each thread rescales its sum when its max
// grows), so the row is read twice in all: once for the sums, once to write the gradient.

@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<u32>;
@group(0) @binding(3) var<storage, read> weights: array<f32>;
@group(0) @binding(4) var<storage, read_write> loss: array<f32>;
@group(0) @binding(5) var<storage, read_write> dlogits: array<f32>;

// Stands for "no value yet" without infinities, which WGSL does not guarantee;
// exp(LOWEST − x) is 0 for any real logit x.
// -f32::MAX written exactly (hex): the decimal -3.40282347e+38 rounds past f32's range, which
// naga accepts but Chromium's WGSL compiler (Tint) rejects.
const LOWEST: f32 = -0x1.fffffep+127f;

var<workgroup> mx: array<f32, 256>;
var<workgroup> sm: array<f32, 256>;

fn apply_row(row: u32, lid: u32) {
    let base = row * p.v;
    let w = weights[row];
    // Rows of weight 0 skip the reduction; the barriers stay in uniform control flow.
    let n = select(0u, p.v, w != 0.0);
    var m = LOWEST;
    var s = 0.0;
    for (var i = lid; i < n; i += 256u) {
        let x = logits[base + i];
        if (x > m) {
            s = s * exp(m - x) + 1.0;
            m = x;
        } else {
            s += exp(x - m);
        }
    }
    mx[lid] = m;
    sm[lid] = s;
    workgroupBarrier();
    for (var stride = 128u; stride > 0u; stride >>= 1u) {
        if (lid < stride) {
            let m1 = mx[lid];
            let m2 = mx[lid + stride];
            let mm = max(m1, m2);
            sm[lid] = sm[lid] * exp(m1 - mm) + sm[lid + stride] * exp(m2 - mm);
            mx[lid] = mm;
        }
        workgroupBarrier();
    }
    let gm = mx[0];
    let z = sm[0];
    let t = targets[row];
    if (w != 0.0) {
        for (var i = lid; i < p.v; i += 256u) {
            let q = exp(logits[base + i] - gm) / z;
            dlogits[base + i] = w * select(q, q - 1.0, i == t);
        }
    } else {
        for (var i = lid; i < p.v; i += 256u) {
            dlogits[base + i] = 0.0;
        }
    }
    if (lid == 0u) {
        var l = 0.0;
        if (w != 0.0) {
            // A NaN from a runtime value: WGSL forbids NaN in constant expressions (Tint,
            // Chromium's compiler, rejects `bitcast<f32>(0x7fc00000u)`; naga lets it pass).
            let nan = bitcast<f32>(0x7fc00000u | (p.v & 0u));
            l = select(nan, w * ((gm - logits[base + min(t, p.v - 1u)]) + log(z)), t < p.v);
        }
        loss[row] = l;
    }
}
