//! Properties of the forecast curve f(x) = x^p that must hold for every AUC'.

use labelcast_core::auc::{auc, AucOptions, CurvePoint};
use labelcast_core::forecast::Forecast;
use proptest::prelude::*;

proptest! {
    #[test]
    fn budget_increases_with_target(a in 0.02f64..0.98, t1 in 0.01f64..0.99, t2 in 0.01f64..0.99) {
        prop_assume!((t1 - t2).abs() > 1e-9);
        let f = Forecast::from_auc(a, 5000.0).unwrap();
        let (lo, hi) = if t1 < t2 { (t1, t2) } else { (t2, t1) };
        prop_assert!(f.budget_for(lo).unwrap() <= f.budget_for(hi).unwrap());
    }

    #[test]
    fn more_efficient_tasks_need_fewer_examples(a1 in 0.02f64..0.98, a2 in 0.02f64..0.98, t in 0.05f64..0.95) {
        prop_assume!((a1 - a2).abs() > 1e-9);
        let (lo, hi) = if a1 < a2 { (a1, a2) } else { (a2, a1) };
        let b = |a| Forecast::from_auc(a, 5000.0).unwrap().budget_for(t).unwrap();
        prop_assert!(b(hi) <= b(lo));
    }

    #[test]
    fn share_at_budget_inverts_budget_for(a in 0.05f64..0.95, t in 0.01f64..0.99, m in 100f64..100000.0) {
        let f = Forecast::from_auc(a, m).unwrap();
        let b = f.budget_for(t).unwrap();
        prop_assert!(b >= 1.0 && b <= m);
        // Far in the flat head of a steep curve the budget rounds to exactly 1 example,
        // where the inverse is lost to floating point; such budgets mean "none needed".
        prop_assume!(b > 1.001);
        let back = f.share_at_budget(b);
        prop_assert!((back - t).abs() < 1e-9, "a={} t={} b={} back={}", a, t, b, back);
    }

    /// The curve's area is AUC', measured with the AUC code itself on a fine grid.
    #[test]
    fn curve_area_equals_auc(a in 0.1f64..0.9) {
        let f = Forecast::from_auc(a, 5000.0).unwrap();
        // Fine log grid of integer budgets 50..=5000 plus 0; budgets 1..49 are outside the
        // AUC's domain, so add the curve's exact area over [0, x(50)] by hand.
        let mut pts = vec![CurvePoint { budget: 0, score: 0.0 }];
        let mut b = 50u64;
        while b < 5000 {
            pts.push(CurvePoint { budget: b, score: f.share_at_budget(b as f64) });
            b = ((b as f64 * 1.002).ceil() as u64).max(b + 1);
        }
        pts.push(CurvePoint { budget: 5000, score: 1.0 });
        let r = auc(&pts, &AucOptions { ceiling: Some(1.0), max_budget: 5000 }).unwrap();
        let x50 = 50f64.log2() / 5000f64.log2();
        let p = f.p;
        // The trapezoid 0→x50 in `r` is replaced by the exact integral of x^p there.
        let trapezoid = x50 * f.share_at_budget(50.0) / 2.0;
        let exact_head = x50.powf(p + 1.0) / (p + 1.0);
        let area = r.auc - trapezoid + exact_head;
        prop_assert!((area - a).abs() < 1e-4, "a={} area={}", a, area);
    }
}

#[test]
fn curve_area_by_dense_quadrature() {
    // Independent of the AUC code: midpoint rule on x in [0, 1].
    for a in [0.05, 0.2, 0.5, 0.661, 0.9] {
        let p = Forecast::from_auc(a, 5000.0).unwrap().p;
        let n = 200_000;
        let area: f64 = (0..n).map(|i| ((i as f64 + 0.5) / n as f64).powf(p)).sum::<f64>() / n as f64;
        assert!((area - a).abs() < 1e-6, "a={a} area={area}");
    }
}
