//! Shared by the op tests: the candle CPU reference, the GPU under test, and `gpu_tests!`,
//! which runs each test body natively and in the browser.
#![allow(dead_code)]

use candle_core::{Device, Tensor as Ct};
use labelcast_gpu::testing::random;
use labelcast_gpu::{Gpu, Tensor};

/// Runs every named `async fn name(g: &Gpu)` of the calling module as a test twice over, with
/// one body: natively as a `#[test]` on the adapter wgpu finds (lavapipe in CI), blocking on
/// the future; in wasm32 as a `#[wasm_bindgen_test]` on the browser's WebGPU adapter
/// (SwiftShader in headless Chromium), awaiting it. A body that is not listed here is dead
/// code, which clippy (-D warnings) refuses, so no test is silently left out of either run.
macro_rules! gpu_tests {
    ($($name:ident),+ $(,)?) => {
        #[cfg(not(target_arch = "wasm32"))]
        mod native {
            $(
                #[test]
                fn $name() {
                    let Some(g) = labelcast_gpu::testing::test_gpu() else { return };
                    labelcast_gpu::testing::block_on(super::$name(&g));
                }
            )+
        }
        #[cfg(target_arch = "wasm32")]
        mod browser {
            $(
                #[wasm_bindgen_test::wasm_bindgen_test]
                async fn $name() {
                    let g = labelcast_gpu::testing::test_gpu_async().await;
                    let start = js_sys::Date::now();
                    super::$name(&g).await;
                    let s = (js_sys::Date::now() - start) / 1e3;
                    wasm_bindgen_test::console_log!("{} on {}: {s:.2} s", stringify!($name), g.adapter());
                }
            )+
        }
    };
}

/// `eprintln!` natively; the browser console in wasm32 (where stderr goes nowhere), which
/// wasm-bindgen-test-runner prints with `--nocapture`.
macro_rules! report {
    ($($t:tt)*) => {{
        #[cfg(not(target_arch = "wasm32"))]
        eprintln!($($t)*);
        #[cfg(target_arch = "wasm32")]
        wasm_bindgen_test::console_log!($($t)*);
    }};
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
