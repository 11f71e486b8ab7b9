//! Low-confidence decile (METHOD 1c) and top-k uncertainty (METHOD 2).

use labelcast_core::rng::Rng;
use labelcast_core::select::{low_confidence_decile, top_uncertain, Measure, SelectStrategy};
use labelcast_core::Error;
use std::collections::HashSet;

fn random_conf(n: usize, seed: u64) -> Vec<Option<f64>> {
    let mut r = Rng::new(seed);
    (0..n).map(|_| Some(r.next_f64())).collect()
}

/// Indices of the `m` lowest values (ties by index).
fn lowest(conf: &[Option<f64>], m: usize) -> Vec<usize> {
    let mut v: Vec<(usize, f64)> = conf.iter().enumerate().filter_map(|(i, c)| c.map(|c| (i, c))).collect();
    v.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    v.into_iter().take(m).map(|(i, _)| i).collect()
}

#[test]
fn decile_draws_only_from_the_bottom_decile_sorted_by_confidence() {
    let conf = random_conf(1000, 1);
    let decile: HashSet<usize> = lowest(&conf, 100).into_iter().collect();
    for seed in 0..20 {
        let s = low_confidence_decile(&conf, 32, seed).unwrap();
        assert_eq!(s.indices.len(), 32);
        assert!(s.notes.is_empty(), "{:?}", s.notes);
        let set: HashSet<usize> = s.indices.iter().copied().collect();
        assert_eq!(set.len(), 32, "drawn without replacement");
        assert!(set.is_subset(&decile), "seed {seed}: outside the bottom decile");
        let c: Vec<f64> = s.indices.iter().map(|&i| conf[i].unwrap()).collect();
        assert!(c.windows(2).all(|w| w[0] <= w[1]), "sorted by confidence ascending");
    }
}

#[test]
fn decile_draw_covers_the_whole_decile_across_seeds() {
    // A draw that always took the lowest 32 would pass the subset test but not this one.
    let conf = random_conf(1000, 2);
    let mut seen = HashSet::new();
    for seed in 0..200 {
        seen.extend(low_confidence_decile(&conf, 32, seed).unwrap().indices);
    }
    assert_eq!(seen.len(), 100);
}

#[test]
fn decile_is_deterministic_for_a_seed_and_varies_across_seeds() {
    let conf = random_conf(500, 3);
    let a = low_confidence_decile(&conf, 10, 7).unwrap();
    assert_eq!(a, low_confidence_decile(&conf, 10, 7).unwrap());
    assert_ne!(a.indices, low_confidence_decile(&conf, 10, 8).unwrap().indices);
}

#[test]
fn decile_excludes_rows_without_confidence_and_counts_them() {
    // 25 rows, 5 without confidence → pool 20 → decile ceil(20/10) = 2 rows.
    let mut conf = random_conf(25, 4);
    for i in [0, 3, 7, 11, 20] {
        conf[i] = None;
    }
    let s = low_confidence_decile(&conf, 2, 0).unwrap();
    assert_eq!(s.indices, lowest(&conf, 2));
    assert_eq!(s.notes.len(), 1);
    assert!(s.notes[0].contains('5'), "{}", s.notes[0]);
}

#[test]
fn decile_size_rounds_up() {
    // 21 rows → decile of ceil(2.1) = 3; k = 3 takes exactly those without a fallback note.
    let conf = random_conf(21, 5);
    let s = low_confidence_decile(&conf, 3, 9).unwrap();
    assert_eq!(s.indices, lowest(&conf, 3));
    assert!(s.notes.is_empty());
}

#[test]
fn decile_smaller_than_k_takes_the_k_lowest_with_a_note() {
    let conf = random_conf(100, 6); // decile 10 < k 32
    for seed in [0, 1, 2] {
        let s = low_confidence_decile(&conf, 32, seed).unwrap();
        assert_eq!(s.indices, lowest(&conf, 32));
        assert!(s.notes.iter().any(|n| n.contains("lowest")), "{:?}", s.notes);
    }
}

#[test]
fn decile_errors() {
    let conf = random_conf(10, 7);
    assert_eq!(low_confidence_decile(&conf, 11, 0), Err(Error::KTooLarge { k: 11, pool: 10 }));
    let mut with_none = conf.clone();
    with_none[0] = None;
    assert_eq!(low_confidence_decile(&with_none, 10, 0), Err(Error::KTooLarge { k: 10, pool: 9 }));
    assert!(matches!(low_confidence_decile(&conf, 0, 0), Err(Error::Invalid(_))));
    let mut nan = conf;
    nan[2] = Some(f64::NAN);
    let e = low_confidence_decile(&nan, 1, 0).unwrap_err().to_string();
    assert!(e.contains("row 3"), "{e}");
    assert_eq!(low_confidence_decile(&[], 1, 0), Err(Error::KTooLarge { k: 1, pool: 0 }));
}

#[test]
fn top_uncertain_follows_each_measures_direction() {
    let scores = vec![Some(0.5), Some(0.9), None, Some(0.1), Some(0.7)];
    for m in Measure::ALL {
        let s = top_uncertain(&scores, m, 2).unwrap();
        let want = if m.higher_is_uncertain() { vec![1, 4] } else { vec![3, 0] };
        assert_eq!(s.indices, want, "{m}");
        assert_eq!(s.notes.len(), 1, "one note for the None row");
        assert!(!s.indices.contains(&2));
    }
}

#[test]
fn top_uncertain_breaks_ties_by_input_order() {
    let scores = vec![Some(1.0), Some(2.0), Some(2.0), Some(1.0), Some(2.0)];
    assert_eq!(top_uncertain(&scores, Measure::MeanEntropy, 2).unwrap().indices, vec![1, 2]);
    assert_eq!(top_uncertain(&scores, Measure::MinMargin, 2).unwrap().indices, vec![0, 3]);
    assert_eq!(top_uncertain(&scores, Measure::MeanEntropy, 5).unwrap().indices, vec![1, 2, 4, 0, 3]);
}

#[test]
fn top_uncertain_errors() {
    let scores = vec![Some(0.5), None, Some(0.1)];
    assert_eq!(top_uncertain(&scores, Measure::MeanEntropy, 3), Err(Error::KTooLarge { k: 3, pool: 2 }));
    assert!(matches!(top_uncertain(&scores, Measure::MeanEntropy, 0), Err(Error::Invalid(_))));
    let bad = vec![Some(0.5), Some(f64::INFINITY), Some(f64::NAN)];
    let e = top_uncertain(&bad, Measure::MeanMargin, 1).unwrap_err();
    let msgs: Vec<String> = e.problems().iter().map(|p| p.to_string()).collect();
    assert!(msgs.iter().any(|m| m.contains("row 2")) && msgs.iter().any(|m| m.contains("row 3")), "{msgs:?}");
}

#[test]
fn names_parse_and_round_trip() {
    let names: Vec<&str> = Measure::ALL.iter().map(|m| m.name()).collect();
    assert_eq!(names, ["avg-confidence", "mean-entropy", "least-confidence", "mean-margin", "min-margin"]);
    let cols: Vec<&str> = Measure::ALL.iter().map(|m| m.column()).collect();
    assert_eq!(cols, ["avg_confidence", "mean_entropy", "least_confidence", "mean_margin", "min_margin"]);
    for m in Measure::ALL {
        assert_eq!(m.name().parse::<Measure>(), Ok(m));
        assert_eq!(m.column().parse::<Measure>(), Ok(m));
    }
    let strategies: Vec<&str> = SelectStrategy::ALL.iter().map(|s| s.name()).collect();
    assert_eq!(
        strategies,
        [
            "low-confidence-decile",
            "mean-entropy",
            "least-confidence",
            "mean-margin",
            "min-margin",
            "avg-confidence",
            "k-center",
            "facility-location",
            "uncertain-diverse"
        ]
    );
    for s in SelectStrategy::ALL {
        assert_eq!(s.name().parse::<SelectStrategy>(), Ok(s));
        assert!(s.needs_scores() || s.needs_embeddings());
        if let Some(m) = s.measure() {
            assert_eq!(SelectStrategy::Uncertainty(m), s);
            assert_eq!(s.name(), m.name());
        }
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, format!("\"{}\"", s.name()));
        assert_eq!(serde_json::from_str::<SelectStrategy>(&json).unwrap(), s);
    }
    assert!("k_center".parse::<SelectStrategy>().is_ok());
    let e = "coreset".parse::<SelectStrategy>().unwrap_err().to_string();
    assert!(e.contains("k-center"), "lists the known names: {e}");
    assert!("entropy".parse::<Measure>().is_err());
}
