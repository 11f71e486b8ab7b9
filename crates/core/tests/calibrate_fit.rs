//! Calibration: OLS of AUC on CoS-Low, standard errors, leave-one-out.

use labelcast_core::calibrate::{calibrate, ols, TaskPoint};
use labelcast_core::forecast::Forecast;
use labelcast_core::Error;

fn tasks(v: &[(f64, f64)]) -> Vec<TaskPoint> {
    v.iter().enumerate().map(|(i, &(coslow, auc))| TaskPoint { task: format!("t{i}"), coslow, auc }).collect()
}

#[test]
fn recovers_exact_coefficients() {
    let (c, i) = (0.545, 0.31);
    let xs = [-0.1, 0.05, 0.2, 0.33, 0.41, 0.6];
    let pts: Vec<(f64, f64)> = xs.iter().map(|&x| (x, c * x + i)).collect();
    let cal = calibrate(&tasks(&pts), 5000.0).unwrap();
    let k = &cal.coefficients;
    assert!((k.slope - c).abs() < 1e-12 && (k.intercept - i).abs() < 1e-12, "{k:?}");
    assert!(k.slope_se < 1e-9 && k.intercept_se < 1e-9);
    assert!((cal.r2 - 1.0).abs() < 1e-12);
    assert_eq!(cal.n, 6);
    assert!(cal.loo_auc_mae < 1e-12);
    assert!(cal.loo_budget90_mae < 1e-6 && cal.loo_budget90_mape < 1e-9);
    assert_eq!(cal.loo_budget90_count, 6);
}

#[test]
fn hand_computed_example() {
    // x = [0, 1, 2, 3], y = [0.1, 0.3, 0.2, 0.6] (CoS-Low scaled by 0.1 below).
    // x̄ = 1.5, ȳ = 0.3, Sxx = 5, Sxy = 0.15·... : (−1.5)(−0.2)+(−0.5)(0)+(0.5)(−0.1)+(1.5)(0.3)
    // = 0.3 − 0.05 + 0.45 = 0.7 -> slope 0.14, intercept 0.09.
    // Residuals: 0.01, 0.07, −0.17, 0.09; SSR = 0.0001+0.0049+0.0289+0.0081 = 0.042.
    // s² = 0.021; se(slope) = sqrt(0.021/5); se(int) = sqrt(0.021·(1/4 + 2.25/5)).
    // SST = 0.04+0+0.01+0.09 = 0.14; R² = 1 − 0.042/0.14 = 0.7.
    let f = ols(&[0.0, 1.0, 2.0, 3.0], &[0.1, 0.3, 0.2, 0.6]).unwrap();
    assert!((f.slope - 0.14).abs() < 1e-12 && (f.intercept - 0.09).abs() < 1e-12, "{f:?}");
    assert!((f.slope_se - (0.021f64 / 5.0).sqrt()).abs() < 1e-12);
    assert!((f.intercept_se - (0.021f64 * (0.25 + 0.45)).sqrt()).abs() < 1e-12);
    assert!((f.r2 - 0.7).abs() < 1e-12);

    // The same data as calibration tasks, CoS-Low = x/10: slope ×10, intercept unchanged.
    let cal = calibrate(&tasks(&[(0.0, 0.1), (0.1, 0.3), (0.2, 0.2), (0.3, 0.6)]), 5000.0).unwrap();
    assert!((cal.coefficients.slope - 1.4).abs() < 1e-12);
    assert!((cal.coefficients.intercept - 0.09).abs() < 1e-12);
    assert!((cal.coefficients.slope_se - 10.0 * (0.021f64 / 5.0).sqrt()).abs() < 1e-10);
    assert!((cal.r2 - 0.7).abs() < 1e-12);

    // Leave-one-out by hand (x in the unscaled units, exact fractions):
    // without t0: x 1,2,3; y .3,.2,.6 -> x̄ 2, ȳ 11/30, Sxx 2, Sxy 0.3 -> slope 3/20,
    //   intercept 11/30 − 3/10 = 1/15 -> predicts 1/15 at x = 0;
    // without t1: x 0,2,3; y .1,.2,.6 -> slope 3/20, intercept 1/20 -> 1/5 at x = 1;
    // without t2: x 0,1,3; y .1,.3,.6 -> slope 23/140, intercept 4/35 -> 31/70 at x = 2;
    // without t3: x 0,1,2; y .1,.3,.2 -> slope 1/20, intercept 3/20 -> 3/10 at x = 3.
    let want = [1.0 / 15.0, 0.2, 31.0 / 70.0, 0.3];
    for (row, w) in cal.loo.iter().zip(want) {
        assert!((row.predicted_auc.unwrap() - w).abs() < 1e-12, "{row:?} vs {w}");
    }
    let actual = [0.1, 0.3, 0.2, 0.6];
    let mae: f64 = want.iter().zip(actual).map(|(p, a)| (p - a).abs()).sum::<f64>() / 4.0;
    assert!((cal.loo_auc_mae - mae).abs() < 1e-12);
    let b90 = |a: f64| Forecast::from_auc(a, 5000.0).unwrap().budget_for(0.9).unwrap();
    let errs: Vec<(f64, f64)> = want.iter().zip(actual).map(|(&p, a)| (b90(p), b90(a))).collect();
    let bmae = errs.iter().map(|(p, a)| (p - a).abs()).sum::<f64>() / 4.0;
    let bmape = errs.iter().map(|(p, a)| (p - a).abs() / a).sum::<f64>() / 4.0;
    assert!((cal.loo_budget90_mae - bmae).abs() < 1e-6, "{} vs {bmae}", cal.loo_budget90_mae);
    assert!((cal.loo_budget90_mape - bmape).abs() < 1e-12);
    assert_eq!(cal.loo[0].task, "t0");
    assert!((cal.loo[0].budget90.unwrap() - b90(0.1)).abs() < 1e-9);
}

#[test]
fn undefined_budgets_are_none_and_excluded() {
    // AUC 0 and AUC 1 have no budget; with one CoS-Low repeated, leaving out the odd task
    // leaves no slope to fit. So no task has both budgets.
    let cal = calibrate(&tasks(&[(0.1, 0.0), (0.1, 1.0), (0.5, 0.5)]), 5000.0).unwrap();
    assert_eq!(cal.loo[0].budget90, None);
    assert_eq!(cal.loo[1].budget90, None);
    assert_eq!(cal.loo[2].predicted_auc, None);
    assert_eq!(cal.loo[2].predicted_budget90, None);
    assert!(cal.loo[2].budget90.is_some());
    // Without task 0 the line through (0.1, 1) and (0.5, 0.5) predicts 1 at 0.1, and
    // without task 1 the line through (0.1, 0) and (0.5, 0.5) predicts 0: both off by 1.
    assert!((cal.loo_auc_mae - 1.0).abs() < 1e-12, "{}", cal.loo_auc_mae);
    assert_eq!(cal.loo_budget90_count, 0);
    assert!(cal.loo_budget90_mae.is_nan() && cal.loo_budget90_mape.is_nan());
}

#[test]
fn calibration_errors() {
    assert!(matches!(calibrate(&tasks(&[(0.1, 0.2), (0.2, 0.3)]), 5000.0), Err(Error::TooFewTasks(2))));
    let e = calibrate(&tasks(&[(0.3, 0.2), (0.3, 0.3), (0.3, 0.4)]), 5000.0).unwrap_err();
    assert!(e.to_string().contains("slope cannot be fit"), "{e}");
    let e = calibrate(&tasks(&[(1.3, 0.2), (0.3, 0.3), (0.2, 1.4)]), 5000.0).unwrap_err();
    assert_eq!(e.problems().len(), 2, "{e}");
    assert!(calibrate(&tasks(&[(0.1, 0.2), (0.2, 0.3), (0.3, 0.4)]), 1.0).is_err());
}
