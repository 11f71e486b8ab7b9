//! The small-M linear layer (matvec.wgsl, `linear_q` for up to MATVEC_MAX_ROWS rows) against
//! candle, for every weight format: every row count 1..=MATVEC_MAX_ROWS, W rows that do not
//! fill the last workgroup, widths of 1 and several blocks (any width for the float formats),
//! bias, accumulation into a larger output, weights split over buffers.

use crate::common::{flat, rand};
use crate::qweights::{dequantize, random_weight};
use labelcast_gpu::testing::all_close;
use labelcast_gpu::{Gpu, TensorType, MATVEC_MAX_ROWS};

/// Max error relative to the result's largest value; fails past 2e-6 of it (plus 1e-5
/// relative), as the tiled matmul's tests.
fn check(what: &str, got: &[f32], want: &[f32]) -> f32 {
    let scale = want.iter().fold(1e-3f32, |m, v| m.max(v.abs()));
    all_close(what, got, want, 2e-6 * scale, 1e-5).unwrap() / scale
}

/// `linear_q` with bias, then accumulating, for rows 1..=MATVEC_MAX_ROWS of one weight.
async fn check_weight(g: &Gpu, f: TensorType, n: usize, k: usize, chunk: Option<u64>) -> f32 {
    let bytes = random_weight(f, n, k, 11 + n as u64 * 7 + k as u64);
    let wc = dequantize(f, n, k, &bytes);
    let w = match chunk {
        None => g.upload_weight("w", f, n, k, &bytes).unwrap(),
        Some(c) => g.upload_weight_chunked("w", f, n, k, &bytes, c).unwrap(),
    };
    if chunk.is_some() {
        assert!(w.num_chunks() > 1, "{} [{n}, {k}]: one chunk", f.name());
    }
    let (_, bc, bt) = rand(g, &[n], 2);
    let mut worst = 0f32;
    for m in 1..=MATVEC_MAX_ROWS {
        let name = format!("{} [{n}, {k}] M={m} chunk={chunk:?}", f.name());
        let (_, xc, xt) = rand(g, &[m, k], 100 + m as u64);
        let (_, cc, ct) = rand(g, &[m, n], 200 + m as u64);
        let want = xc.matmul(&wc.t().unwrap()).unwrap().broadcast_add(&bc).unwrap();
        let got = g.read_f32(&g.linear_q(&xt, &w, Some(&bt)).unwrap()).await.unwrap();
        worst = worst.max(check(&name, &got, &flat(&want)));
        g.linear_q_into(&xt, &w, None, &ct, true).unwrap();
        let got = g.read_f32(&ct).await.unwrap();
        let want = (xc.matmul(&wc.t().unwrap()).unwrap() + &cc).unwrap();
        worst = worst.max(check(&format!("{name} acc"), &got, &flat(&want)));
    }
    worst
}

async fn matvec_every_format_matches_candle(g: &Gpu) {
    for f in TensorType::ALL {
        let bs = f.block_size().max(32);
        let mut worst = 0f32;
        // 1 row, rows filling no workgroup evenly, and more rows than the 32 threads of a
        // row have vec4s per block.
        for (n, blocks) in [(1, 1), (37, 3), (131, 2)] {
            worst = worst.max(check_weight(g, f, n, blocks * bs, None).await);
        }
        let row_bytes = 2 * bs / f.block_size() * (f.type_size() + 2);
        worst = worst.max(check_weight(g, f, 45, 2 * bs, Some(9 * row_bytes as u64)).await);
        report!("matvec {}: max error {worst:.2e} of the result's magnitude", f.name());
    }
}

async fn matvec_float_formats_take_any_width(g: &Gpu) {
    for f in [TensorType::F32, TensorType::F16, TensorType::BF16] {
        for (n, k) in [(3, 1), (17, 3), (9, 33), (66, 75), (5, 130)] {
            check_weight(g, f, n, k, None).await;
        }
    }
}

async fn matvec_shape_errors(g: &Gpu) {
    let bytes = random_weight(TensorType::Q8_0, 4, 64, 1);
    let w = g.upload_weight("w", TensorType::Q8_0, 4, 64, &bytes).unwrap();
    let (_, _, x) = rand(g, &[2, 64], 1);
    let (_, _, out) = rand(g, &[3, 4], 1);
    let e = g.linear_q_into(&x, &w, None, &out, false).unwrap_err().to_string();
    assert!(e.contains("linear_q"), "{e}");
}

/// `linear_q` on SmolLM2-135M's decode shapes around the switch from the matvec kernel
/// (M ≤ MATVEC_MAX_ROWS) to the 64×64 tiles (run with --ignored --nocapture). Native only:
/// it times with `Instant`, which wasm32 lacks.
#[cfg(not(target_arch = "wasm32"))]
#[test]
#[ignore]
fn bench_decode_shapes() {
    use labelcast_gpu::testing::{block_on, random};
    let Some(g) = labelcast_gpu::testing::test_gpu() else { return };
    for (f, rows, cols) in
        [(TensorType::Q4_1, 1536, 576), (TensorType::Q4_1, 576, 1536), (TensorType::Q8_0, 49152, 576)]
    {
        let w = g.upload_weight("w", f, rows, cols, &random_weight(f, rows, cols, 5)).unwrap();
        for m in [1, 4, 8, 12, 16, 17] {
            let x = g.upload_f32(&random(m * cols, 1, -1.0, 1.0), &[m, cols]).unwrap();
            block_on(g.read_f32(&g.linear_q(&x, &w, None).unwrap())).unwrap();
            let reps = 5;
            let start = std::time::Instant::now();
            for _ in 0..reps {
                let _ = g.linear_q(&x, &w, None).unwrap();
            }
            block_on(g.finish()).unwrap();
            let ms = start.elapsed().as_secs_f64() * 1e3 / reps as f64;
            eprintln!("[{m}, {cols}] x {} [{rows}, {cols}]^T: {ms:.2} ms", f.name());
        }
    }
}

gpu_tests!(matvec_every_format_matches_candle, matvec_float_formats_take_any_width, matvec_shape_errors);
