//! Where the time of one decode step of SmolLM2-135M goes on this GPU (random weights in
//! the model's formats, 8 rows, one new token each, 150 cached keys): each piece is
//! recorded as often as one step runs it, then timed on its own.
//!
//! ```sh
//! cargo test -p labelcast-gpu --test bench_decode -- --ignored --nocapture --test-threads=1
//! ```

#[path = "ops/qweights.rs"]
mod qweights;

use std::time::Instant;

use labelcast_gpu::testing::{block_on, random};
use labelcast_gpu::{DType, Gpu, Tensor, TensorType};
use qweights::random_weight;

const B: usize = 8;
const LAYERS: usize = 30;

fn f32s(g: &Gpu, shape: &[usize], seed: u64) -> Tensor {
    g.upload_f32(&random(shape.iter().product(), seed, -1.0, 1.0), shape).unwrap()
}

/// Milliseconds per step: `record` records one step's worth of a piece.
fn time(g: &Gpu, what: &str, record: &mut dyn FnMut()) -> f64 {
    record();
    block_on(g.finish()).unwrap();
    let reps = 3;
    let start = Instant::now();
    for _ in 0..reps {
        record();
        block_on(g.finish()).unwrap();
    }
    let ms = start.elapsed().as_secs_f64() * 1e3 / reps as f64;
    eprintln!("{what:<44} {ms:8.1} ms / step");
    ms
}

fn pieces(g: &Gpu) {
    let (h, i, v, nh, nkv, hd, keys) = (576, 1536, 49152, 9, 3, 64, 150);
    let w = |f: TensorType, rows: usize, cols: usize| {
        g.upload_weight("w", f, rows, cols, &random_weight(f, rows, cols, rows as u64 + cols as u64)).unwrap()
    };
    let q4 = TensorType::Q4_1;
    let (wq, wk) = (w(q4, h, h), w(q4, nkv * hd, h));
    let (wg, wd) = (w(q4, i, h), w(q4, h, i));
    let out = w(TensorType::Q8_0, v, h);
    let x = f32s(g, &[B, h], 1);
    let x2 = f32s(g, &[B, h], 8);
    let act = f32s(g, &[B, i], 2);
    let mut total = 0.0;
    total += time(g, "q, o (Q4_1 [576, 576]) x 2 x 30", &mut || {
        for _ in 0..2 * LAYERS {
            g.linear_q(&x, &wq, None).unwrap();
        }
    });
    total += time(g, "k, v (Q4_1 [192, 576]) x 2 x 30", &mut || {
        for _ in 0..2 * LAYERS {
            g.linear_q(&x, &wk, None).unwrap();
        }
    });
    total += time(g, "gate, up (Q4_1 [1536, 576]) x 2 x 30", &mut || {
        for _ in 0..2 * LAYERS {
            g.linear_q(&x, &wg, None).unwrap();
        }
    });
    total += time(g, "down (Q4_1 [576, 1536]) x 30", &mut || {
        for _ in 0..LAYERS {
            g.linear_q(&act, &wd, None).unwrap();
        }
    });
    total += time(g, "output (Q8_0 [49152, 576]) x 1", &mut || {
        g.linear_q(&x, &out, None).unwrap();
    });
    let logits = g.linear_q(&x, &out, None).unwrap();
    total += time(g, "logit_stats [8, 49152] + read-back", &mut || {
        let (a, s) = g.logit_stats(&logits).unwrap();
        block_on(g.read_u32(&a)).unwrap();
        block_on(g.read_f32(&s)).unwrap();
    });
    let q = f32s(g, &[B, nh * hd], 3);
    let kc = f32s(g, &[B, nkv, keys + 32, hd], 4);
    let mask = g.zeros(&[B, 1, keys], DType::F32).unwrap();
    let cos = f32s(g, &[B, hd], 5);
    let norm_w = f32s(g, &[h], 6);
    let kv_new = f32s(g, &[B, nkv * hd], 7);
    total += time(g, "attention T=1, 150 keys x 30", &mut || {
        for _ in 0..LAYERS {
            g.attention(&q, &kc, &kc, keys, &mask, nh, nkv, 0.125, false).unwrap();
        }
    });
    total += time(g, "norms, rope, kv_write, silu, adds x 30", &mut || {
        for _ in 0..LAYERS {
            for _ in 0..2 {
                g.rms_norm(&x, &norm_w, 1e-5).unwrap();
                g.add_into(&x2, &x).unwrap();
                g.kv_write(&kc, &kv_new, B, keys).unwrap();
            }
            g.rope(&q, &cos, &cos, nh, false).unwrap();
            g.rope(&kv_new, &cos, &cos, nkv, false).unwrap();
            g.silu_mul(&act, &act).unwrap();
        }
    });
    eprintln!("{:<44} {total:8.1} ms / step", "sum");
}

#[test]
#[ignore]
fn bench_decode_step_pieces() {
    let Some(g) = labelcast_gpu::testing::test_gpu() else { return };
    pieces(&g);
}
