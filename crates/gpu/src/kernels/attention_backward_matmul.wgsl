// attention_backward_matmul: the products of the attention backward pass over the strided
// layouts they live in (token-major activations, head-major caches and scores), so no
// transposed copies are made:
//   out[z](m, n) = Σ_{g < G} Σ_{i < kk} A(z, g, m, i) · X(z, g, i, n),   z = b · zh + hh,
//   A(z, g, m, i) = a[b·a_sb + (hh·G + g)·a_sh + m·a_sm + i·a_sk],
//   X(z, g, i, n) = x[b·x_sb + ((hh·G + g) / xdiv)·x_sh + i·x_sk + n],
//   out(m, n)     = c[b·o_sb + hh·o_sh + m·o_sm + n].
// Uses: dQ = dS·K (z over query heads, G = 1, xdiv = group: K of the shared KV head);
// dK = Σ_g dSᵀ·Q and dV = Σ_g Pᵀ·dO (z over KV heads, G = group: the sum over the query
// heads of a KV head is folded into the K loop as k' = g·kk + i).
//
// Bindings: 0 p (StridedMatmulParams, ops/attention.rs), 1 a, 2 x, 3 c. Prepended constant
// A_T: A is read with m contiguous (a_sm = 1), which picks the coalesced order of the tile loads.
// Tiling: lib/tile.wgsl's 64×64 output tile, K in steps of 16.
// Grid: (ceil(n/64), ceil(m/64), B·zh).
// A K step whose A tile is all zeros (masked scores: the causal triangle, other sequences
// of a pack) skips its products; the flags alternate between steps so that the barrier of
// the uniform load separates setting, reading and clearing them.

@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

var<workgroup> nonzero: array<u32, 2>;

fn load_a(b: u32, hh: u32, m: u32, k: u32) -> f32 {
    if (m >= p.m || k >= p.kk * p.g) {
        return 0.0;
    }
    let g = k / p.kk;
    let i = k % p.kk;
    return a[b * p.a_sb + (hh * p.g + g) * p.a_sh + m * p.a_sm + i * p.a_sk];
}

fn load_x(b: u32, hh: u32, k: u32, n: u32) -> f32 {
    if (n >= p.n || k >= p.kk * p.g) {
        return 0.0;
    }
    let g = k / p.kk;
    let i = k % p.kk;
    return x[b * p.x_sb + ((hh * p.g + g) / p.xdiv) * p.x_sh + i * p.x_sk + n];
}

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let b = wid.z / p.zh;
    let hh = wid.z % p.zh;
    let m0 = wid.y * TS;
    let n0 = wid.x * TS;
    let tid = lid.y * 16u + lid.x;
    let ktot = p.kk * p.g;
    var acc: array<f32, 16>;
    if (tid == 0u) {
        nonzero[0] = 0u;
        nonzero[1] = 0u;
    }
    workgroupBarrier();
    var step = 0u;
    for (var k0 = 0u; k0 < ktot; k0 += TK) {
        let cur = step & 1u;
        step++;
        if (tid == 0u) {
            // Last read before the previous step's uniform load; next set after this one's.
            nonzero[1u - cur] = 0u;
        }
        for (var i = 0u; i < 4u; i++) {
            let e = tid + i * 256u;
            let s = a_tile_slot(e);
            let av = load_a(b, hh, m0 + s.y, k0 + s.x);
            As[s.x * TS + s.y] = av;
            if (av != 0.0) {
                nonzero[cur] = 1u;
            }
            Bs[(e / TS) * TS + e % TS] = load_x(b, hh, k0 + e / TS, n0 + e % TS);
        }
        if (workgroupUniformLoad(&nonzero[cur]) == 0u) {
            continue;
        }
        tile_products(lid, &acc);
        workgroupBarrier();
    }
    tile_store(wid.z, m0, n0, lid, &acc);
}

fn store(z: u32, m: u32, n: u32, v: f32) {
    c[(z / p.zh) * p.o_sb + (z % p.zh) * p.o_sh + m * p.o_sm + n] = v;
}
