//! Elementwise ops (add, add_into, scale_into, silu_mul and its backward) and the RMSNorm
//! backward against candle: the forward values directly, the gradients against candle's
//! autograd in f64. Sizes are not multiples of the 256-thread workgroups; one add is large
//! enough for the grid to be split over x and y.

use crate::common::{flat, rand};
use candle_core::{DType, Device, Tensor as Ct, Var, D};
use labelcast_gpu::testing::{all_close, random};
use labelcast_gpu::Gpu;

const SHAPES: &[&[usize]] = &[&[1], &[3, 7], &[17, 1000], &[2, 3, 257]];

async fn add_add_into_and_scale_match_candle(g: &Gpu) {
    for (i, &shape) in SHAPES.iter().enumerate() {
        let (_, ac, at) = rand(g, shape, 10 + i as u64);
        let (_, bc, bt) = rand(g, shape, 20 + i as u64);
        let sum = g.add(&at, &bt).unwrap();
        assert_eq!(sum.shape(), shape);
        let want = flat(&(&ac + &bc).unwrap());
        let e = all_close("add", &g.read_f32(&sum).await.unwrap(), &want, 0.0, 0.0).unwrap();
        g.add_into(&at, &bt).unwrap();
        all_close("add_into", &g.read_f32(&at).await.unwrap(), &want, 0.0, 0.0).unwrap();
        g.scale_into(&at, -0.37).unwrap();
        let want = flat(&((&ac + &bc).unwrap() * -0.37f64).unwrap());
        let e2 = all_close("scale_into", &g.read_f32(&at).await.unwrap(), &want, 0.0, 0.0).unwrap();
        report!("{shape:?}: add max err {e:.1e}, scale max err {e2:.1e}");
    }
}

async fn add_over_a_split_grid(g: &Gpu) {
    // More than 65535 workgroups of 256: the grid spans y too.
    let n = 65536 * 256 + 3;
    let (a, _, at) = rand(g, &[n], 1);
    let (b, _, bt) = rand(g, &[n], 2);
    let want: Vec<f32> = a.iter().zip(&b).map(|(x, y)| x + y).collect();
    g.add_into(&at, &bt).unwrap();
    all_close("add_into (split grid)", &g.read_f32(&at).await.unwrap(), &want, 0.0, 0.0).unwrap();
}

async fn elementwise_shape_errors(g: &Gpu) {
    let (_, _, a) = rand(g, &[3, 7], 1);
    let (_, _, b) = rand(g, &[7, 3], 2);
    let err = g.add(&a, &b).unwrap_err().to_string();
    assert!(err.contains("add") && err.contains("[7, 3]"), "{err}");
    assert!(g.add_into(&a, &b).is_err());
    assert!(g.silu_mul(&a, &b).is_err());
    assert!(g.silu_mul_backward(&a, &a, &b).is_err());
    let u = g.upload_u32(&[1; 21], &[3, 7]).unwrap();
    assert!(g.scale_into(&u, 2.0).is_err());
}

async fn silu_mul_and_backward_match_candle_autograd(g: &Gpu) {
    for (i, &shape) in SHAPES.iter().enumerate() {
        let s = 30 + 3 * i as u64;
        // Gates over a wide range: both branches of the stable sigmoid, and saturation.
        let gv = random(shape.iter().product(), s, -12.0, 12.0);
        let gc = Ct::from_vec(gv.clone(), shape, &Device::Cpu).unwrap();
        let gt = g.upload_f32(&gv, shape).unwrap();
        let (_, uc, ut) = rand(g, shape, s + 1);
        let (_, dc, dt) = rand(g, shape, s + 2);

        let act = g.silu_mul(&gt, &ut).unwrap();
        let want = flat(&(gc.silu().unwrap() * &uc).unwrap());
        let e = all_close("silu_mul", &g.read_f32(&act).await.unwrap(), &want, 1e-6, 1e-6).unwrap();

        // Autograd in f64 of sum(d_act ⊙ silu(gate) ⊙ up).
        let gv = Var::from_tensor(&gc.to_dtype(DType::F64).unwrap()).unwrap();
        let uv = Var::from_tensor(&uc.to_dtype(DType::F64).unwrap()).unwrap();
        let l = (gv.as_tensor().silu().unwrap() * uv.as_tensor()).unwrap();
        let l = (l * dc.to_dtype(DType::F64).unwrap()).unwrap().sum_all().unwrap();
        let grads = l.backward().unwrap();
        let f32v = |t: &Ct| flat(&t.to_dtype(DType::F32).unwrap());
        let (dg, du) = g.silu_mul_backward(&dt, &gt, &ut).unwrap();
        let eg =
            all_close("silu_mul d_gate", &g.read_f32(&dg).await.unwrap(), &f32v(grads.get(&gv).unwrap()), 1e-6, 1e-5)
                .unwrap();
        let eu =
            all_close("silu_mul d_up", &g.read_f32(&du).await.unwrap(), &f32v(grads.get(&uv).unwrap()), 1e-6, 1e-5)
                .unwrap();
        report!("{shape:?}: silu_mul {e:.1e}, d_gate {eg:.1e}, d_up {eu:.1e}");
    }
}

async fn rms_norm_backward_matches_candle_autograd(g: &Gpu) {
    for &(rows, h) in &[(1, 1), (3, 7), (17, 576), (2, 1000), (4, 257)] {
        let s = 100 + rows as u64 * 7 + h as u64;
        let (_, xc, xt) = rand(g, &[rows, h], s);
        let (_, wc, wt) = rand(g, &[h], s + 1);
        let (_, dyc, dyt) = rand(g, &[rows, h], s + 2);
        let eps = 1e-5;
        let (_, inv) = g.rms_norm(&xt, &wt, eps as f32).unwrap();
        let dx = g.rms_norm_backward(&dyt, &xt, &inv, &wt).unwrap();
        assert_eq!(dx.shape(), &[rows, h]);

        // Autograd in f64 of sum(dy ⊙ rms_norm(x)), the norm as the engine's backend/cpu/ops.rs writes it.
        let xv = Var::from_tensor(&xc.to_dtype(DType::F64).unwrap()).unwrap();
        let x = xv.as_tensor();
        let inv_c = (x.sqr().unwrap().mean_keepdim(D::Minus1).unwrap() + eps).unwrap().sqrt().unwrap().recip().unwrap();
        let y = x.broadcast_mul(&inv_c).unwrap().broadcast_mul(&wc.to_dtype(DType::F64).unwrap()).unwrap();
        let l = (y * dyc.to_dtype(DType::F64).unwrap()).unwrap().sum_all().unwrap();
        let grads = l.backward().unwrap();
        let want = flat(&grads.get(&xv).unwrap().to_dtype(DType::F32).unwrap());
        // The gradient scales with inv (up to 1/sqrt(eps) for tiny rows): relative tolerance.
        let scale = want.iter().fold(0f32, |m, v| m.max(v.abs())).max(1.0);
        let e = all_close("rms_norm_backward", &g.read_f32(&dx).await.unwrap(), &want, 2e-6 * scale, 1e-5).unwrap();
        report!("rms_norm_backward {rows}x{h}: max err {e:.1e} (max |dx| {scale:.1})");
    }
    let (_, _, a) = rand(g, &[3, 7], 1);
    let (_, _, w) = rand(g, &[6], 2);
    let (_, _, inv) = rand(g, &[3], 3);
    let err = g.rms_norm_backward(&a, &a, &inv, &w).unwrap_err().to_string();
    assert!(err.contains("rms_norm_backward"), "{err}");
}

gpu_tests!(
    add_add_into_and_scale_match_candle,
    add_over_a_split_grid,
    elementwise_shape_errors,
    silu_mul_and_backward_match_candle_autograd,
    rms_norm_backward_matches_candle_autograd
);
