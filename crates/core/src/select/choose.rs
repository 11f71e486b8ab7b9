//! The one dispatch from a strategy to its algorithm, for the CLI's `select` and the page's
//! next batch alike. Each caller says how to get its candidates' scores and embeddings (read
//! from a scored file's columns, or kept from the worker's replies); only what the strategy
//! needs is read, so a pool without embeddings still takes every uncertainty strategy.

use super::{
    facility_location, k_center, low_confidence_decile, top_uncertain, uncertain_diverse, Measure, SelectStrategy,
    Selection,
};

/// Chooses `k` of the candidates with `strategy`. `hybrid` is the measure the uncertain-and-
/// diverse strategy ranks by first (the decile always reads avg_confidence, a top-k strategy
/// its own measure). The indices are into the candidates as `scores` and `embeddings` list them.
pub fn choose<E: From<crate::Error>>(
    strategy: SelectStrategy,
    hybrid: Measure,
    k: usize,
    seed: u64,
    mut scores: impl FnMut(Measure) -> Result<Vec<Option<f64>>, E>,
    mut embeddings: impl FnMut() -> Result<Vec<Vec<f32>>, E>,
) -> Result<Selection, E> {
    Ok(match strategy {
        SelectStrategy::LowConfidenceDecile => low_confidence_decile(&scores(Measure::AvgConfidence)?, k, seed)?,
        SelectStrategy::Uncertainty(m) => top_uncertain(&scores(m)?, m, k)?,
        SelectStrategy::KCenter => k_center(&embeddings()?, k, seed)?,
        SelectStrategy::FacilityLocation => facility_location(&embeddings()?, k)?,
        SelectStrategy::UncertainDiverse => uncertain_diverse(&scores(hybrid)?, hybrid, &embeddings()?, k, seed)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    /// Each strategy reads what it needs and nothing else, and gives what its algorithm gives.
    #[test]
    fn each_strategy_reads_only_what_it_needs() {
        let conf: Vec<Option<f64>> = (0..40).map(|i| Some(i as f64 / 40.0)).collect();
        let emb: Vec<Vec<f32>> = (0..40).map(|i| vec![i as f32, (i * i % 7) as f32]).collect();
        for strategy in SelectStrategy::ALL {
            let (mut read_scores, mut read_emb) = (Vec::new(), 0);
            let got = choose::<Error>(
                strategy,
                Measure::MeanEntropy,
                5,
                3,
                |m| {
                    read_scores.push(m);
                    Ok(conf.clone())
                },
                || {
                    read_emb += 1;
                    Ok(emb.clone())
                },
            )
            .unwrap();
            assert_eq!(!read_scores.is_empty(), strategy.needs_scores(), "{strategy}");
            assert_eq!(read_emb > 0, strategy.needs_embeddings(), "{strategy}");
            let want = match strategy {
                SelectStrategy::LowConfidenceDecile => {
                    assert_eq!(read_scores, [Measure::AvgConfidence]);
                    low_confidence_decile(&conf, 5, 3)
                }
                SelectStrategy::Uncertainty(m) => {
                    assert_eq!(read_scores, [m]);
                    top_uncertain(&conf, m, 5)
                }
                SelectStrategy::KCenter => k_center(&emb, 5, 3),
                SelectStrategy::FacilityLocation => facility_location(&emb, 5),
                SelectStrategy::UncertainDiverse => {
                    assert_eq!(read_scores, [Measure::MeanEntropy]);
                    uncertain_diverse(&conf, Measure::MeanEntropy, &emb, 5, 3)
                }
            };
            assert_eq!(got, want.unwrap(), "{strategy}");
        }
    }

    /// A reader's error stops the choice and comes back as it is.
    #[test]
    fn a_missing_input_is_the_callers_error() {
        let e = choose::<Error>(
            SelectStrategy::KCenter,
            Measure::MeanEntropy,
            5,
            0,
            |_| Ok(vec![]),
            || Err(Error::Invalid("no embeddings".into())),
        )
        .unwrap_err();
        assert_eq!(e.to_string(), Error::Invalid("no embeddings".into()).to_string());
    }
}
