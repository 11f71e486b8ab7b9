//! Properties of the learning-curve AUC that must hold for any curve, not just the paper's.

use labelcast_core::auc::{auc, AucOptions, CurvePoint};
use proptest::prelude::*;

/// Budgets a user's curve file may hold: zero-shot, few-shot, standard, odd and too large.
const BUDGETS: [u64; 14] = [0, 1, 4, 16, 32, 50, 100, 200, 500, 750, 1000, 2500, 5000, 10000];

fn curve() -> impl Strategy<Value = Vec<CurvePoint>> {
    prop::collection::btree_map(prop::sample::select(BUDGETS.to_vec()), 0.0..1.0f64, 1..BUDGETS.len())
        .prop_map(|m| m.into_iter().map(|(budget, score)| CurvePoint { budget, score }).collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn auc_lies_in_the_unit_interval(points in curve(), ceiling in prop::option::of(0.0..1.5f64)) {
        // A flat curve has no defined AUC (an error, not a number); anything else is in [0, 1].
        if let Ok(r) = auc(&points, &AucOptions { ceiling, max_budget: 5000 }) {
            prop_assert!((0.0..=1.0).contains(&r.auc), "auc {} for {points:?}", r.auc);
            prop_assert!(r.points.iter().all(|p| (0.0..=1.0 + 1e-12).contains(&p.y)));
            prop_assert!(r.points.windows(2).all(|w| w[0].score <= w[1].score), "curve not monotone");
        }
    }

    #[test]
    fn a_higher_ceiling_never_raises_the_auc(points in curve(), c1 in 0.0..1.5f64, c2 in 0.0..1.5f64) {
        let (lo, hi) = if c1 <= c2 { (c1, c2) } else { (c2, c1) };
        let a = auc(&points, &AucOptions { ceiling: Some(lo), max_budget: 5000 });
        let b = auc(&points, &AucOptions { ceiling: Some(hi), max_budget: 5000 });
        if let (Ok(a), Ok(b)) = (a, b) {
            prop_assert!(b.auc <= a.auc + 1e-12, "ceiling {lo} -> {}, {hi} -> {}", a.auc, b.auc);
        }
    }

    #[test]
    fn few_shot_and_oversized_budgets_do_not_matter(points in curve(), extra in 0.0..1.0f64) {
        let mut more = points.clone();
        for b in [4u64, 32, 10000] {
            if !more.iter().any(|p| p.budget == b) {
                more.push(CurvePoint { budget: b, score: extra });
            }
        }
        let kept = |ps: &[CurvePoint]| ps.iter().any(|p| p.budget == 0 || (50..=5000).contains(&p.budget));
        prop_assume!(kept(&points));
        let opts = AucOptions::default();
        match (auc(&points, &opts), auc(&more, &opts)) {
            (Ok(a), Ok(b)) => prop_assert_eq!(a.auc, b.auc),
            (Err(_), Err(_)) => {}
            (a, b) => prop_assert!(false, "differs: {a:?} vs {b:?}"),
        }
    }
}
