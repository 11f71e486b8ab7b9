//! matmul and linear against candle on random inputs, including sizes that are not
//! multiples of the 64×64 tile or the 16-deep K step.

use crate::common::{flat, rand};
use labelcast_gpu::testing::all_close;
use labelcast_gpu::Gpu;
use labelcast_gpu::MatmulOpts;

const SIZES: &[(usize, usize, usize)] =
    &[(1, 1, 1), (3, 5, 7), (64, 64, 16), (65, 63, 17), (130, 70, 200), (7, 576, 33)];

async fn matmul_all_layouts_match_candle(g: &Gpu) {
    for &(m, n, k) in SIZES {
        for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
            let a_shape = if ta { [k, m] } else { [m, k] };
            let b_shape = if tb { [n, k] } else { [k, n] };
            let (_, ac, at) = rand(g, &a_shape, 1 + m as u64);
            let (_, bc, bt) = rand(g, &b_shape, 2 + n as u64);
            let ac = if ta { ac.t().unwrap() } else { ac };
            let bc = if tb { bc.t().unwrap() } else { bc };
            let want = flat(&(ac.matmul(&bc).unwrap() * 0.5).unwrap());
            let o = MatmulOpts { trans_a: ta, trans_b: tb, alpha: 0.5 };
            let got = g.read_f32(&g.matmul(&at, &bt, o).unwrap()).await.unwrap();
            all_close(&format!("matmul {m}x{n}x{k} ta={ta} tb={tb}"), &got, &want, 1e-5, 1e-5).unwrap();
        }
    }
}

async fn batched_matmul_with_shared_and_batched_b(g: &Gpu) {
    let (z, m, n, k) = (3, 9, 70, 20);
    let (_, ac, at) = rand(g, &[z, m, k], 5);
    let (_, bc, bt) = rand(g, &[z, k, n], 6);
    let want = flat(&ac.matmul(&bc).unwrap());
    let got = g.read_f32(&g.matmul(&at, &bt, MatmulOpts::default()).unwrap()).await.unwrap();
    all_close("batched", &got, &want, 1e-5, 1e-5).unwrap();
    // A 2-D B is shared by every batch.
    let (_, wc, wt) = rand(g, &[n, k], 7);
    let want = flat(&ac.broadcast_matmul(&wc.t().unwrap()).unwrap());
    let o = MatmulOpts { trans_b: true, ..Default::default() };
    let got = g.read_f32(&g.matmul(&at, &wt, o).unwrap()).await.unwrap();
    all_close("shared weight", &got, &want, 1e-5, 1e-5).unwrap();
}

async fn linear_with_bias_and_accumulate(g: &Gpu) {
    let (t, i, o) = (37, 96, 130);
    let (_, xc, xt) = rand(g, &[t, i], 11);
    let (_, wc, wt) = rand(g, &[o, i], 12);
    let (_, bc, bt) = rand(g, &[o], 13);
    let (_, cc, ct) = rand(g, &[t, o], 14);
    let lin = xc.matmul(&wc.t().unwrap()).unwrap().broadcast_add(&bc).unwrap();
    let got = g.read_f32(&g.linear(&xt, &wt, Some(&bt)).unwrap()).await.unwrap();
    all_close("linear+bias", &got, &flat(&lin), 1e-5, 1e-5).unwrap();
    let opts = MatmulOpts { trans_b: true, ..Default::default() };
    g.matmul_into(&xt, &wt, opts, Some(&bt), &ct, true).unwrap();
    let got = g.read_f32(&ct).await.unwrap();
    all_close("accumulate", &got, &flat(&(lin + cc).unwrap()), 1e-5, 1e-5).unwrap();
}

async fn shape_errors_name_the_op(g: &Gpu) {
    let (_, _, a) = rand(g, &[3, 4], 1);
    let (_, _, b) = rand(g, &[5, 6], 2);
    let e = g.matmul(&a, &b, MatmulOpts::default()).unwrap_err().to_string();
    assert!(e.contains("matmul") && e.contains("[3, 4]") && e.contains("[5, 6]"), "{e}");
}

gpu_tests!(
    matmul_all_layouts_match_candle,
    batched_matmul_with_shared_and_batched_b,
    linear_with_bias_and_accumulate,
    shape_errors_name_the_op
);
