//! A proxy set's band: the split-conformal interval of its out-of-sample residuals.

use labelcast_core::band::{band_with, conformal_halfwidth, conformal_rank, BandExtras, BandOptions, Source};
use labelcast_core::forecast::{Coefficients, Forecast};

const MISSES: [f64; 9] = [0.1, -0.3, 0.2, -0.05, 0.4, 0.15, -0.25, 0.35, -0.12];

#[test]
fn the_half_width_is_the_kth_smallest_absolute_miss() {
    // |r| sorted: 0.05 0.1 0.12 0.15 0.2 0.25 0.3 0.35 0.4.
    assert_eq!(conformal_rank(9, 0.9), 9); // ⌈10 · 0.9⌉, not 10 from 9.000000000000002
    assert_eq!(conformal_halfwidth(&MISSES, 0.9), Some((0.4, true)));
    assert_eq!(conformal_halfwidth(&MISSES, 0.8), Some((0.35, true)));
    assert_eq!(conformal_halfwidth(&MISSES, 0.5), Some((0.2, true)));
    // Eight misses cannot promise 90% (k = 9 > 8): the largest one, flagged.
    assert_eq!(conformal_halfwidth(&MISSES[..8], 0.9), Some((0.4, false)));
    assert_eq!(conformal_halfwidth(&[], 0.9), None);
}

fn constant(auc: f64) -> Coefficients {
    Coefficients {
        name: "t".into(),
        label: "test".into(),
        slope: 0.0,
        intercept: auc,
        slope_se: 0.0,
        intercept_se: 0.0,
        provenance: String::new(),
    }
}

#[test]
fn the_band_is_the_prediction_plus_minus_the_half_width_at_every_target() {
    let extras = BandExtras { residuals: MISSES.to_vec(), ..BandExtras::default() };
    let max = 10_000.0;
    let b = band_with(0.5, Some(&[0.4, 0.5, 0.6]), &constant(0.45), &[0.5, 0.9], max, &BandOptions::default(), &extras)
        .unwrap();
    assert!((b.auc.lo - 0.05).abs() < 1e-12 && (b.auc.hi - 0.85).abs() < 1e-12, "{:?}", b.auc);
    assert_eq!(b.auc.mid, 0.45);
    assert_eq!(b.sources, vec![Source::TaskResiduals]);
    assert_eq!(b.resamples, 0);
    for &(t, i) in &b.budgets {
        let at = |a: f64| Forecast::from_auc(a, max).unwrap().budget_for(t).unwrap();
        let (x, y) = (at(0.05), at(0.85));
        assert!((i.lo - x.min(y)).abs() < 1e-9 && (i.hi - x.max(y)).abs() < 1e-9, "{t}: {i:?} vs {x} {y}");
        assert!(i.lo <= i.mid && i.mid <= i.hi);
    }
    for &(_, lo, hi) in &b.curve {
        assert!(lo <= hi);
    }
    assert!(b.notes[0].contains("± 0.400") && b.notes[0].contains("9 of the fit's 9"), "{:?}", b.notes);
    // Nothing is drawn at random: another seed gives the same band.
    let other = BandOptions { seed: 7, ..BandOptions::default() };
    let b2 = band_with(0.5, Some(&[0.4, 0.5, 0.6]), &constant(0.45), &[0.5, 0.9], max, &other, &extras).unwrap();
    assert_eq!(b, b2);
}

#[test]
fn a_band_past_zero_is_clamped_and_says_so() {
    let extras = BandExtras { residuals: MISSES[..8].to_vec(), ..BandExtras::default() };
    let b = band_with(0.5, None, &constant(0.2), &[0.9], 1000.0, &BandOptions::default(), &extras).unwrap();
    assert_eq!(b.clamped, 1);
    assert!(b.auc.lo > 0.0 && b.auc.lo < 1e-5);
    assert!(b.notes.iter().any(|n| n.contains("no 90% band can be promised")), "{:?}", b.notes);
    assert!(b.notes.iter().any(|n| n.contains("clamped")), "{:?}", b.notes);
}
