//! A small seeded random number generator (xoshiro256** seeded by SplitMix64).
//!
//! Kept in-crate rather than depending on `rand` so that a seed means the same draws on
//! every platform and every future version: selections and orderings users export must be
//! reproducible from the seed they wrote down.

#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
}

fn splitmix64(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        let mut x = seed;
        Rng { s: [splitmix64(&mut x), splitmix64(&mut x), splitmix64(&mut x), splitmix64(&mut x)] }
    }

    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1) with 53 random bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in [0, n) without modulo bias (Lemire's method). `n` must be > 0.
    pub fn below(&mut self, n: usize) -> usize {
        assert!(n > 0, "Rng::below(0)");
        let n = n as u64;
        loop {
            let m = (self.next_u64() as u128) * (n as u128);
            let low = m as u64;
            if low >= n || low >= n.wrapping_neg() % n {
                return (m >> 64) as usize;
            }
        }
    }

    /// Fisher–Yates shuffle in place.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }

    /// `k` distinct indices from `0..n`, uniformly, in draw order. Requires `k <= n`.
    pub fn sample_indices(&mut self, n: usize, k: usize) -> Vec<usize> {
        assert!(k <= n, "sample_indices: k={k} > n={n}");
        let mut idx: Vec<usize> = (0..n).collect();
        for i in 0..k {
            let j = i + self.below(n - i);
            idx.swap(i, j);
        }
        idx.truncate(k);
        idx
    }

    /// Standard normal draw (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.next_f64(); // (0, 1]: ln is finite
        let u2 = self.next_f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// The count-sketch hash of coordinate `i` under `seed`: (bucket in 0..m, negative). The
/// CPU's gradient store and the GPU sketch's plan both use it, so their sketches agree bit
/// for bit.
#[inline]
pub fn bucket_sign(seed: u64, i: u64, m: u64) -> (usize, bool) {
    let mut z = seed ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    // Multiply-shift maps the high 32 bits onto 0..m without a division.
    ((((z >> 32) * m) >> 32) as usize, z & 1 == 1)
}

#[cfg(test)]
mod tests {
    use super::bucket_sign;

    #[test]
    fn bucket_sign_is_pinned_and_spreads_evenly() {
        // Pinned: a sketch must mean the same on every platform and version (the GPU plan and
        // the CPU store are built from it separately).
        assert_eq!(bucket_sign(0, 0, 1000), (0, false));
        assert_eq!(bucket_sign(0, 1, 1000), (883, true));
        assert_eq!(bucket_sign(7, 123456, 65536), (14479, false));
        assert_eq!(bucket_sign(9223372036854775813, 1099511627776, 3), (0, true));
        let m = 64u64;
        let mut counts = vec![0usize; m as usize];
        let mut negative = 0;
        for i in 0..64_000 {
            let (b, neg) = bucket_sign(42, i, m);
            counts[b] += 1;
            negative += neg as usize;
        }
        assert!(counts.iter().all(|&c| (850..1150).contains(&c)), "{counts:?}");
        assert!((31_000..33_000).contains(&negative), "{negative}");
    }

    use super::*;

    #[test]
    fn same_seed_same_stream_and_known_first_value() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        let va: Vec<u64> = (0..5).map(|_| a.next_u64()).collect();
        let vb: Vec<u64> = (0..5).map(|_| b.next_u64()).collect();
        assert_eq!(va, vb);
        assert_ne!(Rng::new(8).next_u64(), va[0]);
    }

    #[test]
    fn below_is_in_range_and_covers_all_values() {
        let mut r = Rng::new(1);
        let mut seen = [0usize; 7];
        for _ in 0..7000 {
            seen[r.below(7)] += 1;
        }
        assert!(seen.iter().all(|&c| c > 800 && c < 1200), "{seen:?}");
    }

    #[test]
    fn sample_indices_are_distinct() {
        let mut r = Rng::new(3);
        let mut s = r.sample_indices(100, 32);
        s.sort();
        s.dedup();
        assert_eq!(s.len(), 32);
        assert!(s.iter().all(|&i| i < 100));
    }

    #[test]
    fn normal_has_unit_moments() {
        let mut r = Rng::new(11);
        let xs: Vec<f64> = (0..20000).map(|_| r.normal()).collect();
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xs.len() as f64;
        assert!(mean.abs() < 0.03, "mean {mean}");
        assert!((var - 1.0).abs() < 0.05, "var {var}");
    }
}
