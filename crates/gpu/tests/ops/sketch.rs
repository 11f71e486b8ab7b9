//! The GPU count-sketch against the engine's CPU sketch (core's `bucket_sign` hash, and
//! GradStore::add_block's accumulation, blocks in offset order): equal bit for bit.

use labelcast_core::rng::bucket_sign;
use labelcast_gpu::Gpu;
use labelcast_gpu::testing::random;

/// GradStore::add_block over consecutive blocks of `block` coordinates.
fn cpu_sketch(g: &[f32], size: usize, seed: u64, block: usize) -> Vec<f32> {
    let mut row = vec![0f32; size];
    for (n, chunk) in g.chunks(block).enumerate() {
        let offset = n * block;
        for (k, &v) in chunk.iter().enumerate() {
            let (b, neg) = bucket_sign(seed, (offset + k) as u64, size as u64);
            row[b] += if neg { -v } else { v };
        }
    }
    row
}

async fn sketch_equals_the_cpu_sketch_bit_for_bit(gpu: &Gpu) {
    for &(len, size, seed) in &[(1usize, 1usize, 3u64), (1000, 37, 7), (100_003, 4099, 11), (300_000, 70_001, 12)] {
        let g = random(len, seed, -1.0, 1.0);
        let plan = gpu.sketch_plan(len, size, |i| bucket_sign(seed, i as u64, size as u64)).unwrap();
        let t = gpu.upload_f32(&g, &[len]).unwrap();
        let got = gpu.read_f32(&gpu.sketch_gather(&t, &plan).unwrap()).await.unwrap();
        let want = cpu_sketch(&g, size, seed, 577);
        let same = got.iter().zip(&want).filter(|(a, b)| a.to_bits() == b.to_bits()).count();
        assert_eq!(same, size, "len {len}, size {size}: {} buckets differ", size - same);
    }
}

async fn sketch_shape_errors(gpu: &Gpu) {
    let plan = gpu.sketch_plan(10, 3, |i| (i % 3, false)).unwrap();
    let t = gpu.upload_f32(&[0.0; 9], &[9]).unwrap();
    let err = gpu.sketch_gather(&t, &plan).unwrap_err().to_string();
    assert!(err.contains("sketch_gather"), "{err}");
    assert!(gpu.sketch_plan(10, 3, |i| (i, false)).is_err());
    assert!(gpu.sketch_plan(0, 3, |i| (i, false)).is_err());
}

gpu_tests!(sketch_equals_the_cpu_sketch_bit_for_bit, sketch_shape_errors);
