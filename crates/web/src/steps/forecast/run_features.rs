//! The features of the page's own run that a proxy set may use besides CoS-Low, computed by
//! labelcast-core's `run_features` from what the page has: the CoS-Low result (Gram, losses,
//! answer tokens), the labels of the examples and the scores of the sample. The suite computes
//! the same features for each of its draws, so a set fitted there applies here.

use std::collections::BTreeMap;

use labelcast_core::suite::fit::{run_features, Feature, RunInputs};

use crate::workflow::{Measured, Scored};

/// The run's features; `labels` are the examples' answers, in `m.rows` order. Whatever the
/// page does not have (a session saved before the Gram was kept, no scores) is left out, and a
/// set that needs it says so.
pub fn page_features(m: &Measured, scored: Option<&Scored>, labels: &[String]) -> BTreeMap<Feature, f64> {
    let r = &m.result;
    // Examples skipped for their length have no gradient: the features are of the others.
    let ran = |i: usize| r.skipped.get(i).is_none_or(Option::is_none);
    let rows: Vec<usize> = m.rows.iter().enumerate().filter(|&(i, _)| ran(i)).map(|(_, &row)| row).collect();
    let labels: Vec<String> = labels.iter().enumerate().filter(|&(i, _)| ran(i)).map(|(_, l)| l.clone()).collect();
    let confidence = |rows: &mut dyn Iterator<Item = usize>| -> Vec<f64> {
        let Some(s) = scored else { return Vec::new() };
        rows.filter_map(|row| s.rows.iter().position(|&x| x == row).and_then(|i| s.scores[i].stats.avg_confidence))
            .collect()
    };
    let sample = confidence(&mut rows.iter().copied());
    let pool: Vec<f64> =
        scored.map(|s| s.scores.iter().filter_map(|x| x.stats.avg_confidence).collect()).unwrap_or_default();
    let entropy: Vec<f64> =
        scored.map(|s| s.scores.iter().filter_map(|x| x.stats.mean_entropy).collect()).unwrap_or_default();
    let some = |v: &[f64]| -> Option<Vec<f64>> { (!v.is_empty()).then(|| v.to_vec()) };
    let (sample, pool, entropy) = (some(&sample), some(&pool), some(&entropy));
    run_features(&RunInputs {
        coslow: r.coslow,
        gram: (r.gram.len() == r.examples && r.examples > 0).then_some(&r.gram[..]),
        losses: (!r.losses.is_empty()).then_some(&r.losses[..]),
        answer_tokens: (!r.answer_tokens.is_empty()).then_some(&r.answer_tokens[..]),
        labels: (labels.len() == rows.len() && !labels.is_empty()).then_some(&labels[..]),
        sample_confidence: sample.as_deref(),
        pool_confidence: pool.as_deref(),
        pool_entropy: entropy.as_deref(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use labelcast_protocol::{CosLowOut, ScoreRow, Scores};

    fn measured(gram: Vec<Vec<f64>>) -> Measured {
        Measured {
            rows: vec![2, 5, 7],
            result: CosLowOut {
                coslow: 0.4,
                cosines: vec![vec![1.0; 3]; 3],
                pairs: 3,
                examples: 3,
                losses: vec![1.0, 2.0, 3.0],
                seconds: 1.0,
                gram,
                answer_tokens: vec![1, 2, 6],
                workers: 1,
                cut: vec![],
                skipped: vec![],
                sketch_sd: None,
            },
        }
    }

    fn row(conf: f64, ent: f64) -> ScoreRow {
        ScoreRow {
            stats: Scores { avg_confidence: Some(conf), mean_entropy: Some(ent), ..Scores::default() },
            ..ScoreRow::default()
        }
    }

    #[test]
    fn the_page_run_gives_every_shippable_feature() {
        let scored = Scored {
            rows: vec![2, 3, 5, 7],
            scores: vec![row(0.2, 1.0), row(1.0, 3.0), row(0.4, 1.0), row(0.6, 3.0)],
            seconds: 1.0,
            cancelled_of: None,
        };
        let gram = vec![vec![2.0, 1.0, 0.0], vec![1.0, 2.0, 1.0], vec![0.0, 1.0, 2.0]];
        let labels = vec!["a".to_string(), " a ".into(), "b".into()];
        let f = page_features(&measured(gram), Some(&scored), &labels);
        assert_eq!(f[&Feature::Coslow], 0.4);
        assert!((f[&Feature::SampleConfidence] - 0.4).abs() < 1e-12, "the 32's own confidence");
        assert!((f[&Feature::PoolConfidence] - 0.55).abs() < 1e-12, "every scored row");
        assert_eq!(f[&Feature::PoolEntropy], 2.0);
        assert_eq!(f[&Feature::SampleLoss], 2.0);
        assert_eq!(f[&Feature::AnswerTokens], 3.0);
        assert_eq!(f[&Feature::LogDistinctAnswers], 1.0, "answers are trimmed: 2 distinct");
        assert!(f.contains_key(&Feature::CoslowCentered));
    }

    #[test]
    fn an_example_skipped_for_its_length_is_left_out_of_the_features() {
        let scored = Scored {
            rows: vec![2, 5, 7, 9],
            scores: vec![row(0.2, 1.0), row(0.4, 1.0), row(0.6, 3.0), row(0.9, 3.0)],
            seconds: 1.0,
            cancelled_of: None,
        };
        let gram = vec![vec![2.0, 1.0, 0.0], vec![1.0, 2.0, 1.0], vec![0.0, 1.0, 2.0]];
        let mut m = measured(gram);
        // Four examples sent, the third skipped: the result is of rows 2, 5 and 9.
        m.rows = vec![2, 5, 7, 9];
        m.result.skipped = vec![None, None, Some(9000), None];
        let labels = vec!["a".to_string(), "a".into(), "c".into(), "b".into()];
        let f = page_features(&m, Some(&scored), &labels);
        assert!((f[&Feature::SampleConfidence] - 0.5).abs() < 1e-12, "rows 2, 5 and 9");
        assert_eq!(f[&Feature::LogDistinctAnswers], 1.0, "a and b: c was skipped");
    }

    #[test]
    fn a_session_from_before_the_gram_has_only_what_it_kept() {
        let f = page_features(&measured(vec![]), None, &[]);
        assert!(!f.contains_key(&Feature::CoslowCentered));
        assert!(!f.contains_key(&Feature::SampleConfidence) && !f.contains_key(&Feature::LogDistinctAnswers));
        assert_eq!(f[&Feature::SampleLoss], 2.0);
    }
}
