// The block of queries attention.wgsl and attention_backward_ds.wgsl work on: one workgroup
// of WG threads per (batch row b, query head h, block of QB queries), grid split over x/y.
// The kernel's parameters have t, nh, nkv, cap, nqb (query blocks per (b, h)) and nwg
// (B · nh · nqb); it defines `fn apply_block(blk: Block, tid: u32)`, and the reads
// `fn row_at(i: u32) -> f32` (its token-major input of the block's rows: q, or dO) and
// `fn cache_at(i: u32, values: bool) -> f32` (its K or V cache).
// Rows of the K/V tile are padded by one so that threads reading different keys at the
// same dimension hit different banks.

const KS: u32 = HD + 1u;

var<workgroup> rows_s: array<f32, QB * HD>; // [QB][HD]: the block's rows of q or dO
var<workgroup> kv: array<f32, KB * KS>; // [KB][KS]: one tile of keys or values

struct Block {
    b: u32,
    h: u32,
    i0: u32, // first query
    nq: u32, // queries in the block (≤ QB)
    width: u32, // nh · HD, the row length of the token-major tensors
    rbase: u32, // element (b · t + i0, h · HD) of the token-major tensors
    cbase: u32, // the cache's [cap, HD] block of KV head h / group
}

@compute @workgroup_size(WG)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) tid: u32,
) {
    let z = group_index(wid, nwg);
    if (z < p.nwg) {
        let h = (z / p.nqb) % p.nh;
        let b = z / (p.nqb * p.nh);
        let i0 = (z % p.nqb) * QB;
        let width = p.nh * HD;
        let kvh = h / (p.nh / p.nkv);
        let rbase = (b * p.t + i0) * width + h * HD;
        apply_block(Block(b, h, i0, min(QB, p.t - i0), width, rbase, (b * p.nkv + kvh) * p.cap * HD), tid);
    }
}

// rows_s = the block's rows (zeros past nq).
fn load_rows(blk: Block, tid: u32) {
    for (var e = tid; e < QB * HD; e += WG) {
        let r = e / HD;
        var v = 0.0;
        if (r < blk.nq) {
            v = row_at(blk.rbase + r * blk.width + e % HD);
        }
        rows_s[e] = v;
    }
}

// kv = keys (or values) j0 .. j0 + nk of the block's KV head (zeros past nk).
fn load_cache_tile(blk: Block, j0: u32, nk: u32, tid: u32, values: bool) {
    for (var e = tid; e < KB * HD; e += WG) {
        let jj = e / HD;
        var v = 0.0;
        if (jj < nk) {
            v = cache_at(blk.cbase + (j0 + jj) * HD + e % HD, values);
        }
        kv[jj * KS + e % HD] = v;
    }
}
