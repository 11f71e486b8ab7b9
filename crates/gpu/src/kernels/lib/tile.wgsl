// The tiled core of matmul.wgsl and attention_backward_matmul.wgsl: a 64×64 output tile per
// workgroup of 16×16 threads, 4×4 outputs per thread, K in steps of TK through workgroup
// memory, f32 accumulation. The kernel stages each step's A tile (As[k][m], at the slots of
// a_tile_slot) and B tile (Bs[k][n]), then calls tile_products between two barriers, and
// at the end tile_store. Needs the prepended constant A_T (A stored with m contiguous), the
// parameters m and n (the result's size) and the kernel's `fn store(z, m, n, v: f32)`.

const TS: u32 = 64u;
const TK: u32 = 16u;

var<workgroup> As: array<f32, 1024>; // [TK][TS]
var<workgroup> Bs: array<f32, 1024>; // [TK][TS]

// (k, m) of element e of the A tile (4 per thread: e = tid + i · 256). Consecutive threads
// walk k for a row-major A, else m, so global reads are contiguous in both layouts.
fn a_tile_slot(e: u32) -> vec2<u32> {
    if (A_T) {
        return vec2<u32>(e / TS, e % TS);
    }
    return vec2<u32>(e % TK, e / TK);
}

// Adds the products of the staged tiles to this thread's outputs: acc[i * 4 + j] is row
// lid.y * 4 + i, column lid.x * 4 + j of the tile.
fn tile_products(lid: vec3<u32>, acc: ptr<function, array<f32, 16>>) {
    for (var kk = 0u; kk < TK; kk++) {
        let ab = kk * TS + lid.y * 4u;
        let bb = kk * TS + lid.x * 4u;
        let av = vec4<f32>(As[ab], As[ab + 1u], As[ab + 2u], As[ab + 3u]);
        let bv = vec4<f32>(Bs[bb], Bs[bb + 1u], Bs[bb + 2u], Bs[bb + 3u]);
        for (var i = 0u; i < 4u; i++) {
            (*acc)[i * 4u + 0u] += av[i] * bv.x;
            (*acc)[i * 4u + 1u] += av[i] * bv.y;
            (*acc)[i * 4u + 2u] += av[i] * bv.z;
            (*acc)[i * 4u + 3u] += av[i] * bv.w;
        }
    }
}

// Hands this thread's outputs that lie inside the m × n result to the kernel's store.
fn tile_store(z: u32, m0: u32, n0: u32, lid: vec3<u32>, acc: ptr<function, array<f32, 16>>) {
    for (var i = 0u; i < 4u; i++) {
        let m = m0 + lid.y * 4u + i;
        for (var j = 0u; j < 4u; j++) {
            let n = n0 + lid.x * 4u + j;
            if (m < p.m && n < p.n) {
                store(z, m, n, (*acc)[i * 4u + j]);
            }
        }
    }
}
