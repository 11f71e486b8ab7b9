//! The GPU count-sketch against the engine's CPU sketch (core's `bucket_sign` hash, and
//! GradStore::add_block's accumulation in the order the pieces arrive): equal bit for bit,
//! with the store split into column blocks and several examples per piece.

use labelcast_core::rng::bucket_sign;
use labelcast_gpu::testing::random;
use labelcast_gpu::{DType, Gpu};

/// GradStore::add_block of the pieces (offset, values) in the order given.
fn cpu_sketch(pieces: &[(usize, Vec<f32>)], size: usize, seed: u64) -> Vec<f32> {
    let mut row = vec![0f32; size];
    for (offset, g) in pieces {
        for (k, &v) in g.iter().enumerate() {
            let (b, neg) = bucket_sign(seed, (offset + k) as u64, size as u64);
            row[b] += if neg { -v } else { v };
        }
    }
    row
}

async fn sketch_equals_the_cpu_sketch_bit_for_bit(gpu: &Gpu) {
    // (piece lengths, buckets, column block width, examples)
    let cases: &[(&[usize], usize, usize, usize)] = &[
        (&[1], 1, 1, 1),
        (&[1000], 37, 37, 2),
        (&[577, 1000, 3], 4099, 1000, 3),
        (&[100_003, 70_000], 70_001, 16_384, 2),
        (&[5000, 5000, 5000], 64, 7, 4),
    ];
    for (n, &(lens, size, bw, ex)) in cases.iter().enumerate() {
        let seed = 11 + n as u64;
        let blocks: Vec<(usize, usize)> = (0..size).step_by(bw).map(|c0| (c0, bw.min(size - c0))).collect();
        let store: Vec<_> =
            blocks.iter().map(|&(_, w)| gpu.zeros_static("test store", &[ex + 1, w], DType::F32).unwrap()).collect();
        // Pieces in reverse offset order, as the backward pass hands them out (last layer first).
        let offsets: Vec<usize> = lens.iter().scan(0, |o, &l| Some(std::mem::replace(o, *o + l))).collect();
        let mut pieces = vec![Vec::new(); ex];
        for (p, (&len, &off)) in lens.iter().zip(&offsets).enumerate().rev() {
            let g = random(ex * len, seed * 100 + p as u64, -1.0, 1.0);
            let plan = gpu.sketch_plan(len, size, |i| bucket_sign(seed, (off + i) as u64, size as u64)).unwrap();
            let t = gpu.upload_f32(&g, &[ex, len]).unwrap();
            for (blk, &(c0, _)) in store.iter().zip(&blocks) {
                // Examples go to rows 1.. (row 0 stays zero).
                gpu.sketch_add(&t, &plan, blk, 1, c0).unwrap();
            }
            for (e, piece) in pieces.iter_mut().enumerate() {
                piece.push((off, g[e * len..(e + 1) * len].to_vec()));
            }
        }
        let mut got = vec![vec![0f32; size]; ex + 1];
        for (blk, &(c0, w)) in store.iter().zip(&blocks) {
            let v = gpu.read_f32(blk).await.unwrap();
            for (r, row) in got.iter_mut().enumerate() {
                row[c0..c0 + w].copy_from_slice(&v[r * w..(r + 1) * w]);
            }
        }
        assert!(got[0].iter().all(|&x| x == 0.0), "case {n}: row 0 was written");
        for (e, piece) in pieces.iter().enumerate() {
            let want = cpu_sketch(piece, size, seed);
            let same = got[e + 1].iter().zip(&want).filter(|(a, b)| a.to_bits() == b.to_bits()).count();
            assert_eq!(same, size, "case {n}, example {e}: {} buckets differ", size - same);
        }
    }
}

async fn sketch_shape_errors(gpu: &Gpu) {
    let plan = gpu.sketch_plan(10, 3, |i| (i % 3, false)).unwrap();
    let out = gpu.zeros_static("test store", &[2, 3], DType::F32).unwrap();
    let t = gpu.upload_f32(&[0.0; 9], &[1, 9]).unwrap();
    let err = gpu.sketch_add(&t, &plan, &out, 0, 0).unwrap_err().to_string();
    assert!(err.contains("sketch_add"), "{err}");
    let t = gpu.upload_f32(&[0.0; 20], &[2, 10]).unwrap();
    assert!(gpu.sketch_add(&t, &plan, &out, 1, 0).is_err(), "rows past the block");
    assert!(gpu.sketch_add(&t, &plan, &out, 0, 1).is_err(), "buckets past the sketch");
    assert!(gpu.sketch_plan(10, 3, |i| (i, false)).is_err());
    assert!(gpu.sketch_plan(0, 3, |i| (i, false)).is_err());
}

gpu_tests!(sketch_equals_the_cpu_sketch_bit_for_bit, sketch_shape_errors);
