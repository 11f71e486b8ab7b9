//! Shared by the op tests: the candle CPU reference and the GPU under test.
#![allow(dead_code)]

use candle_core::{Device, Tensor as Ct};
use labelcast_gpu::testing::{random, test_gpu};
use labelcast_gpu::{Gpu, Tensor};

pub fn gpu() -> Option<Gpu> {
    test_gpu()
}

/// Random values and the same values as a candle tensor and a GPU tensor.
pub fn rand(g: &Gpu, shape: &[usize], seed: u64) -> (Vec<f32>, Ct, Tensor) {
    let n = shape.iter().product();
    let v = random(n, seed, -1.0, 1.0);
    let c = Ct::from_vec(v.clone(), shape, &Device::Cpu).unwrap();
    let t = g.upload_f32(&v, shape).unwrap();
    (v, c, t)
}

pub fn flat(t: &Ct) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
}
