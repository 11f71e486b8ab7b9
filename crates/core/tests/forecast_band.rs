//! The uncertainty band: bootstrap of CoS-Low, coefficient errors, clamping, determinism.

use labelcast_core::band::{
    band, band_with, coslow_bootstrap, BandExtras, BandOptions, Source, PAPER_PREDICTION_ERROR,
};
use labelcast_core::forecast::{family, Coefficients, Forecast, DEFAULT_CURVE_POINTS, DEFAULT_TARGETS};
use labelcast_core::Error;

fn opts(resamples: usize, seed: u64) -> BandOptions {
    BandOptions { resamples, seed, level: 0.9 }
}

#[test]
fn defaults_match_the_contract() {
    let o = BandOptions::default();
    assert_eq!((o.resamples, o.seed, o.level), (2000, 0, 0.9));
    assert_eq!(BandExtras::default().prediction_error, None);
}

#[test]
fn bootstrap_of_three_examples_has_the_exact_distribution() {
    // Pairs (0,1)=0.1, (0,2)=0.5, (1,2)=0.9. Of the 27 equally likely draws of 3 indices,
    // 3 repeat one example (drawn again), 6 are permutations (median of all pairs = 0.5)
    // and 6 each contain exactly one pair type (two copies of that pair -> its cosine).
    // So P(0.5) = 12/24, P(0.1) = P(0.9) = 6/24.
    let m = vec![vec![1.0, 0.1, 0.5], vec![0.1, 1.0, 0.9], vec![0.5, 0.9, 1.0]];
    let n = 40_000;
    let s = coslow_bootstrap(&m, n, 3).unwrap();
    assert_eq!(s.len(), n);
    let share = |v: f64| s.iter().filter(|&&x| (x - v).abs() < 1e-12).count() as f64 / n as f64;
    assert!((share(0.5) - 0.5).abs() < 0.01, "{}", share(0.5));
    assert!((share(0.1) - 0.25).abs() < 0.01, "{}", share(0.1));
    assert!((share(0.9) - 0.25).abs() < 0.01, "{}", share(0.9));
    assert!((share(0.1) + share(0.5) + share(0.9) - 1.0).abs() < 1e-12);
}

#[test]
fn bootstrap_is_seeded_and_constant_matrices_give_constants() {
    let m: Vec<Vec<f64>> =
        (0..6).map(|i| (0..6).map(|j| if i == j { 1.0 } else { 0.1 * ((i + j) % 5) as f64 }).collect()).collect();
    assert_eq!(coslow_bootstrap(&m, 50, 9).unwrap(), coslow_bootstrap(&m, 50, 9).unwrap());
    assert_ne!(coslow_bootstrap(&m, 50, 9).unwrap(), coslow_bootstrap(&m, 50, 10).unwrap());
    let flat = vec![vec![0.3; 5]; 5];
    assert!(coslow_bootstrap(&flat, 100, 1).unwrap().iter().all(|&v| v == 0.3));
    let two = vec![vec![1.0, -0.2], vec![-0.2, 1.0]];
    assert!(coslow_bootstrap(&two, 100, 1).unwrap().iter().all(|&v| v == -0.2));
    assert!(coslow_bootstrap(&m, 0, 1).is_err());
    assert!(coslow_bootstrap(&[vec![1.0]], 10, 1).is_err());
}

#[test]
fn coefficient_errors_alone_give_the_normal_quantiles() {
    // At CoS-Low 0 the slope drops out: AUC' ~ N(0.31, 0.002), whose 5%/95% quantiles are
    // 0.31 ± 1.6449·0.002.
    let c = family("llama").unwrap();
    let b = band(0.0, None, &c, &[0.9], 5000.0, &opts(40_000, 1)).unwrap();
    assert_eq!(b.sources, vec![Source::CoefficientErrors]);
    assert!(b.notes.iter().any(|n| n.contains("no pairwise cosines")));
    assert!((b.auc.mid - 0.31).abs() < 1e-15);
    assert!((b.auc.lo - (0.31 - 1.6449 * 0.002)).abs() < 1e-4, "{:?}", b.auc);
    assert!((b.auc.hi - (0.31 + 1.6449 * 0.002)).abs() < 1e-4, "{:?}", b.auc);
    assert_eq!((b.coslow.lo, b.coslow.mid, b.coslow.hi), (0.0, 0.0, 0.0));
    // The budget band is the image of the AUC band (budget falls as AUC' rises).
    let budget = |a: f64| Forecast::from_auc(a, 5000.0).unwrap().budget_for(0.9).unwrap();
    let (t, i) = b.budgets[0];
    assert_eq!(t, 0.9);
    assert!((i.mid - budget(0.31)).abs() < 1e-9);
    assert!((i.lo / budget(b.auc.hi) - 1.0).abs() < 1e-3, "{i:?}");
    assert!((i.hi / budget(b.auc.lo) - 1.0).abs() < 1e-3, "{i:?}");
    assert_eq!(b.clamped, 0);
}

#[test]
fn no_uncertainty_source_gives_a_point() {
    let b = band(0.65, None, &Coefficients::custom(0.54, 0.31), &DEFAULT_TARGETS, 5000.0, &opts(100, 0)).unwrap();
    assert!(b.sources.is_empty());
    for (_, i) in &b.budgets {
        assert!((i.lo - i.mid).abs() < 1e-9 && (i.hi - i.mid).abs() < 1e-9, "{i:?}");
    }
    let (t, i) = b.budgets[3];
    assert_eq!(t, 0.9);
    assert!((i.mid - 1028.1063372079147).abs() < 1e-6);
}

#[test]
fn bootstrap_and_coefficients_together() {
    let c = family("mistral").unwrap();
    let m: Vec<Vec<f64>> = (0..12)
        .map(|i| (0..12).map(|j| if i == j { 1.0 } else { 0.05 * ((i * j + i + j) % 9) as f64 }).collect())
        .collect();
    let cl = labelcast_core::forecast::coslow_from_matrix(&m).unwrap();
    let samples = coslow_bootstrap(&m, 2000, 7).unwrap();
    let o = BandOptions::default();
    let b = band(cl, Some(&samples), &c, &DEFAULT_TARGETS, 5000.0, &o).unwrap();
    assert_eq!(b.sources, vec![Source::CoslowBootstrap, Source::CoefficientErrors]);
    assert!(b.coslow.lo < b.coslow.hi, "{:?}", b.coslow);
    assert!(b.auc.lo < b.auc.mid && b.auc.mid < b.auc.hi, "{:?}", b.auc);
    for (_, i) in &b.budgets {
        assert!(i.lo < i.mid && i.mid < i.hi, "{i:?}");
    }
    // Deterministic for a seed, different for another.
    assert_eq!(b, band(cl, Some(&samples), &c, &DEFAULT_TARGETS, 5000.0, &o).unwrap());
    let other = band(cl, Some(&samples), &c, &DEFAULT_TARGETS, 5000.0, &opts(2000, 1)).unwrap();
    assert_ne!(b.auc, other.auc);
    // Curve band at the forecast curve's budgets, bracketing it.
    let f = Forecast::from_coslow(cl, &c, 5000.0).unwrap();
    let fc = f.curve(DEFAULT_CURVE_POINTS);
    assert_eq!(b.curve.len(), fc.len());
    for ((bb, lo, hi), (fb, share)) in b.curve.iter().zip(&fc) {
        assert_eq!(bb, fb);
        assert!(lo <= share && share <= hi, "{bb}: {lo} {share} {hi}");
    }
    // A wider level gives a wider band.
    let wide = band(cl, Some(&samples), &c, &DEFAULT_TARGETS, 5000.0, &BandOptions { level: 0.99, ..o }).unwrap();
    assert!(wide.auc.lo <= b.auc.lo && wide.auc.hi >= b.auc.hi);
}

#[test]
fn draws_outside_zero_one_are_clamped_and_counted() {
    // AUC' = 1.0·x + 0.5: the sample 0.3 gives 0.8, the sample 0.6 gives 1.1 (clamped).
    let c = Coefficients::custom(1.0, 0.5);
    let b = band(0.3, Some(&[0.3, 0.6]), &c, &[0.9], 5000.0, &opts(1000, 0)).unwrap();
    assert_eq!(b.clamped, 500);
    assert!((b.auc.hi - (1.0 - 1e-6)).abs() < 1e-12, "{:?}", b.auc);
    assert!(b.notes.iter().any(|n| n.contains("500 of 1000")), "{:?}", b.notes);
}

#[test]
fn paper_prediction_error_widens_the_band() {
    let c = Coefficients::custom(0.0, 0.5);
    let extras = BandExtras { prediction_error: Some(PAPER_PREDICTION_ERROR), ..Default::default() };
    let b = band_with(0.2, None, &c, &[0.9], 5000.0, &opts(40_000, 2), &extras).unwrap();
    assert_eq!(b.sources, vec![Source::PredictionError]);
    // Noise N(0, σ) with mean |noise| = 0.086: σ = 0.086·sqrt(π/2) ≈ 0.10778, so the 90%
    // interval is 0.5 ± 1.6449·σ.
    let sd = 0.086 * (std::f64::consts::PI / 2.0).sqrt();
    assert!((b.auc.lo - (0.5 - 1.6449 * sd)).abs() < 3e-3, "{:?}", b.auc);
    assert!((b.auc.hi - (0.5 + 1.6449 * sd)).abs() < 3e-3, "{:?}", b.auc);
}

#[test]
fn band_input_errors() {
    let c = family("qwen").unwrap();
    let t = [0.9];
    let e = |r: Result<_, Error>| r.unwrap_err();
    assert!(matches!(e(band(1.5, None, &c, &t, 5000.0, &opts(10, 0))), Error::CosLowOutOfRange(_)));
    assert!(matches!(e(band(0.5, None, &c, &[1.0], 5000.0, &opts(10, 0))), Error::TargetOutOfRange(_)));
    assert!(matches!(e(band(0.5, Some(&[]), &c, &t, 5000.0, &opts(10, 0))), Error::Invalid(_)));
    assert!(matches!(e(band(0.5, Some(&[0.2, 2.0]), &c, &t, 5000.0, &opts(10, 0))), Error::CosLowOutOfRange(_)));
    assert!(matches!(e(band(0.5, None, &c, &t, 5000.0, &opts(0, 0))), Error::Invalid(_)));
    let bad_level = BandOptions { level: 1.0, ..Default::default() };
    assert!(matches!(e(band(0.5, None, &c, &t, 5000.0, &bad_level)), Error::Invalid(_)));
    // The point forecast itself must exist.
    assert!(matches!(e(band(-0.9, None, &c, &t, 5000.0, &opts(10, 0))), Error::AucOutOfRange { .. }));
}
