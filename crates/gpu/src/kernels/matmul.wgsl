// matmul: C[z][M,N] = alpha * Σ_k A(m,k) · B(k,n)  (+ bias[n]) (+ C if accumulating)
//
// Batched over z (workgroup_id.z). A is f32 with a leading dimension: A(m,k) =
// a[z*a_batch + a_off + m*lda + k], or with A_T = a[z*a_batch + a_off + k*lda + m] (A stored
// [K,M]). C(m,n) is c[z*c_batch + m*ldc + c_off + n] and the bias is bias[c_off + n]: the
// offsets and leading dimensions let a weight split by rows into several buffers (larger
// than one binding may be) be multiplied chunk by chunk into slices of A and C.
// B comes from a loader part prepended to this file (matmul_b_f32.wgsl, or
// kernels/quant/*.wgsl for a quantized weight), which declares binding 2 and defines
// `fn w_vec4(base, row, col, cols) -> vec4<f32>`: W[row][col..col+4] of a row-major weight
// with `cols` columns (base: element offset of the batch, f32 only), zeros past `cols`.
// With B_T, B(k,n) = W[n][k] (W is [N,K], the `x W^T` of a linear layer); without,
// B(k,n) = W[k][n]. Either way a thread reads 4 consecutive elements of one W row, which
// is one u32 word of quants for every block format (blocks run along W's rows).
//
// Bindings: 0 p (MatmulParams, ops/matmul.rs), 1 a, 2 w (declared by the loader), 3 bias
// (read when flags & 2), 4 c (read-modify-write when flags & 1).
// Tiling: lib/tile.wgsl's 64×64 output tile, K in steps of 16 (each thread decodes one vec4
// of W per step, so a quantized block is decoded once per workgroup and step, never per
// output). Grid: (ceil(N/64), ceil(M/64), Z).

@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;

fn load_a(z: u32, m: u32, k: u32) -> f32 {
    if (m >= p.m || k >= p.k) {
        return 0.0;
    }
    if (A_T) {
        return a[z * p.a_batch + p.a_off + k * p.lda + m];
    }
    return a[z * p.a_batch + p.a_off + m * p.lda + k];
}

// Stages this thread's vec4 of the 16×64 B tile at step k0.
fn load_b(z: u32, tid: u32, k0: u32, n0: u32) {
    var v = vec4<f32>(0.0);
    if (B_T) {
        // W[n][k]: 4 threads cover the 16 k of one W row.
        let nn = tid / 4u;
        let kq = (tid % 4u) * 4u;
        if (n0 + nn < p.n && k0 + kq < p.k) {
            v = w_vec4(z * p.w_batch, n0 + nn, k0 + kq, p.k);
        }
        Bs[kq * TS + nn] = v.x;
        Bs[(kq + 1u) * TS + nn] = v.y;
        Bs[(kq + 2u) * TS + nn] = v.z;
        Bs[(kq + 3u) * TS + nn] = v.w;
    } else {
        // W[k][n]: 16 threads cover the 64 n of one W row.
        let kk = tid / 16u;
        let nq = (tid % 16u) * 4u;
        if (k0 + kk < p.k && n0 + nq < p.n) {
            v = w_vec4(z * p.w_batch, k0 + kk, n0 + nq, p.n);
        }
        let b = kk * TS + nq;
        Bs[b] = v.x;
        Bs[b + 1u] = v.y;
        Bs[b + 2u] = v.z;
        Bs[b + 3u] = v.w;
    }
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
            let s = a_tile_slot(tid + i * 256u);
            As[s.x * TS + s.y] = load_a(z, m0 + s.y, k0 + s.x);
        }
        load_b(z, tid, k0, n0);
        workgroupBarrier();
        tile_products(lid, &acc);
        workgroupBarrier();
    }
    tile_store(z, m0, n0, lid, &acc);
}

fn store(z: u32, m: u32, n: u32, sum: f32) {
    let idx = z * p.c_batch + m * p.ldc + p.c_off + n;
    var v = p.alpha * sum;
    if ((p.flags & 2u) != 0u) {
        v += bias[p.c_off + n];
    }
    if ((p.flags & 1u) != 0u) {
        v += c[idx];
    }
    c[idx] = v;
}
