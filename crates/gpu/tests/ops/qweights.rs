//! Random GGUF weights for the quantized-weight tests (quant, matvec, bench_decode): random
//! quants and random f16 scales (subnormals included), and candle's dequantization of them.
#![allow(dead_code)]

use std::borrow::Cow;

use candle_core::quantized::{QStorage, QTensor};
use candle_core::{Device, Tensor as Ct};
use labelcast_gpu::TensorType;

/// splitmix64 bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A random finite f16 of magnitude about 2^-12 .. 2^-2, 1 in 8 subnormal.
    fn f16(&mut self) -> [u8; 2] {
        let r = self.next();
        let sign = (r & 1) as u16;
        let exp = if r >> 1 & 7 == 0 { 0 } else { 3 + (r >> 4) % 10 } as u16;
        let mant = ((r >> 16) & 0x3ff) as u16;
        (sign << 15 | exp << 10 | mant).to_le_bytes()
    }
}

/// Random GGUF bytes of a [rows, cols] weight: random quants, random f16 scales.
pub fn random_weight(f: TensorType, rows: usize, cols: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng(seed);
    let n = rows * cols / f.block_size();
    let mut out = Vec::with_capacity(n * f.type_size());
    for _ in 0..n {
        let mut b: Vec<u8> = (0..f.type_size()).map(|_| rng.next() as u8).collect();
        match f {
            TensorType::F32 => {
                let v = (rng.next() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0;
                b.copy_from_slice(&v.to_le_bytes());
            }
            TensorType::F16 | TensorType::Q8_0 | TensorType::Q4_0 => b[..2].copy_from_slice(&rng.f16()),
            TensorType::BF16 => {
                let v = (rng.next() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0;
                b.copy_from_slice(&v.to_le_bytes()[2..]);
            }
            TensorType::Q4_1 | TensorType::Q4K | TensorType::Q5K => {
                b[..2].copy_from_slice(&rng.f16());
                b[2..4].copy_from_slice(&rng.f16());
            }
            TensorType::Q6K => b[208..].copy_from_slice(&rng.f16()),
        }
        out.extend_from_slice(&b);
    }
    out
}

/// candle's dequantization of the same bytes: [rows, cols] f32.
pub fn dequantize(f: TensorType, rows: usize, cols: usize, bytes: &[u8]) -> Ct {
    let storage = QStorage::from_data(Cow::Borrowed(bytes), &Device::Cpu, f.to_candle()).unwrap();
    QTensor::new(storage, (rows, cols)).unwrap().dequantize(&Device::Cpu).unwrap()
}
