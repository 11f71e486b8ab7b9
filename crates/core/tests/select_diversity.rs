//! Diversity selection (k-center, facility location) and the uncertain-diverse hybrid.

use labelcast_core::rng::Rng;
use labelcast_core::select::{
    facility_location, facility_location_naive, facility_location_objective, k_center, top_uncertain,
    uncertain_diverse, uncertain_diverse_with, HybridOptions, Measure,
};
use labelcast_core::Error;
use std::collections::HashSet;

fn random_emb(n: usize, d: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut r = Rng::new(seed);
    (0..n).map(|_| (0..d).map(|_| r.normal() as f32).collect()).collect()
}

/// `per` points around each of the directions 0°, 90°, 180°, 270° in the plane, with
/// small angular jitter and norms varying 100-fold (cosine must ignore the norm).
fn four_clusters(per: usize, seed: u64) -> (Vec<Vec<f32>>, Vec<usize>) {
    let mut r = Rng::new(seed);
    let mut emb = Vec::new();
    let mut cluster = Vec::new();
    for i in 0..4 * per {
        let c = i % 4;
        let angle = c as f64 * std::f64::consts::FRAC_PI_2 + (r.next_f64() - 0.5) * 0.2;
        let norm = 0.1 + 10.0 * r.next_f64();
        emb.push(vec![(norm * angle.cos()) as f32, (norm * angle.sin()) as f32]);
        cluster.push(c);
    }
    (emb, cluster)
}

#[test]
fn k_center_picks_one_point_per_direction() {
    let (emb, cluster) = four_clusters(6, 1);
    for seed in 0..10 {
        let s = k_center(&emb, 4, seed).unwrap();
        let hit: HashSet<usize> = s.indices.iter().map(|&i| cluster[i]).collect();
        assert_eq!(hit.len(), 4, "seed {seed}: {:?}", s.indices);
    }
}

#[test]
fn k_center_on_a_line_of_directions_takes_the_extremes() {
    // Directions at 0°, 10°, ..., 90°: from any start, the next center is an end of the fan.
    let emb: Vec<Vec<f32>> = (0..10)
        .map(|i| {
            let a = (i as f64 * 10.0).to_radians();
            vec![a.cos() as f32, a.sin() as f32]
        })
        .collect();
    for seed in 0..10 {
        let s = k_center(&emb, 3, seed).unwrap();
        let set: HashSet<usize> = s.indices.iter().copied().collect();
        assert!(set.contains(&0) || set.contains(&9), "{:?}", s.indices);
        if s.indices[0] == 0 {
            assert_eq!(s.indices[1], 9);
        }
    }
}

#[test]
fn k_center_is_deterministic_for_a_seed_and_the_seed_picks_the_first_center() {
    let emb = random_emb(200, 16, 2);
    let a = k_center(&emb, 10, 5).unwrap();
    assert_eq!(a, k_center(&emb, 10, 5).unwrap());
    let firsts: HashSet<usize> = (0..10).map(|s| k_center(&emb, 10, s).unwrap().indices[0]).collect();
    assert!(firsts.len() > 1);
    let set: HashSet<usize> = a.indices.iter().copied().collect();
    assert_eq!(set.len(), 10, "no repeats");
}

#[test]
fn k_center_breaks_distance_ties_by_lowest_index() {
    // Rows 1, 2 and 3 are all opposite to row 0 (rows 1-3 are duplicates).
    let emb = vec![vec![1.0f32, 0.0], vec![-1.0, 0.0], vec![-2.0, 0.0], vec![-3.0, 0.0]];
    let mut s = None;
    for seed in 0..50 {
        let sel = k_center(&emb, 2, seed).unwrap();
        if sel.indices[0] == 0 {
            s = Some(sel);
            break;
        }
    }
    assert_eq!(s.expect("some seed starts at row 0").indices, vec![0, 1]);
}

#[test]
fn facility_location_lazy_equals_naive_greedy() {
    for (case, (n, d, k)) in [(60, 8, 10), (40, 3, 40), (100, 20, 15), (7, 2, 5)].into_iter().enumerate() {
        let mut emb = random_emb(n, d, 10 + case as u64);
        // Duplicates and zero vectors create exact ties the two must break the same way.
        emb[1] = emb[0].clone();
        emb[3] = emb[2].iter().map(|x| x * 5.0).collect();
        emb[4] = vec![0.0; d];
        let lazy = facility_location(&emb, k).unwrap();
        let naive = facility_location_naive(&emb, k).unwrap();
        assert_eq!(lazy, naive, "case {case}");
    }
    for seed in 0..20 {
        let (emb, _) = four_clusters(5, 100 + seed);
        assert_eq!(facility_location(&emb, 6).unwrap(), facility_location_naive(&emb, 6).unwrap());
    }
}

#[test]
fn facility_location_lazy_equals_naive_greedy_on_a_pool_large_enough_for_threads() {
    // n·d above the size where gains are evaluated in batches on worker threads.
    let emb = random_emb(380, 700, 21);
    assert_eq!(facility_location(&emb, 3).unwrap(), facility_location_naive(&emb, 3).unwrap());
}

#[test]
fn facility_location_first_pick_is_the_best_single_row() {
    let emb = random_emb(50, 5, 3);
    let s = facility_location(&emb, 3).unwrap();
    let f = |set: &[usize]| facility_location_objective(&emb, set).unwrap();
    let best = (0..50).max_by(|&a, &b| f(&[a]).total_cmp(&f(&[b])).then(b.cmp(&a))).unwrap();
    assert_eq!(s.indices[0], best);
    // Each greedy step is the best extension of the previous prefix.
    for step in 1..3 {
        let prefix = &s.indices[..step];
        let chosen = f(&s.indices[..=step]);
        for j in (0..50).filter(|j| !prefix.contains(j)) {
            let mut t = prefix.to_vec();
            t.push(j);
            assert!(f(&t) <= chosen + 1e-9);
        }
    }
}

#[test]
fn facility_location_covers_every_cluster() {
    let (emb, cluster) = four_clusters(8, 4);
    let s = facility_location(&emb, 4).unwrap();
    let hit: HashSet<usize> = s.indices.iter().map(|&i| cluster[i]).collect();
    assert_eq!(hit.len(), 4, "{:?}", s.indices);
}

#[test]
fn embeddings_are_validated_naming_the_row() {
    assert!(matches!(k_center(&[], 1, 0), Err(Error::Invalid(_))));
    assert!(matches!(facility_location(&[], 1), Err(Error::Invalid(_))));
    let ragged = vec![vec![1.0f32, 0.0], vec![0.0, 1.0], vec![1.0, 1.0, 1.0]];
    let e = k_center(&ragged, 1, 0).unwrap_err().to_string();
    assert!(e.contains("row 3") && e.contains('3') && e.contains('2'), "{e}");
    let nan = vec![vec![1.0f32, 0.0], vec![f32::NAN, 1.0]];
    let e = facility_location(&nan, 1).unwrap_err().to_string();
    assert!(e.contains("row 2"), "{e}");
    let inf = vec![vec![1.0f32, f32::INFINITY]];
    assert!(k_center(&inf, 1, 0).unwrap_err().to_string().contains("row 1"));
    let ok = random_emb(5, 3, 0);
    assert_eq!(k_center(&ok, 6, 0), Err(Error::KTooLarge { k: 6, pool: 5 }));
    assert_eq!(facility_location(&ok, 6), Err(Error::KTooLarge { k: 6, pool: 5 }));
    assert!(matches!(k_center(&ok, 0, 0), Err(Error::Invalid(_))));
    assert!(matches!(facility_location(&ok, 0), Err(Error::Invalid(_))));
}

#[test]
fn zero_vectors_are_allowed_and_noted() {
    let emb = vec![vec![1.0f32, 0.0], vec![0.0, 0.0], vec![0.0, 1.0], vec![0.0, 0.0]];
    let s = k_center(&emb, 4, 0).unwrap();
    let mut sorted = s.indices.clone();
    sorted.sort();
    assert_eq!(sorted, vec![0, 1, 2, 3]);
    assert!(s.notes.iter().any(|n| n.contains("zero")), "{:?}", s.notes);
    let f = facility_location(&emb, 2).unwrap();
    assert_eq!(f, facility_location_naive(&emb, 2).unwrap());
}

/// Scores where the most uncertain rows (highest entropy) are near-duplicates.
fn redundant_pool(seed: u64) -> (Vec<Option<f64>>, Vec<Vec<f32>>) {
    let mut r = Rng::new(seed);
    let mut emb = random_emb(60, 6, seed);
    let mut scores: Vec<Option<f64>> = (0..60).map(|_| Some(r.next_f64())).collect();
    // Rows 0..8 are copies of one prompt with the highest entropies.
    for i in 0..8 {
        emb[i] = emb[0].iter().map(|x| x + 1e-4 * r.normal() as f32).collect();
        scores[i] = Some(2.0 + i as f64 * 0.01);
    }
    scores[50] = None;
    (scores, emb)
}

#[test]
fn hybrid_stays_within_the_most_uncertain_and_avoids_duplicates() {
    let (scores, emb) = redundant_pool(5);
    let k = 4;
    let top_m: HashSet<usize> =
        top_uncertain(&scores, Measure::MeanEntropy, 3 * k).unwrap().indices.into_iter().collect();
    let plain = top_uncertain(&scores, Measure::MeanEntropy, k).unwrap();
    assert!(plain.indices.iter().all(|&i| i < 8), "plain top-k is all duplicates");
    for seed in 0..10 {
        let s = uncertain_diverse(&scores, Measure::MeanEntropy, &emb, k, seed).unwrap();
        assert_eq!(s.indices.len(), k);
        assert!(s.indices.iter().all(|i| top_m.contains(i)), "subset of the 3k most uncertain");
        let dupes = s.indices.iter().filter(|&&i| i < 8).count();
        assert!(dupes <= 1, "seed {seed}: {:?}", s.indices);
        assert!(!s.indices.contains(&50));
        assert_eq!(s, uncertain_diverse(&scores, Measure::MeanEntropy, &emb, k, seed).unwrap());
    }
}

#[test]
fn hybrid_factor_sets_the_candidate_count() {
    let (scores, emb) = redundant_pool(6);
    let opts = HybridOptions { factor: 1.0 };
    for seed in 0..5 {
        let mut s = uncertain_diverse_with(&scores, Measure::MeanEntropy, &emb, 5, seed, &opts).unwrap().indices;
        s.sort();
        let mut t = top_uncertain(&scores, Measure::MeanEntropy, 5).unwrap().indices;
        t.sort();
        assert_eq!(s, t, "factor 1 is plain top-k");
    }
    let wide = HybridOptions { factor: 1000.0 };
    let s = uncertain_diverse_with(&scores, Measure::MeanEntropy, &emb, 5, 0, &wide).unwrap();
    assert!(s.notes.iter().any(|n| n.contains("59")), "all 59 scored rows are candidates: {:?}", s.notes);
    assert_eq!(HybridOptions::default().factor, 3.0);
}

#[test]
fn hybrid_errors() {
    let (scores, emb) = redundant_pool(7);
    assert_eq!(
        uncertain_diverse(&scores, Measure::MeanEntropy, &emb, 60, 0),
        Err(Error::KTooLarge { k: 60, pool: 59 })
    );
    assert!(matches!(uncertain_diverse(&scores, Measure::MeanEntropy, &emb, 0, 0), Err(Error::Invalid(_))));
    assert!(matches!(uncertain_diverse(&scores[..10], Measure::MeanEntropy, &emb, 2, 0), Err(Error::Invalid(_))));
    let bad = HybridOptions { factor: 0.5 };
    assert!(uncertain_diverse_with(&scores, Measure::MeanEntropy, &emb, 2, 0, &bad).is_err());
}
