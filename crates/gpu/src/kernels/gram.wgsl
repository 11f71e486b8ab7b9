// gram: the Gram matrix of the rows of X per column chunk,
// out[z][i][j] = Σ_{c in chunk z} X[i][c] · X[j][c], chunk z = columns [z·chunk, min((z+1)·chunk, w)).
// X is one column block of a gradient store (one row per example); the caller sums the
// chunks' partial Grams in f64, so each f32 sum runs over at most `chunk` columns.
//
// Shapes: x [k, w] row-major; out [ceil(w / chunk), k, k].
// Bindings: 0 params, 1 x, 2 out.
// Tiling: a 16×16 tile of (i, j) per workgroup of 16×16 threads, one output per thread;
// columns in steps of 16 through workgroup memory (coalesced row reads). Each step's 16
// products are summed first and then added to the accumulator, so the long f32 sum has
// chunk/16 terms. Grid: (ceil(k/16), ceil(k/16), number of chunks).

struct Params {
    k: u32,
    w: u32,
    chunk: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

var<workgroup> xi: array<f32, 256>; // [16 rows i][16 columns]
var<workgroup> xj: array<f32, 256>; // [16 rows j][16 columns]

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let i0 = wid.y * 16u;
    let j0 = wid.x * 16u;
    let start = wid.z * p.chunk;
    let end = min(start + p.chunk, p.w);
    var acc = 0.0;
    for (var c0 = start; c0 < end; c0 += 16u) {
        let col = c0 + lid.x;
        var a = 0.0;
        var b = 0.0;
        if (col < end) {
            if (i0 + lid.y < p.k) {
                a = x[(i0 + lid.y) * p.w + col];
            }
            if (j0 + lid.y < p.k) {
                b = x[(j0 + lid.y) * p.w + col];
            }
        }
        xi[lid.y * 16u + lid.x] = a;
        xj[lid.y * 16u + lid.x] = b;
        workgroupBarrier();
        var s = 0.0;
        for (var c = 0u; c < 16u; c++) {
            s += xi[lid.y * 16u + c] * xj[lid.x * 16u + c];
        }
        acc += s;
        workgroupBarrier();
    }
    let i = i0 + lid.y;
    let j = j0 + lid.x;
    if (i < p.k && j < p.k) {
        out[(wid.z * p.k + i) * p.k + j] = acc;
    }
}
