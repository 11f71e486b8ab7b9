// gram: the Gram matrix of the rows of X per column chunk,
// out[z][i][j] = Σ_{c in chunk z} X[i][c] · X[j][c], chunk z = columns [z·chunk, min((z+1)·chunk, w)).
// X is one column block of a gradient store (one row per example); the caller sums the
// chunks' partial Grams in f64, so each f32 sum runs over at most `chunk` columns.
//
// Shapes: x [k, w] row-major; out [ceil(w / chunk), k, k].
// Bindings: 0 p (GramParams, ops/gram.rs), 1 x, 2 out.
// Tiling: a 16×16 tile of (i, j) per workgroup of 16×16 threads, one output per thread;
// columns in steps of 32 through workgroup memory (coalesced row reads; wider steps than
// 16 because software drivers pay per barrier; 64 gave wrong sums on lavapipe). Each step's
// 32 products are summed first and then added to the accumulator, so the long f32 sum has
// chunk/32 terms.
// Grid: (ceil(k/16), ceil(k/16), number of chunks).

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

const TC: u32 = 32u;

var<workgroup> xi: array<f32, 1024>; // [16 rows i][TC columns]
var<workgroup> xj: array<f32, 1024>; // [16 rows j][TC columns]

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let i0 = wid.y * 16u;
    let j0 = wid.x * 16u;
    let start = wid.z * p.chunk;
    let end = min(start + p.chunk, p.w);
    var acc = 0.0;
    for (var c0 = start; c0 < end; c0 += TC) {
        for (var q = 0u; q < TC; q += 16u) {
            let col = c0 + q + lid.x;
            var a = 0.0;
            var b = 0.0;
            if (col < end && i0 + lid.y < p.k) {
                a = x[(i0 + lid.y) * p.w + col];
            }
            if (col < end && j0 + lid.y < p.k) {
                b = x[(j0 + lid.y) * p.w + col];
            }
            xi[lid.y * TC + q + lid.x] = a;
            xj[lid.y * TC + q + lid.x] = b;
        }
        workgroupBarrier();
        var s = 0.0;
        for (var c = 0u; c < TC; c++) {
            s += xi[lid.y * TC + c] * xj[lid.x * TC + c];
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
