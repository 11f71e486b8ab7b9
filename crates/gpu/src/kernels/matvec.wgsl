// matvec: C(m, n) = Σ_k X(m,k) · W(n,k)  (+ bias[c_off + n]) (+ C if accumulating), for the
// few rows of X of one decode step (a linear layer `x Wᵀ` with M = batch rows ≤ 8 or so).
// The tiled matmul computes 64 rows per tile whatever M is; here every decoded element of W
// is used by exactly the M rows there are.
//
// Shapes: x [M, K] f32 row-major; W [N, K] read through a loader part prepended to this file
// (matmul_b_f32.wgsl or kernels/quant/*.wgsl: binding 2 and `w_vec4`, see matmul.wgsl);
// C(m, n) is c[m * ldc + c_off + n] and the bias is bias[c_off + n], so a weight split by
// rows into chunks is multiplied chunk by chunk into column slices of C (ops/quant.rs).
// Bindings: 0 params, 1 x, 2 w (declared by the loader), 3 bias (read when flags & 2),
// 4 c (read-modify-write when flags & 1).
//
// Prepended constant: MR = M (one pipeline per row count, so the per-row loops have constant
// bounds and the accumulators stay in registers).
// Workgroup: RW rows of W × TPR threads. Thread t of a W row walks k = 4t, 4t + 4·TPR, ...:
// neighbouring threads read neighbouring words of one block, each vec4 of W is decoded once
// and multiplied with the MR rows of X. The TPR partial sums of each output then go through
// workgroup memory and one thread per output adds them up.
// Grid: ceil(N / RW) workgroups, split over x/y (dispatch.rs).

struct Params {
    m: u32,
    n: u32,
    k: u32,
    flags: u32,
    ldc: u32,
    c_off: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;

const RW: u32 = 8u;
const TPR: u32 = 32u;

var<workgroup> part: array<f32, RW * MR * TPR>; // [RW][MR][TPR]

// X(m, k..k+4), zeros past K (only f32 weights have widths that are not multiples of 4).
fn x_vec4(m: u32, k: u32) -> vec4<f32> {
    let i = m * p.k + k;
    if (k + 4u <= p.k) {
        return vec4<f32>(x[i], x[i + 1u], x[i + 2u], x[i + 3u]);
    }
    var v = vec4<f32>(x[i], 0.0, 0.0, 0.0);
    if (k + 1u < p.k) {
        v.y = x[i + 1u];
    }
    if (k + 2u < p.k) {
        v.z = x[i + 2u];
    }
    return v;
}

@compute @workgroup_size(256)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let r = lid / TPR;
    let t = lid % TPR;
    let n0 = (wid.x + wid.y * nwg.x) * RW;
    let n = n0 + r;
    var acc: array<f32, MR>;
    if (n < p.n) {
        for (var k = 4u * t; k < p.k; k += 4u * TPR) {
            let wv = w_vec4(0u, n, k, p.k);
            for (var m = 0u; m < MR; m++) {
                acc[m] += dot(x_vec4(m, k), wv);
            }
        }
    }
    for (var m = 0u; m < MR; m++) {
        part[(r * MR + m) * TPR + t] = acc[m];
    }
    workgroupBarrier();
    if (lid >= RW * MR) {
        return;
    }
    let o = lid / MR;
    let m = lid % MR;
    let col = n0 + o;
    if (col >= p.n) {
        return;
    }
    var s = 0.0;
    for (var i = 0u; i < TPR; i++) {
        s += part[lid * TPR + i];
    }
    let idx = m * p.ldc + p.c_off + col;
    if ((p.flags & 2u) != 0u) {
        s += bias[p.c_off + col];
    }
    if ((p.flags & 1u) != 0u) {
        s += c[idx];
    }
    c[idx] = s;
}
