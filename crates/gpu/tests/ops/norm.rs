//! RMSNorm against candle.

use crate::common::{flat, rand};
use candle_core::D;
use labelcast_gpu::testing::all_close;
use labelcast_gpu::Gpu;

async fn rms_norm_matches_candle(g: &Gpu) {
    for &(rows, h) in &[(1, 1), (3, 7), (17, 576), (2, 1000)] {
        let (_, xc, xt) = rand(g, &[rows, h], rows as u64);
        let (_, wc, wt) = rand(g, &[h], 99);
        let eps = 1e-5;
        let inv = (xc.sqr().unwrap().mean_keepdim(D::Minus1).unwrap() + eps).unwrap().sqrt().unwrap().recip().unwrap();
        let y = xc.broadcast_mul(&inv).unwrap().broadcast_mul(&wc).unwrap();
        let (gy, ginv) = g.rms_norm(&xt, &wt, eps as f32).unwrap();
        all_close("rmsnorm y", &g.read_f32(&gy).await.unwrap(), &flat(&y), 1e-5, 1e-5).unwrap();
        all_close("rmsnorm inv", &g.read_f32(&ginv).await.unwrap(), &flat(&inv), 1e-5, 1e-5).unwrap();
    }
}

gpu_tests!(rms_norm_matches_candle);
