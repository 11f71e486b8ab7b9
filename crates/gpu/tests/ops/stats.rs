//! Row reductions over the vocabulary: `logit_stats` against `step_stats` (labelcast-core,
//! what the engine's CPU backend computes) and `cross_entropy` against
//! candle in f64, as backward.rs computes the loss. Vocabularies of 1, 7, 300 and 49152
//! (SmolLM2) columns, rows with duplicated maxima, and zero weights.

use candle_core::{DType, Device, Tensor as Ct, D};
use labelcast_core::token_stats::step_stats;
use labelcast_gpu::testing::{all_close, random};
use labelcast_gpu::Gpu;

/// Logits [rows, v] of several temperatures, some rows with planted ties of the maximum.
fn logits(rows: usize, v: usize, seed: u64) -> Vec<f32> {
    let mut x = random(rows * v, seed, -1.0, 1.0);
    for r in 0..rows {
        let row = &mut x[r * v..(r + 1) * v];
        let temp = [1.0, 8.0, 30.0, 0.01][r % 4];
        row.iter_mut().for_each(|y| *y *= temp);
        let top = row.iter().fold(f32::MIN, |m, &y| m.max(y)) + 1.0;
        match r % 5 {
            // Two equal maxima, in different threads' strides and in the same one.
            1 if v > 3 => {
                row[v - 1] = top;
                row[v / 3] = top;
            }
            2 if v > 600 => {
                row[5] = top;
                row[5 + 256] = top;
                row[5 + 512] = top;
            }
            // Every value tied.
            3 => row.iter_mut().for_each(|y| *y = 0.25),
            _ => {}
        }
    }
    x
}

async fn check_stats(g: &Gpu, rows: usize, v: usize, seed: u64) {
    let x = logits(rows, v, seed);
    let t = g.upload_f32(&x, &[rows, v]).unwrap();
    let (arg, stats) = g.logit_stats(&t).unwrap();
    assert_eq!(stats.shape(), &[rows, 3]);
    let arg = g.read_u32(&arg).await.unwrap();
    let got = g.read_f32(&stats).await.unwrap();
    let mut want = Vec::new();
    for r in 0..rows {
        let s = step_stats(&x[r * v..(r + 1) * v]);
        assert_eq!(arg[r], s.token, "argmax of row {r} (v = {v})");
        want.extend([s.p_max as f32, s.p_second as f32, s.entropy as f32]);
    }
    let e = all_close(&format!("logit_stats {rows}x{v}"), &got, &want, 2e-6, 2e-5).unwrap();
    report!("logit_stats {rows}x{v}: max err {e:.1e}");
}

async fn logit_stats_match_step_stats(g: &Gpu) {
    check_stats(g, 3, 1, 1).await;
    check_stats(g, 9, 7, 2).await;
    check_stats(g, 10, 300, 3).await;
    check_stats(g, 6, 49152, 4).await;
    check_stats(g, 2, 131_073, 5).await;
}

async fn logit_stats_duplicated_max_gives_equal_p_second(g: &Gpu) {
    let x = [0.0, 3.0, -1.0, 3.0, 2.0];
    let (arg, stats) = g.logit_stats(&g.upload_f32(&x, &[1, 5]).unwrap()).unwrap();
    assert_eq!(g.read_u32(&arg).await.unwrap(), [1]);
    let s = g.read_f32(&stats).await.unwrap();
    assert_eq!(s[0], s[1], "p_max {} vs p_second {}", s[0], s[1]);
    let err = g.logit_stats(&g.upload_f32(&x, &[5]).unwrap()).unwrap_err().to_string();
    assert!(err.contains("logit_stats"), "{err}");
}

/// (loss [rows], dlogits [rows, v]) as backward.rs computes them, in f64 with candle.
fn reference(x: &[f32], rows: usize, v: usize, targets: &[u32], weights: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let l = Ct::from_slice(x, (rows, v), &Device::Cpu).unwrap().to_dtype(DType::F64).unwrap();
    let max = l.max_keepdim(D::Minus1).unwrap();
    let e = l.broadcast_sub(&max).unwrap().exp().unwrap();
    let p = e.broadcast_div(&e.sum_keepdim(D::Minus1).unwrap()).unwrap();
    let mut d = p.to_vec2::<f64>().unwrap();
    let mut loss = vec![0f32; rows];
    for (r, row) in d.iter_mut().enumerate() {
        let (t, w) = (targets[r] as usize, weights[r] as f64);
        loss[r] = (-row[t].max(f64::MIN_POSITIVE).ln() * w) as f32;
        row[t] -= 1.0;
        row.iter_mut().for_each(|y| *y *= w);
    }
    (loss, d.concat().into_iter().map(|y| y as f32).collect())
}

async fn cross_entropy_matches_candle(g: &Gpu) {
    for (i, &(rows, v)) in [(1, 1), (3, 7), (10, 300), (9, 49152)].iter().enumerate() {
        let x = logits(rows, v, 40 + i as u64);
        let targets: Vec<u32> =
            random(rows, 50 + i as u64, 0.0, v as f32).iter().map(|&t| (t as u32).min(v as u32 - 1)).collect();
        // Two examples' counted tokens (weight 1/count) and prompt rows (weight 0).
        let weights: Vec<f32> = (0..rows)
            .map(|r| match r % 3 {
                0 => 0.0,
                1 => 0.25,
                _ => 0.5,
            })
            .collect();
        let weights = if rows == 1 { vec![1.0] } else { weights };
        let lt = g.upload_f32(&x, &[rows, v]).unwrap();
        let tt = g.upload_u32(&targets, &[rows]).unwrap();
        let wt = g.upload_f32(&weights, &[rows]).unwrap();
        let (loss, d) = g.cross_entropy(&lt, &tt, &wt).unwrap();
        assert_eq!(d.shape(), &[rows, v]);
        let (wl, wd) = reference(&x, rows, v, &targets, &weights);
        let gl = g.read_f32(&loss).await.unwrap();
        let gd = g.read_f32(&d).await.unwrap();
        let el = all_close(&format!("cross_entropy loss {rows}x{v}"), &gl, &wl, 2e-6, 2e-6).unwrap();
        let ed = all_close(&format!("cross_entropy dlogits {rows}x{v}"), &gd, &wd, 1e-7, 1e-5).unwrap();
        for r in (0..rows).filter(|&r| weights[r] == 0.0) {
            assert_eq!(gl[r], 0.0);
            assert!(gd[r * v..(r + 1) * v].iter().all(|&y| y == 0.0), "row {r} of weight 0");
        }
        report!("cross_entropy {rows}x{v}: loss max err {el:.1e}, dlogits max err {ed:.1e}");
    }
}

async fn cross_entropy_bad_target_and_shapes(g: &Gpu) {
    let lt = g.upload_f32(&[0.0, 1.0, 2.0, 0.5, 0.5, 0.5], &[2, 3]).unwrap();
    let tt = g.upload_u32(&[3, 1], &[2]).unwrap();
    let wt = g.upload_f32(&[1.0, 1.0], &[2]).unwrap();
    let (loss, _) = g.cross_entropy(&lt, &tt, &wt).unwrap();
    let l = g.read_f32(&loss).await.unwrap();
    assert!(l[0].is_nan(), "target out of range: {}", l[0]);
    assert!((l[1] - 3f32.ln()).abs() < 1e-6, "{}", l[1]);
    let bad = g.upload_f32(&[1.0, 1.0], &[2]).unwrap();
    let err = g.cross_entropy(&lt, &bad, &wt).unwrap_err().to_string();
    assert!(err.contains("cross_entropy") && err.contains("targets"), "{err}");
    assert!(g.cross_entropy(&lt, &tt, &g.upload_f32(&[1.0; 3], &[3]).unwrap()).is_err());
}

gpu_tests!(
    logit_stats_match_step_stats,
    logit_stats_duplicated_max_gives_equal_p_second,
    cross_entropy_matches_candle,
    cross_entropy_bad_target_and_shapes
);
