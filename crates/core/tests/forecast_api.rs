//! Forecasts from CoS-Low (METHOD.md 1e): coefficients, worked example, errors.

use labelcast_core::forecast::{
    coslow_from_matrix, families, family, Coefficients, Forecast, DEFAULT_MAX_BUDGET, DEFAULT_TARGETS,
};
use labelcast_core::Error;

#[test]
fn worked_example_from_method() {
    let c = Coefficients::custom(0.54, 0.31);
    let f = Forecast::from_coslow(0.65, &c, DEFAULT_MAX_BUDGET).unwrap();
    assert!((f.auc - 0.661).abs() < 1e-12, "{}", f.auc);
    assert!((f.p - 0.339 / 0.661).abs() < 1e-12);
    let b = f.budget_for(0.9).unwrap();
    assert!((b - 1028.1063372079147).abs() < 1e-6, "{b}");
    assert_eq!(b.round(), 1028.0);
}

#[test]
fn published_families_and_lookup() {
    let all = families();
    let got: Vec<(&str, f64, f64, f64, f64)> =
        all.iter().map(|f| (f.name.as_str(), f.slope, f.slope_se, f.intercept, f.intercept_se)).collect();
    assert_eq!(
        got,
        vec![
            ("llama-3.1-8b-instruct", 0.545, 0.005, 0.310, 0.002),
            ("mistral-7b-instruct-v0.3", 0.797, 0.012, 0.357, 0.002),
            ("qwen2.5-14b-instruct", 0.526, 0.025, 0.305, 0.003),
        ]
    );
    assert_eq!(all[0].label, "Llama 3.1 8B-Instruct");
    assert!(all.iter().all(|f| f.provenance.contains("2512.24991") && f.provenance.contains("Je & Raffel")));
    for (q, want) in [
        ("llama", "llama-3.1-8b-instruct"),
        ("  LLAMA-3.1-8B-Instruct ", "llama-3.1-8b-instruct"),
        ("Mistral", "mistral-7b-instruct-v0.3"),
        ("qwen", "qwen2.5-14b-instruct"),
        ("qwen 2.5 14b-instruct", "qwen2.5-14b-instruct"),
    ] {
        assert_eq!(family(q).unwrap().name, want, "{q}");
    }
    match family("gpt") {
        Err(Error::UnknownFamily { name, known }) => {
            assert_eq!(name, "gpt");
            assert!(known.contains("llama") && known.contains("mistral") && known.contains("qwen"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn budgets_per_family_at_coslow_half() {
    // Hand-computed: AUC' = c·0.5 + I, p = (1 − AUC')/AUC', budget = 5000^(t^(1/p)).
    let want = [
        ("llama", [25.486452318850223, 177.356881541146, 512.137912235733, 1560.624873711963, 2776.5393250846987]),
        ("mistral", [2.719032922673953, 16.930692220443426, 71.81679148494139, 468.92766572891225, 1434.8318211335452]),
        ("qwen", [30.68323869660482, 206.18960217384947, 573.364460940344, 1661.3534202649237, 2869.017300119856]),
    ];
    for (fam, budgets) in want {
        let f = Forecast::from_coslow(0.5, &family(fam).unwrap(), DEFAULT_MAX_BUDGET).unwrap();
        for (t, w) in DEFAULT_TARGETS.iter().zip(budgets) {
            let b = f.budget_for(*t).unwrap();
            assert!((b - w).abs() < 1e-8 * w, "{fam} t={t}: {b} vs {w}");
        }
    }
}

#[test]
fn input_errors() {
    let c = family("llama").unwrap();
    assert!(matches!(c.predict_auc(1.2), Err(Error::CosLowOutOfRange(_))));
    assert!(matches!(c.predict_auc(f64::NAN), Err(Error::CosLowOutOfRange(_))));
    assert!(matches!(c.predict_auc(-1.01), Err(Error::CosLowOutOfRange(_))));
    // 0.545·(−0.6) + 0.31 < 0: no curve has a negative area.
    match c.predict_auc(-0.6) {
        Err(Error::AucOutOfRange { auc, why }) => {
            assert!(auc < 0.0);
            assert!(why.contains("Llama 3.1 8B-Instruct"), "{why}");
        }
        other => panic!("{other:?}"),
    }
    match Coefficients::custom(0.8, 0.5).predict_auc(1.0) {
        Err(Error::AucOutOfRange { why, .. }) => assert!(why.contains("Custom"), "{why}"),
        other => panic!("{other:?}"),
    }
    for a in [0.0, 1.0, -0.1, f64::NAN] {
        match Forecast::from_auc(a, 5000.0) {
            Err(Error::AucOutOfRange { why, .. }) => assert!(why.contains("given AUC")),
            other => panic!("{a}: {other:?}"),
        }
    }
    assert!(matches!(Forecast::from_auc(0.5, 1.0), Err(Error::Invalid(_))));
    let f = Forecast::from_auc(0.5, 5000.0).unwrap();
    for t in [0.0, 1.0, 1.5, -0.2, f64::NAN] {
        assert!(matches!(f.budget_for(t), Err(Error::TargetOutOfRange(_))), "{t}");
    }
}

#[test]
fn share_at_budget_edges_and_curve() {
    let f = Forecast::from_auc(0.5, 5000.0).unwrap(); // p = 1: share = x
    assert_eq!(f.share_at_budget(0.0), 0.0);
    assert_eq!(f.share_at_budget(1.0), 0.0);
    assert_eq!(f.share_at_budget(5000.0), 1.0);
    assert_eq!(f.share_at_budget(1e9), 1.0);
    let x = 100f64.log2() / 5000f64.log2();
    assert!((f.share_at_budget(100.0) - x).abs() < 1e-15);
    let c = f.curve(5);
    assert_eq!(c.len(), 5);
    assert_eq!(c[0], (1.0, 0.0));
    assert_eq!(c[4], (5000.0, 1.0));
    assert!((c[2].0 - 5000f64.sqrt()).abs() < 1e-9);
    assert!((c[2].1 - 0.5).abs() < 1e-12);
    assert!(c.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1));
}

#[test]
fn coslow_is_the_median_of_the_upper_triangle() {
    // Pairs: 0.1, 0.5, 0.2 (row 0), 0.9, 0.3 (row 1), 0.4 (row 2) -> median of
    // [0.1, 0.2, 0.3, 0.4, 0.5, 0.9] = 0.35. The diagonal is ignored.
    let m = vec![
        vec![1.0, 0.1, 0.5, 0.2],
        vec![0.1, 1.0, 0.9, 0.3],
        vec![0.5, 0.9, 1.0, 0.4],
        vec![0.2, 0.3, 0.4, f64::NAN],
    ];
    assert!((coslow_from_matrix(&m).unwrap() - 0.35).abs() < 1e-15);
    // Rounding noise just above 1 is accepted and clamped.
    let m2 = vec![vec![1.0, 1.0 + 5e-7], vec![1.0 + 5e-7, 1.0]];
    assert_eq!(coslow_from_matrix(&m2).unwrap(), 1.0);
}

#[test]
fn cosine_matrix_validation() {
    let err = |m: Vec<Vec<f64>>| coslow_from_matrix(&m).unwrap_err().to_string();
    assert!(err(vec![vec![1.0]]).contains("at least 2"));
    assert!(err(vec![]).contains("at least 2"));
    assert!(err(vec![vec![1.0, 0.2], vec![0.2]]).contains("square"));
    assert!(err(vec![vec![1.0, 0.2], vec![0.3, 1.0]]).contains("symmetric"));
    assert!(err(vec![vec![1.0, 1.1], vec![1.1, 1.0]]).contains("[-1, 1]"));
    assert!(err(vec![vec![1.0, f64::NAN], vec![f64::NAN, 1.0]]).contains("NaN"));
    // Two problems in one pass are both reported.
    let m = vec![vec![1.0, 2.0, 0.1], vec![2.0, 1.0, 0.2], vec![0.1, 0.25, 1.0]];
    match coslow_from_matrix(&m) {
        Err(Error::Many(v)) => assert!(v.len() >= 2, "{v:?}"),
        other => panic!("{other:?}"),
    }
}
