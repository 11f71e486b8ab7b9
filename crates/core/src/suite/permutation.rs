//! Is a one-feature fit's out-of-sample error better than chance? A permutation test, decided
//! before its outcome was known: the leave-one-out error of a fit on `feature` is compared
//! with the same error after the measured AUCs have been shuffled among the tasks (each task's
//! draws kept together), which breaks any link between the feature and the AUC while keeping
//! both distributions. The test is blind to the slope's sign: it asks whether the feature
//! predicts at all, which is what a fit running against the paper's reading must show before
//! it may be used (`proxy`).

use super::fit::{Feature, Obs};
use crate::rng::Rng;

/// Shuffles per test: the smallest p-value it can give is 1/(PERMUTATIONS + 1).
pub const PERMUTATIONS: usize = 9_999;

/// Fixed, so the shipped sets (derived at run time from the committed results) never change
/// from one run to the next.
pub const SEED: u64 = 0x5EED_2026_1204;

/// The level a family's test must pass, before the correction for testing every published
/// family (Bonferroni: `ALPHA / families`).
pub const ALPHA: f64 = 0.05;

/// Leave-one-out MAE of `auc ≈ a + b·x` (the fit on the other tasks' mean `x`, applied to each
/// draw of the held-out task; tasks weigh equally), in closed form so that thousands of
/// shuffles cost little. Equals `fit::mae(&fit::loo(obs, &[feature]))`; `None` when a fold
/// cannot be fitted (constant feature, too few tasks).
pub(super) fn loo_mae_1(x_mean: &[f64], draws: &[Vec<f64>], auc: &[f64]) -> Option<f64> {
    let n = x_mean.len();
    if n < 4 {
        return None;
    }
    let (sx, sy) = (x_mean.iter().sum::<f64>(), auc.iter().sum::<f64>());
    let sxx = x_mean.iter().map(|x| x * x).sum::<f64>();
    let sxy = x_mean.iter().zip(auc).map(|(x, y)| x * y).sum::<f64>();
    let m = (n - 1) as f64;
    let mut total = 0.0;
    for i in 0..n {
        let (x, y) = (x_mean[i], auc[i]);
        let (sx, sy, sxx, sxy) = (sx - x, sy - y, sxx - x * x, sxy - x * y);
        let den = m * sxx - sx * sx;
        if den.abs() <= 1e-12 * m * sxx.abs().max(1e-300) {
            return None;
        }
        let b = (m * sxy - sx * sy) / den;
        let a = (sy - b * sx) / m;
        let d = &draws[i];
        total += d.iter().map(|&xd| (y - a - b * xd).abs()).sum::<f64>() / d.len() as f64;
    }
    Some(total / n as f64)
}

/// The test's result for one family.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Permutation {
    /// Leave-one-out MAE of the fit on the real pairing.
    pub loo_mae: f64,
    /// Share of shuffles (the real pairing counted as one) whose error was as low or lower.
    pub p: f64,
    pub permutations: usize,
}

/// The permutation test of a fit on `feature` alone over `obs`; `None` when it cannot be
/// fitted or a task lacks the feature.
pub fn test(obs: &[Obs], feature: Feature) -> Option<Permutation> {
    let f = super::fit::index(feature);
    let draws: Vec<Vec<f64>> = obs.iter().map(|o| o.draws.iter().map(|d| d[f]).collect()).collect();
    if draws.iter().flatten().any(|v| !v.is_finite()) {
        return None;
    }
    let x_mean: Vec<f64> = draws.iter().map(|d| d.iter().sum::<f64>() / d.len() as f64).collect();
    let mut auc: Vec<f64> = obs.iter().map(|o| o.auc).collect();
    let observed = loo_mae_1(&x_mean, &draws, &auc)?;
    let mut rng = Rng::new(SEED);
    let mut as_good = 1usize;
    for _ in 0..PERMUTATIONS {
        rng.shuffle(&mut auc);
        // A shuffle that cannot be fitted cannot happen (x is untouched); counted as no better.
        // The tolerance keeps float noise in the closed form from deciding ties.
        if loo_mae_1(&x_mean, &draws, &auc).is_some_and(|e| e <= observed + 1e-12) {
            as_good += 1;
        }
    }
    Some(Permutation { loo_mae: observed, p: as_good as f64 / (PERMUTATIONS + 1) as f64, permutations: PERMUTATIONS })
}

/// The level one family's test must pass: `ALPHA` shared among the published families.
pub fn level(families: usize) -> f64 {
    ALPHA / families.max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::fit;

    fn obs(points: &[(f64, [f64; 2])]) -> Vec<Obs> {
        points
            .iter()
            .enumerate()
            .map(|(i, (auc, xs))| Obs {
                task: format!("t{i}"),
                auc: *auc,
                draws: xs
                    .iter()
                    .map(|&x| Feature::ALL.iter().map(|&f| if f == Feature::Coslow { x } else { 0.0 }).collect())
                    .collect(),
            })
            .collect()
    }

    #[test]
    fn closed_form_equals_the_fitted_leave_one_out() {
        let o = obs(&[
            (0.2, [0.1, 0.3]),
            (0.5, [0.4, 0.5]),
            (0.3, [0.2, 0.2]),
            (0.7, [0.8, 0.6]),
            (0.4, [0.5, 0.1]),
            (0.6, [0.7, 0.9]),
        ]);
        let want = fit::mae(&fit::loo(&o, &[Feature::Coslow]).unwrap());
        let got = test(&o, Feature::Coslow).unwrap().loo_mae;
        assert!((want - got).abs() < 1e-12, "{want} vs {got}");
    }

    #[test]
    fn a_real_link_is_rare_among_shuffles_and_none_is_not() {
        // AUC = 0.1 + 0.8·x exactly, either sign: only the real pairing (and shuffles that
        // happen to keep it) fit that well.
        let xs: Vec<f64> = (0..12).map(|i| i as f64 / 12.0).collect();
        let up = obs(&xs.iter().map(|&x| (0.1 + 0.8 * x, [x, x])).collect::<Vec<_>>());
        let down = obs(&xs.iter().map(|&x| (0.9 - 0.8 * x, [x, x])).collect::<Vec<_>>());
        assert!(test(&up, Feature::Coslow).unwrap().p < 0.001);
        assert!(test(&down, Feature::Coslow).unwrap().p < 0.001, "the test is blind to the sign");
        // AUC unrelated to x (a fixed scramble): an ordinary p-value.
        let scramble = [5, 11, 0, 7, 2, 9, 4, 1, 10, 3, 8, 6];
        let none = obs(&xs.iter().zip(scramble).map(|(&x, s)| (0.1 + 0.8 * xs[s], [x, x])).collect::<Vec<_>>());
        let p = test(&none, Feature::Coslow).unwrap().p;
        assert!(p > 0.05, "p {p}");
    }

    #[test]
    fn same_inputs_same_p_and_the_level_is_shared() {
        let o = obs(&[(0.2, [0.1, 0.3]), (0.5, [0.4, 0.5]), (0.3, [0.2, 0.2]), (0.7, [0.8, 0.6]), (0.4, [0.5, 0.1])]);
        assert_eq!(test(&o, Feature::Coslow), test(&o, Feature::Coslow));
        assert!((level(3) - 0.05 / 3.0).abs() < 1e-15);
        assert!(test(&o[..3], Feature::Coslow).is_none());
    }
}
