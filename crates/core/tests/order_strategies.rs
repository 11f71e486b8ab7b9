//! Training orders (METHOD 3): permutation property and each strategy's defining property.

use labelcast_core::order::Strategy as Order;
use labelcast_core::order::{array_split_sizes, interleave_chunks, levels, order, Buckets, Level, OrderOptions};
use labelcast_core::Error;
use proptest::prelude::*;

fn opts(strategy: Order, seed: u64) -> OrderOptions {
    OrderOptions { strategy, seed, ..OrderOptions::default() }
}

fn cats(labels: &str) -> Vec<String> {
    labels.chars().map(|c| c.to_string()).collect()
}

fn labels_of(out: &[usize], c: &[String]) -> String {
    out.iter().map(|&i| c[i].as_str()).collect()
}

/// Categories in order of first appearance.
fn first_appearance(c: &[String]) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for x in c {
        if !seen.contains(x) {
            seen.push(x.clone());
        }
    }
    seen
}

/// The label sequence collapsed to its runs, e.g. "aabba" → ["a", "b", "a"].
fn runs(labels: &[&String]) -> Vec<String> {
    let mut r: Vec<String> = Vec::new();
    for l in labels {
        if r.last() != Some(*l) {
            r.push((*l).clone());
        }
    }
    r
}

fn is_permutation(out: &[usize], n: usize) -> bool {
    let mut s = out.to_vec();
    s.sort_unstable();
    s == (0..n).collect::<Vec<_>>()
}

fn data() -> impl Strategy<Value = (Vec<String>, Vec<f64>, u64)> {
    (0usize..60).prop_flat_map(|n| {
        (
            proptest::collection::vec(prop_oneof!["a", "b", "c", "d"], n),
            // Rounded to tenths so that difficulty ties occur.
            proptest::collection::vec((0u32..=10).prop_map(|x| x as f64 / 10.0), n),
            any::<u64>(),
        )
    })
}

proptest! {
    #[test]
    fn every_strategy_returns_a_permutation((c, d, seed) in data(), with_cats in any::<bool>()) {
        let n = c.len();
        for s in Order::ALL {
            let cats = if with_cats { Some(&c[..]) } else { None };
            let out = order(cats, Some(&d), n, &opts(s, seed)).unwrap();
            prop_assert!(is_permutation(&out, n), "{}: {:?}", s, out);
        }
        for s in Order::ALL.into_iter().filter(|s| !s.needs_difficulty()) {
            let out = order(Some(&c), None, n, &opts(s, seed)).unwrap();
            prop_assert!(is_permutation(&out, n));
        }
    }

    #[test]
    fn curriculum_is_easiest_first((c, d, seed) in data()) {
        let out = order(Some(&c), Some(&d), c.len(), &opts(Order::Curriculum, seed)).unwrap();
        prop_assert!(out.windows(2).all(|w| d[w[0]] <= d[w[1]]));
    }

    #[test]
    fn blocked_keeps_categories_contiguous_in_first_appearance_order((c, d, seed) in data()) {
        for s in [Order::Blocked, Order::BlockedCurriculum] {
            let out = order(Some(&c), Some(&d), c.len(), &opts(s, seed)).unwrap();
            let labels: Vec<&String> = out.iter().map(|&i| &c[i]).collect();
            prop_assert_eq!(runs(&labels), first_appearance(&c));
            if s == Order::BlockedCurriculum {
                prop_assert!(out.windows(2).all(|w| c[w[0]] != c[w[1]] || d[w[0]] <= d[w[1]]));
            }
        }
    }

    #[test]
    fn buckets_go_easy_then_medium_then_hard((c, d, seed) in data()) {
        let lv = levels(&d, &Buckets::default()).unwrap();
        for s in [Order::CurriculumBuckets, Order::InterleavedCurriculum] {
            let out = order(Some(&c), Some(&d), c.len(), &opts(s, seed)).unwrap();
            prop_assert!(out.windows(2).all(|w| lv[w[0]] <= lv[w[1]]), "{}", s);
            if s == Order::InterleavedCurriculum {
                // Within a level, categories are contiguous, in first-appearance order.
                for l in Level::ALL {
                    let labels: Vec<&String> = out.iter().filter(|&&i| lv[i] == l).map(|&i| &c[i]).collect();
                    let want: Vec<String> = first_appearance(&c)
                        .into_iter()
                        .filter(|x| labels.contains(&x))
                        .collect();
                    prop_assert_eq!(runs(&labels), want);
                }
            }
        }
    }

    #[test]
    fn interleaved_deals_three_chunks_round_robin((c, _d, seed) in data()) {
        let out = order(Some(&c), None, c.len(), &opts(Order::Interleaved, seed)).unwrap();
        let mut want = String::new();
        let order_of_cats = first_appearance(&c);
        for chunk in 0..3 {
            for cat in &order_of_cats {
                let size = array_split_sizes(c.iter().filter(|x| *x == cat).count(), 3)[chunk];
                want.push_str(&cat.repeat(size));
            }
        }
        prop_assert_eq!(labels_of(&out, &c), want);
    }
}

#[test]
fn array_split_matches_numpy() {
    assert_eq!(array_split_sizes(10, 3), vec![4, 3, 3]);
    assert_eq!(array_split_sizes(11, 3), vec![4, 4, 3]);
    assert_eq!(array_split_sizes(2, 3), vec![1, 1, 0]);
    assert_eq!(array_split_sizes(0, 3), vec![0, 0, 0]);
}

#[test]
fn interleave_chunks_hand_example() {
    let blocks = vec![vec![0, 1, 2, 3, 4, 5, 6], vec![7, 8], vec![9, 10, 11, 12]];
    // a: [0 1 2][3 4][5 6]  b: [7][8][]  c: [9 10][11][12]
    assert_eq!(interleave_chunks(&blocks, 3), vec![0, 1, 2, 7, 9, 10, 3, 4, 8, 11, 5, 6, 12]);
}

#[test]
fn interleaved_on_a_seed_independent_case() {
    // One row per category: each block is its own first chunk, in first-appearance order.
    let c = cats("zxy");
    for seed in 0..5 {
        assert_eq!(order(Some(&c), None, 3, &opts(Order::Interleaved, seed)).unwrap(), vec![0, 1, 2]);
    }
    // a ×6, b ×3: 2 a, 1 b, 2 a, 1 b, 2 a, 1 b.
    let c = cats("abababaaa");
    for seed in 0..5 {
        let out = order(Some(&c), None, 9, &opts(Order::Interleaved, seed)).unwrap();
        assert_eq!(labels_of(&out, &c), "aabaabaab");
    }
}

#[test]
fn categories_come_in_order_of_first_appearance() {
    let c = cats("zazmaz");
    let out = order(Some(&c), None, 6, &opts(Order::Blocked, 3)).unwrap();
    assert_eq!(labels_of(&out, &c), "zzzaam");
}

#[test]
fn curriculum_with_distinct_difficulty_is_seed_independent() {
    let d = vec![0.5, 0.1, 0.9, 0.3, 0.7];
    for seed in 0..5 {
        assert_eq!(order(None, Some(&d), 5, &opts(Order::Curriculum, seed)).unwrap(), vec![1, 3, 0, 4, 2]);
    }
}

#[test]
fn buckets_by_quantiles_and_thresholds() {
    let d: Vec<f64> = (1..=9).map(f64::from).collect();
    let lv = levels(&d, &Buckets::default()).unwrap();
    let count = |l| lv.iter().filter(|&&x| x == l).count();
    assert_eq!([count(Level::Easy), count(Level::Medium), count(Level::Hard)], [3, 3, 3]);
    // easy < a ≤ medium < b ≤ hard.
    let lv = levels(&[0.1, 0.2, 0.5, 0.6, 0.8], &Buckets::Thresholds(0.2, 0.6)).unwrap();
    assert_eq!(lv, vec![Level::Easy, Level::Medium, Level::Medium, Level::Hard, Level::Hard]);
    let o = OrderOptions { strategy: Order::CurriculumBuckets, seed: 1, buckets: Buckets::Thresholds(0.2, 0.6) };
    let out = order(None, Some(&[0.8, 0.5, 0.1, 0.6, 0.2]), 5, &o).unwrap();
    let mut medium = out[1..3].to_vec();
    medium.sort();
    assert_eq!((out[0], medium), (2, vec![1, 4]));
}

#[test]
fn deterministic_for_a_seed_and_different_across_seeds() {
    let c: Vec<String> = (0..60).map(|i| ["a", "b", "c"][i % 3].to_string()).collect();
    let d: Vec<f64> = (0..60).map(|i| (i % 4) as f64).collect(); // many ties
    for s in Order::ALL {
        let a = order(Some(&c), Some(&d), 60, &opts(s, 11)).unwrap();
        assert_eq!(a, order(Some(&c), Some(&d), 60, &opts(s, 11)).unwrap(), "{s}");
        assert_ne!(a, order(Some(&c), Some(&d), 60, &opts(s, 12)).unwrap(), "{s} ignores the seed");
    }
}

#[test]
fn difficulty_is_required_and_must_be_finite() {
    for s in Order::ALL.into_iter().filter(|s| s.needs_difficulty()) {
        let e = order(None, None, 3, &opts(s, 0)).unwrap_err().to_string();
        assert!(e.contains(s.name()) && e.contains("difficulty"), "{e}");
        let e = order(None, Some(&[0.1, 0.2, f64::NAN]), 3, &opts(s, 0)).unwrap_err().to_string();
        assert!(e.contains("row 3"), "{e}");
    }
    let needing: Vec<&str> = Order::ALL.iter().filter(|s| s.needs_difficulty()).map(|s| s.name()).collect();
    assert_eq!(needing, ["curriculum", "curriculum-buckets", "blocked-curriculum", "interleaved-curriculum"]);
    // Strategies that ignore difficulty do not fail on it.
    assert!(order(None, Some(&[f64::NAN, 1.0]), 2, &opts(Order::Random, 0)).is_ok());
}

#[test]
fn invalid_inputs_are_errors() {
    let c = cats("ab");
    assert!(matches!(order(Some(&c), None, 3, &opts(Order::Blocked, 0)), Err(Error::Invalid(_))));
    assert!(matches!(order(None, Some(&[0.1]), 3, &opts(Order::Curriculum, 0)), Err(Error::Invalid(_))));
    for b in [Buckets::Quantiles(0.6, 0.3), Buckets::Quantiles(0.2, 1.5), Buckets::Thresholds(0.5, 0.5)] {
        let o = OrderOptions { strategy: Order::CurriculumBuckets, seed: 0, buckets: b };
        assert!(order(None, Some(&[0.1, 0.2]), 2, &o).is_err(), "{b:?}");
    }
    assert_eq!(order(None, None, 0, &opts(Order::Random, 0)).unwrap(), Vec::<usize>::new());
}

#[test]
fn strategy_names_parse_and_round_trip() {
    let names: Vec<&str> = Order::ALL.iter().map(|s| s.name()).collect();
    assert_eq!(
        names,
        [
            "random",
            "blocked",
            "curriculum",
            "curriculum-buckets",
            "blocked-curriculum",
            "interleaved",
            "interleaved-curriculum"
        ]
    );
    for s in Order::ALL {
        assert_eq!(s.name().parse::<Order>(), Ok(s));
    }
    assert!("shuffled".parse::<Order>().unwrap_err().to_string().contains("interleaved-curriculum"));
    assert_eq!(Buckets::default(), Buckets::Quantiles(1.0 / 3.0, 2.0 / 3.0));
}
