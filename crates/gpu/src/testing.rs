//! Helpers for tests of GPU ops (here and in labelcast-engine): a test device, seeded
//! random inputs and a tolerance check that says how far off and where.

use crate::context::{Gpu, GpuOptions};

/// The GPU for tests: any adapter, software ones included (lavapipe in CI). Panics with a
/// clear message when there is none, so a missing driver fails CI instead of skipping
/// tests; set `LABELCAST_SKIP_GPU=1` to skip on a machine without one.
pub fn test_gpu() -> Option<Gpu> {
    if std::env::var_os("LABELCAST_SKIP_GPU").is_some_and(|v| v == "1") {
        eprintln!("LABELCAST_SKIP_GPU=1: skipping a GPU test");
        return None;
    }
    match pollster_block_on(Gpu::new(&GpuOptions { allow_software: true })) {
        Ok(g) => Some(g),
        Err(e) => {
            panic!("no GPU for the GPU tests ({e}); install mesa-vulkan-drivers (lavapipe) or set LABELCAST_SKIP_GPU=1")
        }
    }
}

/// The GPU for tests where futures are awaited rather than blocked on (wasm-bindgen-test in
/// the browser): any adapter, SwiftShader included. Panics with the reason when there is none,
/// so a browser without WebGPU (a missing --enable-unsafe-webgpu) fails instead of skipping.
pub async fn test_gpu_async() -> Gpu {
    match Gpu::new(&GpuOptions { allow_software: true }).await {
        Ok(g) => g,
        Err(e) => panic!("no GPU for the GPU tests ({e}); in Chromium, WebGPU needs --enable-unsafe-webgpu"),
    }
}

/// A tiny executor so the crate needs no pollster outside tests of other crates.
fn pollster_block_on<F: std::future::Future>(f: F) -> F::Output {
    use std::pin::pin;
    use std::task::{Context, Poll, Wake, Waker};
    struct Noop;
    impl Wake for Noop {
        fn wake(self: std::sync::Arc<Self>) {}
    }
    let waker = Waker::from(std::sync::Arc::new(Noop));
    let mut cx = Context::from_waker(&waker);
    let mut f = pin!(f);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::yield_now();
    }
}

/// Runs a future to completion (natively, GPU futures are ready once the device is polled).
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    pollster_block_on(f)
}

/// Seeded uniform values in [lo, hi) (splitmix64), the same on every platform.
pub fn random(n: usize, seed: u64, lo: f32, hi: f32) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            lo + (hi - lo) * ((z >> 40) as f32 / (1u64 << 24) as f32)
        })
        .collect()
}

/// Checks `|got - want| <= atol + rtol |want|` everywhere; the error names the worst
/// element, its index and both values.
pub fn all_close(what: &str, got: &[f32], want: &[f32], atol: f32, rtol: f32) -> Result<f32, String> {
    if got.len() != want.len() {
        return Err(format!("{what}: {} values, expected {}", got.len(), want.len()));
    }
    let (mut worst, mut at, mut max_abs) = (0f32, 0usize, 0f32);
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let d = (g - w).abs();
        // Infinities must match exactly; NaN must match NaN.
        if !(d.is_finite() || g.is_nan() && w.is_nan() || g == w) {
            return Err(format!("{what}: element {i} is {g}, expected {w}"));
        }
        let excess = d - (atol + rtol * w.abs());
        if excess > worst || i == 0 {
            worst = excess;
            at = i;
        }
        max_abs = max_abs.max(d);
    }
    if worst > 0.0 {
        return Err(format!(
            "{what}: max abs error {max_abs:.3e}; worst at element {at}: got {}, expected {} (atol {atol:.1e}, rtol {rtol:.1e})",
            got[at], want[at]
        ));
    }
    Ok(max_abs)
}
