// matvec: C(m, n) = Σ_k X(m,k) · W(n,k)  (+ bias[c_off + n]) (+ C if accumulating), for the
// few rows of X of one decode step (a linear layer `x Wᵀ` with M = batch rows ≤ 16).
// The tiled matmul computes 64 rows per tile whatever M is; here every decoded element of W
// is used by exactly the M rows there are.
//
// Shapes: x [M, K] f32 row-major; W [N, K] read through a loader part prepended to this file
// (matmul_b_f32.wgsl or kernels/quant/*.wgsl: binding 2 and `w_vec4`, see matmul.wgsl);
// C(m, n) is c[m * ldc + c_off + n] and the bias is bias[c_off + n], so a weight split by
// rows into chunks is multiplied chunk by chunk into column slices of C (ops/quant.rs).
// Bindings: 0 p (MatvecParams, ops/matvec.rs), 1 x, 2 w (declared by the loader), 3 bias (read when
// flags & 2), 4 c (read-modify-write when flags & 1).
//
// Prepended constant: MR = M (one pipeline per row count, so the per-row loops have constant
// bounds and the accumulators stay in registers), at most 16.
// Workgroup: WG threads in groups of TPR, each group computing NR rows of W (RW per
// workgroup). Thread t of a group walks k = 4t, 4t + 4·TPR, ...: neighbouring threads read
// neighbouring words of a block, and the MR vec4s of X read at k serve all NR rows (reading
// X costs as much as decoding W once MR is a few rows). The partial sums of each output then
// go through workgroup memory (WG · NR · MR floats ≤ 16 KB) and one thread adds them up.
// Grid: ceil(N / RW) workgroups, split over x/y (dispatch.rs).

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;

const WG: u32 = 64u;
const TPR: u32 = 16u;
const NR: u32 = 4u;
const RW: u32 = WG / TPR * NR;

var<workgroup> part: array<f32, WG * NR * MR>; // [RW][MR][TPR]

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

@compute @workgroup_size(WG)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let r0 = lid / TPR * NR;
    let t = lid % TPR;
    let n0 = (group_index(wid, nwg)) * RW;
    var acc: array<f32, NR * MR>;
    for (var k = 4u * t; k < p.k; k += 4u * TPR) {
        var xv: array<vec4<f32>, MR>;
        for (var m = 0u; m < MR; m++) {
            xv[m] = x_vec4(m, k);
        }
        for (var j = 0u; j < NR; j++) {
            let n = n0 + r0 + j;
            if (n < p.n) {
                let wv = w_vec4(0u, n, k, p.k);
                for (var m = 0u; m < MR; m++) {
                    acc[j * MR + m] += dot(xv[m], wv);
                }
            }
        }
    }
    for (var i = 0u; i < NR * MR; i++) {
        part[(r0 * MR + i) * TPR + t] = acc[i];
    }
    workgroupBarrier();
    for (var o = lid; o < RW * MR; o += WG) {
        let col = n0 + o / MR;
        if (col >= p.n) {
            break;
        }
        let m = o % MR;
        var s = 0.0;
        for (var i = 0u; i < TPR; i++) {
            s += part[o * TPR + i];
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
}
