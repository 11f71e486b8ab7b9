//! Quantized weights (GGUF block formats kept as is on the GPU) against candle: random blocks
//! (random f16 scales, subnormals included, and random quant bytes) dequantized by candle,
//! then multiplied on the CPU; rows not multiples of the 64-row tile, rows of 1, 2 and 3
//! blocks; weights split over several buffers; the embedding gather.

use crate::common::{flat, rand};
use crate::qweights::{dequantize, random_weight};
use candle_core::{Device, Tensor as Ct};
use labelcast_gpu::testing::{all_close, random};
use labelcast_gpu::{Gpu, QWeight, TensorType};

/// Tolerance for sums of products: relative to the largest value of the result.
fn check(what: &str, got: &[f32], want: &[f32]) -> f32 {
    let scale = want.iter().fold(1e-3f32, |m, v| m.max(v.abs()));
    let err = all_close(what, got, want, 2e-6 * scale, 1e-5).unwrap();
    err / scale
}

fn upload(g: &Gpu, f: TensorType, rows: usize, cols: usize, bytes: &[u8], chunk: Option<u64>) -> QWeight {
    match chunk {
        None => g.upload_weight("w", f, rows, cols, bytes).unwrap(),
        Some(c) => g.upload_weight_chunked("w", f, rows, cols, bytes, c).unwrap(),
    }
}

/// Forward (with bias, then accumulating), backward (fresh, then accumulating) and the
/// embedding of every row plus invalid ids, against candle. Returns the max relative error.
async fn check_all(g: &Gpu, f: TensorType, rows: usize, cols: usize, t: usize, chunk: Option<u64>) -> f32 {
    let name = format!("{} [{rows}, {cols}] T={t} chunk={chunk:?}", f.name());
    let bytes = random_weight(f, rows, cols, 7 + rows as u64 * 31 + cols as u64);
    let wc = dequantize(f, rows, cols, &bytes);
    let w = upload(g, f, rows, cols, &bytes, chunk);
    if let Some(c) = chunk {
        assert!(w.num_chunks() > 1, "{name}: {c} bytes per chunk gave one chunk");
    }
    let (_, xc, xt) = rand(g, &[t, cols], 1 + t as u64);
    let (_, bc, bt) = rand(g, &[rows], 2);
    let (_, cc, ct) = rand(g, &[t, rows], 3);
    let mut worst = 0f32;

    let lin = xc.matmul(&wc.t().unwrap()).unwrap().broadcast_add(&bc).unwrap();
    let got = g.read_f32(&g.linear_q(&xt, &w, Some(&bt)).unwrap()).await.unwrap();
    worst = worst.max(check(&format!("{name} linear"), &got, &flat(&lin)));
    g.linear_q_into(&xt, &w, Some(&bt), &ct, true).unwrap();
    let got = g.read_f32(&ct).await.unwrap();
    worst = worst.max(check(&format!("{name} linear acc"), &got, &flat(&(&lin + &cc).unwrap())));

    let (_, dyc, dyt) = rand(g, &[t, rows], 4);
    let (_, ec, et) = rand(g, &[t, cols], 5);
    let back = dyc.matmul(&wc).unwrap();
    let got = g.read_f32(&g.linear_q_backward(&dyt, &w).unwrap()).await.unwrap();
    worst = worst.max(check(&format!("{name} backward"), &got, &flat(&back)));
    g.linear_q_backward_into(&dyt, &w, &et, true).unwrap();
    let got = g.read_f32(&et).await.unwrap();
    worst = worst.max(check(&format!("{name} backward acc"), &got, &flat(&(&back + &ec).unwrap())));

    // The gather gives the dequantized values themselves: they must be candle's exactly.
    let mut ids: Vec<u32> = (0..rows as u32).rev().collect();
    ids.extend([0, rows as u32, u32::MAX]);
    let idt = g.upload_u32(&ids, &[ids.len()]).unwrap();
    let got = g.read_f32(&g.embedding(&w, &idt).unwrap()).await.unwrap();
    let table = flat(&wc);
    let want: Vec<f32> = ids
        .iter()
        .flat_map(|&i| {
            let i = i as usize;
            if i < rows {
                table[i * cols..(i + 1) * cols].to_vec()
            } else {
                vec![0.0; cols]
            }
        })
        .collect();
    assert_eq!(got.len(), want.len());
    for (j, (a, b)) in got.iter().zip(&want).enumerate() {
        assert!(a.to_bits() == b.to_bits(), "{name} embedding element {j}: {a} != {b}");
    }
    worst
}

async fn every_format_matches_candle(g: &Gpu) {
    for f in TensorType::ALL {
        let bs = f.block_size().max(32);
        let mut worst = 0f32;
        for (rows, blocks, t) in [(1, 1, 1), (37, 2, 5), (130, 3, 67)] {
            worst = worst.max(check_all(g, f, rows, blocks * bs, t, None).await);
        }
        report!("{}: max error {worst:.2e} of the result's magnitude; dequantized values exact", f.name());
    }
}

async fn float_formats_take_any_width(g: &Gpu) {
    for f in [TensorType::F32, TensorType::F16, TensorType::BF16] {
        for (rows, cols) in [(3, 1), (5, 33), (66, 75)] {
            check_all(g, f, rows, cols, 9, None).await;
        }
    }
}

async fn weights_split_over_buffers(g: &Gpu) {
    for f in TensorType::ALL {
        let cols = 2 * f.block_size().max(32);
        let rows = 71;
        // About 9 rows per buffer (repacking only ever adds a few bytes per block).
        let row_bytes = cols / f.block_size() * (f.type_size() + 2);
        let worst = check_all(g, f, rows, cols, 13, Some(9 * row_bytes as u64)).await;
        report!("{} split: max error {worst:.2e}", f.name());
    }
}

/// A weight read a few rows at a time (as a model streamed from disk is uploaded), over
/// several buffers, holds exactly the values of the whole upload; rows of a length that is
/// no multiple of 4 bytes (F16 with odd widths) go in groups that keep writes word-aligned.
async fn weights_uploaded_in_pieces(g: &Gpu) {
    let mut cases: Vec<(TensorType, usize)> =
        TensorType::ALL.iter().map(|&f| (f, 2 * f.block_size().max(32))).collect();
    cases.push((TensorType::F16, 33));
    for (f, cols) in cases {
        let rows = 71;
        let bytes = random_weight(f, rows, cols, 11);
        let row_in = bytes.len() / rows;
        let row_gpu = cols / f.block_size() * (f.type_size() + 2);
        let mut largest = 0;
        let w = g
            .upload_weight_rows("w", f, rows, cols, 9 * row_gpu as u64, 2 * row_in, |r| {
                largest = largest.max(r.len());
                Ok::<_, labelcast_gpu::GpuError>(bytes[r.start * row_in..r.end * row_in].to_vec())
            })
            .unwrap();
        assert!(w.num_chunks() > 1, "{}", f.name());
        let at_most = if row_in % 4 == 0 { 2 } else { 4 };
        assert!(largest <= at_most, "{}: {largest} rows read at once", f.name());
        let whole = g.upload_weight("w", f, rows, cols, &bytes).unwrap();
        let ids: Vec<u32> = (0..rows as u32).collect();
        let idt = g.upload_u32(&ids, &[rows]).unwrap();
        let got = g.read_f32(&g.embedding(&w, &idt).unwrap()).await.unwrap();
        let want = g.read_f32(&g.embedding(&whole, &idt).unwrap()).await.unwrap();
        assert!(got.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits()), "{} [{rows}, {cols}]", f.name());
    }
    let e = g
        .upload_weight_rows("w", TensorType::Q8_0, 4, 32, u64::MAX, 64, |_| {
            Ok::<_, labelcast_gpu::GpuError>(vec![0u8; 5])
        })
        .unwrap_err()
        .to_string();
    assert!(e.contains("upload_weight") && e.contains("5 bytes"), "{e}");
}

async fn small_vocab_like_output_layer(g: &Gpu) {
    // The shape of SmolLM2's output layer scaled down: many rows, 576 columns, Q8_0.
    let (rows, cols, t) = (1000, 576, 19);
    let bytes = random_weight(TensorType::Q8_0, rows, cols, 99);
    let wc = dequantize(TensorType::Q8_0, rows, cols, &bytes);
    let w = g.upload_weight("out", TensorType::Q8_0, rows, cols, &bytes).unwrap();
    let x = random(t * cols, 3, -1.0, 1.0);
    let xc = Ct::from_vec(x.clone(), (t, cols), &Device::Cpu).unwrap();
    let xt = g.upload_f32(&x, &[t, cols]).unwrap();
    let want = flat(&xc.matmul(&wc.t().unwrap()).unwrap());
    let got = g.read_f32(&g.linear_q(&xt, &w, None).unwrap()).await.unwrap();
    check("output layer", &got, &want);
}

async fn shape_errors_name_the_op(g: &Gpu) {
    let e = g.upload_weight("w", TensorType::Q8_0, 2, 48, &[0; 100]).unwrap_err().to_string();
    assert!(e.contains("upload_weight") && e.contains("Q8_0"), "{e}");
    let bytes = random_weight(TensorType::Q4_1, 4, 64, 1);
    let w = g.upload_weight("w", TensorType::Q4_1, 4, 64, &bytes).unwrap();
    let (_, _, x) = rand(g, &[3, 32], 1);
    let e = g.linear_q(&x, &w, None).unwrap_err().to_string();
    assert!(e.contains("linear_q") && e.contains("64"), "{e}");
    let e = g.linear_q_backward(&x, &w).unwrap_err().to_string();
    assert!(e.contains("linear_q_backward"), "{e}");
    let e = g.embedding(&w, &x).unwrap_err().to_string();
    assert!(e.contains("embedding") && e.contains("u32"), "{e}");
}

/// Rough timing of SmolLM2-135M's products per format (run with --ignored --nocapture; on
/// lavapipe only the ratios between formats mean anything). Native only: it times with
/// `Instant`, which wasm32 lacks.
#[cfg(not(target_arch = "wasm32"))]
#[test]
#[ignore]
fn bench_smollm2_shapes() {
    use labelcast_gpu::testing::block_on;
    let Some(g) = labelcast_gpu::testing::test_gpu() else { return };
    let g = &g;
    let t = 64;
    for (rows, cols) in [(1536, 576), (576, 1536), (49152, 576)] {
        let x = g.upload_f32(&random(t * cols, 1, -1.0, 1.0), &[t, cols]).unwrap();
        for f in [TensorType::F32, TensorType::Q8_0, TensorType::Q4_1, TensorType::Q4K, TensorType::Q6K] {
            if cols % f.block_size() != 0 {
                continue;
            }
            let w = upload(g, f, rows, cols, &random_weight(f, rows, cols, 5), None);
            block_on(g.read_f32(&g.linear_q(&x, &w, None).unwrap())).unwrap();
            let start = std::time::Instant::now();
            let reps = 3;
            for _ in 0..reps {
                let _ = g.linear_q(&x, &w, None).unwrap();
            }
            block_on(g.finish()).unwrap();
            let ms = start.elapsed().as_secs_f64() * 1e3 / reps as f64;
            report!("[{t}, {cols}] x [{rows}, {cols}]^T {}: {ms:.1} ms", f.name());
        }
    }
}

gpu_tests!(
    every_format_matches_candle,
    float_formats_take_any_width,
    weights_split_over_buffers,
    weights_uploaded_in_pieces,
    small_vocab_like_output_layer,
    shape_errors_name_the_op
);
