//! Attention (forward over a KV cache, backward), RoPE, kv_write and gather_rows against
//! candle on the CPU, in f64 where the reference does real arithmetic.

use candle_core::{DType, Device, Tensor as Ct, Var, D};
use labelcast_gpu::testing::{all_close, random};
use labelcast_gpu::{Gpu, Tensor};

const MASKED: f32 = -1e30;

fn ct(v: &[f32], shape: &[usize]) -> Ct {
    Ct::from_vec(v.to_vec(), shape, &Device::Cpu).unwrap().to_dtype(DType::F64).unwrap()
}

fn flat(t: &Ct) -> Vec<f32> {
    t.to_dtype(DType::F32).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap()
}

async fn read(g: &Gpu, t: &Tensor) -> Vec<f32> {
    g.read_f32(t).await.unwrap()
}

/// `all_close` with tolerances relative to the largest reference magnitude; prints and
/// returns the max abs error.
fn check(what: &str, got: &[f32], want: &[f32], tol: f32) -> f32 {
    let mag = want.iter().fold(0f32, |m, v| m.max(v.abs())).max(1.0);
    let e = all_close(what, got, want, tol * mag, tol).unwrap();
    report!("{what}: max abs error {e:.2e} (max |ref| {mag:.2})");
    e
}

fn rotate_half(x: &Ct) -> Ct {
    let half = x.dim(D::Minus1).unwrap() / 2;
    let x1 = x.narrow(D::Minus1, 0, half).unwrap();
    let x2 = x.narrow(D::Minus1, half, half).unwrap();
    Ct::cat(&[&x2.neg().unwrap(), &x1], D::Minus1).unwrap()
}

fn rotate_half_t(x: &Ct) -> Ct {
    let half = x.dim(D::Minus1).unwrap() / 2;
    let x1 = x.narrow(D::Minus1, 0, half).unwrap();
    let x2 = x.narrow(D::Minus1, half, half).unwrap();
    Ct::cat(&[&x2, &x1.neg().unwrap()], D::Minus1).unwrap()
}

/// cos and sin tables [positions, hd] laid out cat(freqs, freqs), as the engine's rope_tables.
fn rope_tables(positions: &[usize], hd: usize) -> (Vec<f32>, Vec<f32>) {
    let (mut cos, mut sin) = (Vec::new(), Vec::new());
    for &p in positions {
        for _ in 0..2 {
            for i in 0..hd / 2 {
                let a = p as f64 * 10000f64.powf(-2.0 * i as f64 / hd as f64);
                cos.push(a.cos() as f32);
                sin.push(a.sin() as f32);
            }
        }
    }
    (cos, sin)
}

async fn rope_both_directions_and_round_trip(g: &Gpu) {
    for &(rows, heads, hd) in &[(1, 1, 2), (37, 3, 8), (300, 9, 64), (5, 2, 128)] {
        let x = random(rows * heads * hd, rows as u64 + 7, -1.0, 1.0);
        let positions: Vec<usize> = (0..rows).map(|i| (i * 7) % 500).collect();
        let (cos, sin) = rope_tables(&positions, hd);
        let (xt, ct_, st) = (
            g.upload_f32(&x, &[rows, heads * hd]).unwrap(),
            g.upload_f32(&cos, &[rows, hd]).unwrap(),
            g.upload_f32(&sin, &[rows, hd]).unwrap(),
        );
        let xc = ct(&x, &[rows, heads, hd]);
        let cc = ct(&cos, &[rows, 1, hd]);
        let sc = ct(&sin, &[rows, 1, hd]);
        let fwd = (xc.broadcast_mul(&cc).unwrap() + rotate_half(&xc).broadcast_mul(&sc).unwrap()).unwrap();
        let inv = (xc.broadcast_mul(&cc).unwrap() + rotate_half_t(&xc.broadcast_mul(&sc).unwrap())).unwrap();
        let y = g.rope(&xt, &ct_, &st, heads, false).unwrap();
        let yi = g.rope(&xt, &ct_, &st, heads, true).unwrap();
        check(&format!("rope {rows}x{heads}x{hd}"), &read(g, &y).await, &flat(&fwd), 1e-6);
        check(&format!("rope inverse {rows}x{heads}x{hd}"), &read(g, &yi).await, &flat(&inv), 1e-6);
        let back = g.rope(&y, &ct_, &st, heads, true).unwrap();
        check(&format!("rope round trip {rows}x{heads}x{hd}"), &read(g, &back).await, &x, 1e-6);
    }
    let x = g.upload_f32(&[0.0; 12], &[2, 6]).unwrap();
    let c = g.upload_f32(&[0.0; 8], &[2, 4]).unwrap();
    let e = g.rope(&x, &c, &c, 2, false).unwrap_err().to_string();
    assert!(e.contains("rope") && e.contains("[2, 6]"), "{e}");
}

/// Host-side cache [B, nkv, cap, hd] with t new token-major rows [B*t, nkv*hd] written at `at`.
fn host_kv_write(cache: &mut [f32], new: &[f32], dims: [usize; 4], t: usize, at: usize) {
    let [b, nkv, cap, hd] = dims;
    for r in 0..b {
        for i in 0..t {
            for h in 0..nkv {
                for d in 0..hd {
                    cache[((r * nkv + h) * cap + at + i) * hd + d] = new[(r * t + i) * nkv * hd + h * hd + d];
                }
            }
        }
    }
}

async fn kv_write_places_columns(g: &Gpu) {
    for &(b, nkv, cap, hd, t, at) in &[(1, 1, 1, 1, 1, 0), (3, 2, 50, 8, 7, 40), (2, 3, 64, 64, 37, 27)] {
        let mut cache = random(b * nkv * cap * hd, 3, -1.0, 1.0);
        let new = random(b * t * nkv * hd, 4, -1.0, 1.0);
        let cache_t = g.upload_f32(&cache, &[b, nkv, cap, hd]).unwrap();
        g.kv_write(&cache_t, &g.upload_f32(&new, &[b * t, nkv * hd]).unwrap(), b, at).unwrap();
        host_kv_write(&mut cache, &new, [b, nkv, cap, hd], t, at);
        assert_eq!(read(g, &cache_t).await, cache, "kv_write b={b} t={t} at={at}");
    }
    let cache = g.zeros(&[2, 1, 10, 4], labelcast_gpu::DType::F32).unwrap();
    let new = g.zeros(&[6, 4], labelcast_gpu::DType::F32).unwrap();
    let e = g.kv_write(&cache, &new, 2, 8).unwrap_err().to_string();
    assert!(e.contains("kv_write") && e.contains("overflow"), "{e}");
}

async fn gather_rows_copies_in_order(g: &Gpu) {
    let src = random(5 * 3 * 7 * 4, 9, -1.0, 1.0);
    let st = g.upload_f32(&src, &[5, 3, 7, 4]).unwrap();
    let rows = [4, 0, 0, 2];
    let got = g.gather_rows(&st, &rows).unwrap();
    assert_eq!(got.shape(), &[4, 3, 7, 4]);
    let idx = Ct::new(&[4u32, 0, 0, 2], &Device::Cpu).unwrap();
    let want = Ct::from_vec(src, &[5, 3, 7, 4], &Device::Cpu).unwrap().index_select(&idx, 0).unwrap();
    assert_eq!(read(g, &got).await, flat(&want));
    let u: Vec<u32> = (0..18).collect();
    let ut = g.upload_u32(&u, &[6, 3]).unwrap();
    let got = g.read_u32(&g.gather_rows(&ut, &[5, 1]).unwrap()).await.unwrap();
    assert_eq!(got, [15, 16, 17, 3, 4, 5]);
    assert_eq!(g.gather_rows(&ut, &[]).unwrap().shape(), &[0, 3]);
    let e = g.gather_rows(&ut, &[6]).unwrap_err().to_string();
    assert!(e.contains("gather_rows") && e.contains("row 6"), "{e}");
}

async fn scatter_rows_is_the_transpose_of_gather(g: &Gpu) {
    let src = random(3 * 5, 4, -1.0, 1.0);
    let st = g.upload_f32(&src, &[3, 5]).unwrap();
    let rows = [6, 0, 3];
    let got = read(g, &g.scatter_rows(&st, &rows, 7).unwrap()).await;
    let mut want = vec![0f32; 7 * 5];
    for (i, &r) in rows.iter().enumerate() {
        want[r * 5..(r + 1) * 5].copy_from_slice(&src[i * 5..(i + 1) * 5]);
    }
    assert_eq!(got, want);
    // Gathering the same rows back gives the source, bit for bit.
    let back = g.gather_rows(&g.scatter_rows(&st, &rows, 7).unwrap(), &rows).unwrap();
    assert_eq!(read(g, &back).await, src);
    for (bad, why) in [(&[1, 1, 2][..], "given twice"), (&[0, 7, 1][..], "row 7 of 7"), (&[0, 1][..], "2 rows")] {
        let e = g.scatter_rows(&st, bad, 7).unwrap_err().to_string();
        assert!(e.contains("scatter_rows") && e.contains(why), "{e}");
    }
}

/// The engine's mask for left padding (KvCache::visible with no shared prefix): row r has
/// pad[r] padding columns first; query i sits at column prior + i.
fn padded_mask(pad: &[usize], prior: usize, t: usize) -> Vec<f32> {
    let keys = prior + t;
    let mut m = vec![0f32; pad.len() * t * keys];
    for (r, &p) in pad.iter().enumerate() {
        for i in 0..t {
            let col = prior + i;
            for j in 0..keys {
                if !(j == col || (j < col && j >= p)) {
                    m[(r * t + i) * keys + j] = MASKED;
                }
            }
        }
    }
    m
}

/// Block-diagonal causal mask of sequences packed on the token axis (Model::forward_packed).
fn packed_mask(lens: &[usize]) -> Vec<f32> {
    let t: usize = lens.iter().sum();
    let mut m = vec![MASKED; t * t];
    let mut start = 0;
    for &len in lens {
        for i in 0..len {
            let row = start + i;
            m[row * t + start..=row * t + row].fill(0.0);
        }
        start += len;
    }
    m
}

/// The CPU engine's attention (layer.rs) in f64: q [B*t, nh*hd]; k, v [B, nkv, keys, hd];
/// mask [B, 1, t, keys]. Returns o [B*t, nh*hd] and probs [B, nh, t, keys].
fn reference_attention(q: &Ct, k: &Ct, v: &Ct, mask: &Ct, nh: usize, scale: f64) -> (Ct, Ct) {
    let (b, nkv, keys, hd) = k.dims4().unwrap();
    let t = q.dim(0).unwrap() / b;
    let g = nh / nkv;
    let q = q.reshape((b, t, nh, hd)).unwrap().transpose(1, 2).unwrap().contiguous().unwrap();
    let qg = q.reshape((b, nkv, g * t, hd)).unwrap();
    let scores = (qg.matmul(&k.t().unwrap()).unwrap() * scale).unwrap();
    let scores = scores.reshape((b, nh, t, keys)).unwrap().broadcast_add(mask).unwrap();
    // The max shift is a constant of the softmax: detached, so autograd skips it.
    let max = scores.max_keepdim(D::Minus1).unwrap().detach();
    let e = scores.broadcast_sub(&max).unwrap().exp().unwrap();
    let probs = e.broadcast_div(&e.sum_keepdim(D::Minus1).unwrap()).unwrap();
    let o = probs.reshape((b, nkv, g * t, keys)).unwrap().matmul(v).unwrap();
    let o = o.reshape((b, nh, t, hd)).unwrap().transpose(1, 2).unwrap().contiguous().unwrap();
    (o.reshape((b * t, nh * hd)).unwrap(), probs)
}

async fn attention_forward_matches_candle(g: &Gpu) {
    // (B, nh, nkv, hd, t, prior columns, cap): decode and prefill, GQA and not, left padding.
    let cases = [
        (3, 6, 2, 8, 1, 40, 50),
        (3, 6, 2, 64, 37, 20, 60),
        (2, 4, 4, 64, 37, 0, 40),
        (2, 6, 2, 8, 37, 5, 45),
        (1, 2, 1, 128, 20, 3, 30),
        (32, 9, 3, 64, 1, 150, 160),
        (1, 3, 3, 64, 130, 0, 130),
    ];
    for (ci, &(b, nh, nkv, hd, t, prior, cap)) in cases.iter().enumerate() {
        let keys = prior + t;
        let pad: Vec<usize> = (0..b).map(|r| (r * 5) % keys.min(t + prior - 1).max(1)).collect();
        let seed = 100 * ci as u64;
        let q = random(b * t * nh * hd, seed + 1, -1.0, 1.0);
        let mut kc = random(b * nkv * cap * hd, seed + 2, -1.0, 1.0);
        let mut vc = random(b * nkv * cap * hd, seed + 3, -1.0, 1.0);
        let kn = random(b * t * nkv * hd, seed + 4, -1.0, 1.0);
        let vn = random(b * t * nkv * hd, seed + 5, -1.0, 1.0);
        let mask = padded_mask(&pad, prior, t);

        let dims = [b, nkv, cap, hd];
        let (kt, vt) = (g.upload_f32(&kc, &dims).unwrap(), g.upload_f32(&vc, &dims).unwrap());
        g.kv_write(&kt, &g.upload_f32(&kn, &[b * t, nkv * hd]).unwrap(), b, prior).unwrap();
        g.kv_write(&vt, &g.upload_f32(&vn, &[b * t, nkv * hd]).unwrap(), b, prior).unwrap();
        host_kv_write(&mut kc, &kn, dims, t, prior);
        host_kv_write(&mut vc, &vn, dims, t, prior);
        let qt = g.upload_f32(&q, &[b * t, nh * hd]).unwrap();
        let mt = g.upload_f32(&mask, &[b, t, keys]).unwrap();
        let scale = 1.0 / (hd as f64).sqrt();

        let kr = ct(&kc, &dims).narrow(2, 0, keys).unwrap();
        let vr = ct(&vc, &dims).narrow(2, 0, keys).unwrap();
        let (o, probs) =
            reference_attention(&ct(&q, &[b * t, nh * hd]), &kr, &vr, &ct(&mask, &[b, 1, t, keys]), nh, scale);
        let what = format!("attention B={b} nh={nh} nkv={nkv} hd={hd} t={t} keys={keys}");
        let want_probs = ci % 2 == 0;
        let (go, gp) = g.attention(&qt, &kt, &vt, keys, &mt, nh, nkv, scale as f32, want_probs).unwrap();
        check(&format!("{what}: o"), &read(g, &go).await, &flat(&o), 2e-6);
        assert_eq!(gp.is_some(), want_probs);
        if let Some(gp) = gp {
            assert_eq!(gp.shape(), &[b, nh, t, keys]);
            check(&format!("{what}: probs"), &read(g, &gp).await, &flat(&probs), 2e-6);
        }
    }
}

/// Hidden tiles are skipped; a row that sees no key at all must still average every key, as
/// the reference softmax does (the engine never makes one, but the op takes any mask).
async fn attention_rows_that_see_nothing_match_candle(g: &Gpu) {
    for &(b, nh, nkv, hd, t, keys) in &[(1, 2, 1, 8, 5, 100), (2, 3, 3, 16, 1, 70), (1, 2, 2, 64, 20, 90)] {
        let mut mask = vec![MASKED; b * t * keys];
        for r in 0..b * t {
            let row = &mut mask[r * keys..(r + 1) * keys];
            match r % 4 {
                0 => row[keys - t + r % t] = 0.0, // itself only
                1 => row[keys - 10..].fill(0.0),  // the last tile only
                2 => {}                           // nothing
                _ => row[3] = 0.0,                // the first tile only
            }
        }
        let q = random(b * t * nh * hd, 1, -1.0, 1.0);
        let kc = random(b * nkv * keys * hd, 2, -1.0, 1.0);
        let vc = random(b * nkv * keys * hd, 3, -1.0, 1.0);
        let dims = [b, nkv, keys, hd];
        let scale = 1.0 / (hd as f64).sqrt();
        let (o, probs) = reference_attention(
            &ct(&q, &[b * t, nh * hd]),
            &ct(&kc, &dims),
            &ct(&vc, &dims),
            &ct(&mask, &[b, 1, t, keys]),
            nh,
            scale,
        );
        let (go, gp) = g
            .attention(
                &g.upload_f32(&q, &[b * t, nh * hd]).unwrap(),
                &g.upload_f32(&kc, &dims).unwrap(),
                &g.upload_f32(&vc, &dims).unwrap(),
                keys,
                &g.upload_f32(&mask, &[b, t, keys]).unwrap(),
                nh,
                nkv,
                scale as f32,
                true,
            )
            .unwrap();
        let what = format!("blind rows B={b} hd={hd} t={t} keys={keys}");
        check(&format!("{what}: o"), &read(g, &go).await, &flat(&o), 2e-6);
        check(&format!("{what}: probs"), &read(g, &gp.unwrap()).await, &flat(&probs), 2e-6);
    }
}

async fn attention_shape_errors_name_the_op(g: &Gpu) {
    let z = |s: &[usize]| g.zeros(s, labelcast_gpu::DType::F32).unwrap();
    let (q, k, m) = (z(&[4, 12]), z(&[2, 1, 8, 4]), z(&[2, 2, 5]));
    let e = g.attention(&q, &k, &k, 9, &m, 3, 1, 0.5, false).unwrap_err().to_string();
    assert!(e.contains("attention") && e.contains("9 keys"), "{e}");
    let e = g.attention(&q, &k, &k, 5, &m, 3, 2, 0.5, false).unwrap_err().to_string();
    assert!(e.contains("attention") && e.contains("group"), "{e}");
    let e = g.attention(&q, &k, &k, 4, &m, 3, 1, 0.5, false).unwrap_err().to_string();
    assert!(e.contains("attention") && e.contains("mask"), "{e}");
}

async fn attention_backward_matches_candle_autograd(g: &Gpu) {
    // (nh, nkv, hd, lens of the packed sequences per batch row, cap).
    let cases: &[(usize, usize, usize, &[usize], usize)] = &[
        (6, 2, 8, &[15, 22], 40),
        (6, 2, 64, &[30, 7], 37),
        (4, 4, 64, &[1, 69], 75),
        (3, 1, 16, &[100, 33], 140),
        (9, 3, 64, &[40, 3, 50, 31], 130),
    ];
    for (ci, &(nh, nkv, hd, lens, cap)) in cases.iter().enumerate() {
        let t: usize = lens.iter().sum();
        // Batch row 0 is the pack; row 1 (in the first two cases) one causal sequence.
        let b = if ci < 2 { 2 } else { 1 };
        let mut mask = packed_mask(lens);
        if b == 2 {
            mask.extend(packed_mask(&[t]));
        }
        let seed = 1000 + 10 * ci as u64;
        let q = random(b * t * nh * hd, seed, -1.0, 1.0);
        let kc = random(b * nkv * cap * hd, seed + 1, -1.0, 1.0);
        let vc = random(b * nkv * cap * hd, seed + 2, -1.0, 1.0);
        let d_o = random(b * t * nh * hd, seed + 3, -1.0, 1.0);
        let scale = 1.0 / (hd as f64).sqrt();
        let dims = [b, nkv, cap, hd];

        let qv = Var::from_tensor(&ct(&q, &[b * t, nh * hd])).unwrap();
        let kv = Var::from_tensor(&ct(&kc, &dims).narrow(2, 0, t).unwrap().contiguous().unwrap()).unwrap();
        let vv = Var::from_tensor(&ct(&vc, &dims).narrow(2, 0, t).unwrap().contiguous().unwrap()).unwrap();
        let (o, probs) = reference_attention(&qv, &kv, &vv, &ct(&mask, &[b, 1, t, t]), nh, scale);
        let grads = (o * ct(&d_o, &[b * t, nh * hd])).unwrap().sum_all().unwrap().backward().unwrap();
        let token_major =
            |x: &Ct| flat(&x.transpose(1, 2).unwrap().contiguous().unwrap().reshape((b * t, nkv * hd)).unwrap());
        let dq = flat(grads.get(&qv).unwrap());
        let dk = token_major(grads.get(&kv).unwrap());
        let dv = token_major(grads.get(&vv).unwrap());

        let (qt, kt, vt) = (
            g.upload_f32(&q, &[b * t, nh * hd]).unwrap(),
            g.upload_f32(&kc, &dims).unwrap(),
            g.upload_f32(&vc, &dims).unwrap(),
        );
        let dot = g.upload_f32(&d_o, &[b * t, nh * hd]).unwrap();
        let mt = g.upload_f32(&mask, &[b, t, t]).unwrap();
        let what = format!("attention backward B={b} nh={nh} nkv={nkv} hd={hd} lens={lens:?}");
        // With the GPU's own probabilities, as the gradient pass runs it.
        let (_, gp) = g.attention(&qt, &kt, &vt, t, &mt, nh, nkv, scale as f32, true).unwrap();
        let gp = gp.unwrap();
        check(&format!("{what}: probs"), &read(g, &gp).await, &flat(&probs), 2e-6);
        let (gdq, gdk, gdv) = g.attention_backward(&dot, &qt, &kt, &vt, &gp, nh, nkv, scale as f32).unwrap();
        assert_eq!(gdk.shape(), &[b * t, nkv * hd]);
        check(&format!("{what}: dq"), &read(g, &gdq).await, &dq, 1e-5);
        check(&format!("{what}: dk"), &read(g, &gdk).await, &dk, 1e-5);
        check(&format!("{what}: dv"), &read(g, &gdv).await, &dv, 1e-5);
    }
}

gpu_tests!(
    rope_both_directions_and_round_trip,
    kv_write_places_columns,
    gather_rows_copies_in_order,
    scatter_rows_is_the_transpose_of_gather,
    attention_forward_matches_candle,
    attention_rows_that_see_nothing_match_candle,
    attention_shape_errors_name_the_op,
    attention_backward_matches_candle_autograd
);
