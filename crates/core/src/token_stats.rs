//! What the next-token distribution at one position says: the statistics every confidence
//! score of METHOD 1 is built from. The CPU backend computes them here from a logits row;
//! the GPU backend's `logit_stats` kernel is tested against this function.

/// What the next-token distribution at one position says, all a scorer needs (the full
/// logits never leave the backend).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepStats {
    /// The greedy (argmax) token.
    pub token: u32,
    /// Its probability (the max of the softmax).
    pub p_max: f64,
    /// The second-largest probability.
    pub p_second: f64,
    /// Entropy of the distribution, in nats.
    pub entropy: f64,
}

/// Statistics of one logits row, computed in f64.
pub fn step_stats(logits: &[f32]) -> StepStats {
    let (mut best, mut second, mut arg) = (f32::NEG_INFINITY, f32::NEG_INFINITY, 0usize);
    for (i, &v) in logits.iter().enumerate() {
        if v > best {
            second = best;
            best = v;
            arg = i;
        } else if v > second {
            second = v;
        }
    }
    let m = best as f64;
    let (mut z, mut zl) = (0.0f64, 0.0f64);
    for &v in logits {
        let d = v as f64 - m;
        let e = d.exp();
        z += e;
        zl += e * d;
    }
    // H = -Σ p log p with p = e^d / z: H = ln z - Σ e d / z.
    StepStats { token: arg as u32, p_max: 1.0 / z, p_second: (second as f64 - m).exp() / z, entropy: z.ln() - zl / z }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_logits_have_maximal_entropy() {
        let s = step_stats(&[0.5; 8]);
        assert_eq!(s.token, 0, "the first index wins ties");
        assert!((s.p_max - 0.125).abs() < 1e-15);
        assert!((s.p_second - 0.125).abs() < 1e-15, "a duplicated maximum is its own runner-up");
        assert!((s.entropy - 8f64.ln()).abs() < 1e-12);
    }

    #[test]
    fn matches_the_softmax_written_out() {
        let logits = [1.0f32, -2.0, 3.5, 0.25, 3.0];
        let z: f64 = logits.iter().map(|&v| (v as f64).exp()).sum();
        let p: Vec<f64> = logits.iter().map(|&v| (v as f64).exp() / z).collect();
        let h: f64 = -p.iter().map(|q| q * q.ln()).sum::<f64>();
        let s = step_stats(&logits);
        assert_eq!(s.token, 2);
        assert!((s.p_max - p[2]).abs() < 1e-14);
        assert!((s.p_second - p[4]).abs() < 1e-14);
        assert!((s.entropy - h).abs() < 1e-12);
    }

    #[test]
    fn huge_logits_do_not_overflow() {
        let s = step_stats(&[1e30, 0.0, -1e30]);
        assert_eq!(s.token, 0);
        assert_eq!(s.p_max, 1.0);
        assert_eq!(s.entropy, 0.0);
    }
}
