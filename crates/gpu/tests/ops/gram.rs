//! gram_partials against candle (f32 products, per chunk) and an f64 reference, on random
//! rows, for row counts and widths that are not multiples of the 16×16 tile or the chunk.

use crate::common::{flat, rand};
use labelcast_gpu::testing::all_close;
use labelcast_gpu::Gpu;

async fn gram_partials_match_candle_per_chunk(g: &Gpu) {
    for &(k, w, chunk) in
        &[(1usize, 1usize, 1usize), (2, 5, 16), (3, 100, 7), (17, 33, 16), (32, 1000, 256), (5, 4099, 65536)]
    {
        let (v, xc, xt) = rand(g, &[k, w], 3 + k as u64 + w as u64);
        let got = g.read_f32(&g.gram_partials(&xt, chunk).unwrap()).await.unwrap();
        let chunks = w.div_ceil(chunk);
        assert_eq!(got.len(), chunks * k * k, "k {k}, w {w}, chunk {chunk}");
        let mut want = Vec::new();
        for z in 0..chunks {
            let m = xc.narrow(1, z * chunk, chunk.min(w - z * chunk)).unwrap();
            want.extend(flat(&m.matmul(&m.t().unwrap()).unwrap()));
        }
        // f32 sums of up to `chunk` products of values in ±1: their error grows with the length.
        let atol = 1e-6 * chunk.min(w) as f32;
        all_close(&format!("gram k {k} w {w} chunk {chunk}"), &got, &want, atol, 1e-5).unwrap();
        // The chunks summed in f64, as the engine does, against an f64 Gram.
        let x64: Vec<f64> = v.iter().map(|&x| x as f64).collect();
        for i in 0..k {
            for j in 0..k {
                let want: f64 = (0..w).map(|c| x64[i * w + c] * x64[j * w + c]).sum();
                let sum: f64 = (0..chunks).map(|z| got[(z * k + i) * k + j] as f64).sum();
                let norms: f64 = (0..w).map(|c| x64[i * w + c].powi(2)).sum::<f64>().sqrt()
                    * (0..w).map(|c| x64[j * w + c].powi(2)).sum::<f64>().sqrt();
                assert!((sum - want).abs() < 2e-6 * norms, "k {k} w {w}: G[{i}][{j}] {sum} vs {want}");
            }
        }
    }
}

/// How far an f32 Gram of long rows is from f64, in chunks of the engine's 65536 columns and
/// in one chunk, on 1M columns (about a tenth of SmolLM2's LoRA gradient).
async fn gram_error_on_long_rows(g: &Gpu) {
    let (k, w) = (4, 1 << 20);
    let (v, _, xt) = rand(g, &[k, w], 99);
    let x64: Vec<f64> = v.iter().map(|&x| x as f64).collect();
    for chunk in [1 << 16, 1 << 20] {
        let got = g.read_f32(&g.gram_partials(&xt, chunk).unwrap()).await.unwrap();
        let mut worst = 0f64;
        for i in 0..k {
            for j in 0..k {
                let want: f64 = (0..w).map(|c| x64[i * w + c] * x64[j * w + c]).sum();
                let sum: f64 = (0..w.div_ceil(chunk)).map(|z| got[(z * k + i) * k + j] as f64).sum();
                let norm = (0..w).map(|c| x64[i * w + c].powi(2)).sum::<f64>().sqrt()
                    * (0..w).map(|c| x64[j * w + c].powi(2)).sum::<f64>().sqrt();
                worst = worst.max((sum - want).abs() / norm);
            }
        }
        report!("gram of {k} rows × {w}: chunks of {chunk}: max error / (|a| |b|) = {worst:.2e}");
        // The engine's chunks keep the error near f32 rounding; one long f32 sum (measured
        // 2.2e-5 on lavapipe) would not.
        if chunk == 1 << 16 {
            assert!(worst < 2e-6, "chunk {chunk}: {worst}");
        }
    }
}

async fn gram_shape_errors(g: &Gpu) {
    let t = g.upload_f32(&[0.0; 6], &[6]).unwrap();
    assert!(g.gram_partials(&t, 4).unwrap_err().to_string().contains("gram_partials"));
    let t = t.reshape(&[2, 3]).unwrap();
    assert!(g.gram_partials(&t, 0).is_err());
}

gpu_tests!(gram_partials_match_candle_per_chunk, gram_error_on_long_rows, gram_shape_errors);
