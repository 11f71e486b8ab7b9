// matmul: C[z][M,N] = alpha * Σ_k A(m,k) · B(k,n)  (+ bias[n]) (+ C if accumulating)
//
// Batched over z (workgroup_id.z). A is f32: A(m,k) = a[z*a_batch + m*K + k], or with
// A_T = a[z*a_batch + k*M + m] (A stored [K,M]). B comes from a loader part prepended to
// this file (matmul_b_f32.wgsl, or a quantized-weight loader), which defines
// `fn w_at(z, row, col) -> f32` over a weight W: with B_T, B(k,n) = W[n][k] (W is [N,K],
// the `x W^T` of a linear layer); without, B(k,n) = W[k][n].
//
// Bindings: 0 params, 1 a, 2 w (declared by the loader), 3 bias [N] (read when flags & 2),
// 4 c [z][M,N] (read-modify-write when flags & 1).
// Tiling: 64×64 output tile per workgroup of 16×16 threads, 4×4 outputs per thread, K in
// steps of 16 through workgroup memory; f32 accumulation. Grid: (ceil(N/64), ceil(M/64), Z).

struct Params {
    m: u32,
    n: u32,
    k: u32,
    flags: u32,
    a_batch: u32,
    w_batch: u32,
    c_batch: u32,
    alpha: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;

const TS: u32 = 64u;
const TK: u32 = 16u;

var<workgroup> As: array<f32, 1024>; // [TK][TS]
var<workgroup> Bs: array<f32, 1024>; // [TK][TS]

fn load_a(z: u32, m: u32, k: u32) -> f32 {
    if (m >= p.m || k >= p.k) {
        return 0.0;
    }
    if (A_T) {
        return a[z * p.a_batch + k * p.m + m];
    }
    return a[z * p.a_batch + m * p.k + k];
}

fn load_b(z: u32, k: u32, n: u32) -> f32 {
    if (n >= p.n || k >= p.k) {
        return 0.0;
    }
    if (B_T) {
        return w_at(z, n, k);
    }
    return w_at(z, k, n);
}

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let z = wid.z;
    let m0 = wid.y * TS;
    let n0 = wid.x * TS;
    let tid = lid.y * 16u + lid.x;
    var acc: array<f32, 16>;
    for (var k0 = 0u; k0 < p.k; k0 += TK) {
        for (var i = 0u; i < 4u; i++) {
            let e = tid + i * 256u;
            // Consecutive threads walk k for a row-major A (and a [N,K] weight), else m / n,
            // so global reads are contiguous in both layouts.
            var kk: u32;
            var mm: u32;
            if (A_T) {
                kk = e / TS;
                mm = e % TS;
            } else {
                kk = e % TK;
                mm = e / TK;
            }
            As[kk * TS + mm] = load_a(z, m0 + mm, k0 + kk);
            var nn: u32;
            if (B_T) {
                kk = e % TK;
                nn = e / TK;
            } else {
                kk = e / TS;
                nn = e % TS;
            }
            Bs[kk * TS + nn] = load_b(z, k0 + kk, n0 + nn);
        }
        workgroupBarrier();
        for (var kk = 0u; kk < TK; kk++) {
            let ab = kk * TS + lid.y * 4u;
            let bb = kk * TS + lid.x * 4u;
            let av = vec4<f32>(As[ab], As[ab + 1u], As[ab + 2u], As[ab + 3u]);
            let bv = vec4<f32>(Bs[bb], Bs[bb + 1u], Bs[bb + 2u], Bs[bb + 3u]);
            for (var i = 0u; i < 4u; i++) {
                acc[i * 4u + 0u] += av[i] * bv.x;
                acc[i * 4u + 1u] += av[i] * bv.y;
                acc[i * 4u + 2u] += av[i] * bv.z;
                acc[i * 4u + 3u] += av[i] * bv.w;
            }
        }
        workgroupBarrier();
    }
    for (var i = 0u; i < 4u; i++) {
        let m = m0 + lid.y * 4u + i;
        if (m >= p.m) {
            continue;
        }
        for (var j = 0u; j < 4u; j++) {
            let n = n0 + lid.x * 4u + j;
            if (n >= p.n) {
                continue;
            }
            let idx = z * p.c_batch + m * p.n + n;
            var v = p.alpha * acc[i * 4u + j];
            if ((p.flags & 2u) != 0u) {
                v += bias[n];
            }
            if ((p.flags & 1u) != 0u) {
                v += c[idx];
            }
            c[idx] = v;
        }
    }
}
