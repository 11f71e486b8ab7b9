//! A prompt's scores (METHOD 1b and 2): six statistics of the tokens the model generated for
//! it, what the engine computes, the worker sends the page, and the CLI and the page write as
//! columns.

use serde::{Deserialize, Serialize};

use crate::select::Measure;
use crate::token_stats::StepStats;

/// One prompt's statistics over the counted tokens of its greedy answer (the family's
/// exclusion ids left out). A statistic with no counted token is None, an empty cell.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Scores {
    /// Mean max-softmax probability (METHOD 1b).
    pub avg_confidence: Option<f64>,
    /// exp(mean negative log-likelihood).
    pub ppl: Option<f64>,
    /// Mean entropy (nats) of the distributions (METHOD 2).
    pub mean_entropy: Option<f64>,
    /// 1 − Π p.
    pub least_confidence: Option<f64>,
    /// Mean and min of top1 − top2 probability.
    pub mean_margin: Option<f64>,
    pub min_margin: Option<f64>,
}

impl Scores {
    /// The columns `labelcast score` and the page's exports write, in this order (`values`'s);
    /// `select --scores` reads them back.
    pub const COLUMNS: [&'static str; 6] =
        ["avg_confidence", "ppl", "mean_entropy", "least_confidence", "mean_margin", "min_margin"];

    /// The statistics of the counted tokens' distributions.
    pub fn of_tokens(counted: &[&StepStats]) -> Self {
        let n = counted.len() as f64;
        let mean = |f: &dyn Fn(&StepStats) -> f64| (n > 0.0).then(|| counted.iter().map(|s| f(s)).sum::<f64>() / n);
        let log_p_sum: f64 = counted.iter().map(|s| s.p_max.ln()).sum();
        Scores {
            avg_confidence: mean(&|s| s.p_max),
            ppl: mean(&|s| -s.p_max.ln()).map(f64::exp),
            mean_entropy: mean(&|s| s.entropy),
            least_confidence: (n > 0.0).then(|| 1.0 - log_p_sum.exp()),
            mean_margin: mean(&|s| s.p_max - s.p_second),
            min_margin: counted.iter().map(|s| s.p_max - s.p_second).reduce(f64::min),
        }
    }

    /// The statistics in the order of [`Scores::COLUMNS`].
    pub fn values(&self) -> [Option<f64>; 6] {
        [self.avg_confidence, self.ppl, self.mean_entropy, self.least_confidence, self.mean_margin, self.min_margin]
    }

    /// The statistic an uncertainty measure ranks by.
    pub fn measure(&self, m: Measure) -> Option<f64> {
        match m {
            Measure::AvgConfidence => self.avg_confidence,
            Measure::MeanEntropy => self.mean_entropy,
            Measure::LeastConfidence => self.least_confidence,
            Measure::MeanMargin => self.mean_margin,
            Measure::MinMargin => self.min_margin,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(p_max: f64, p_second: f64, entropy: f64) -> StepStats {
        StepStats { token: 0, p_max, p_second, entropy }
    }

    #[test]
    fn two_tokens_written_out() {
        let (a, b) = (step(0.8, 0.1, 0.7), step(0.5, 0.4, 1.2));
        let s = Scores::of_tokens(&[&a, &b]);
        let close = |x: Option<f64>, y: f64| assert!((x.unwrap() - y).abs() < 1e-15, "{x:?} vs {y}");
        close(s.avg_confidence, 0.65);
        close(s.ppl, (-(0.8f64.ln() + 0.5f64.ln()) / 2.0).exp());
        close(s.mean_entropy, 0.95);
        close(s.least_confidence, 1.0 - 0.4);
        close(s.mean_margin, 0.4);
        close(s.min_margin, 0.1);
    }

    #[test]
    fn no_counted_token_has_no_statistic() {
        assert_eq!(Scores::of_tokens(&[]), Scores::default());
        assert_eq!(Scores::default().values(), [None; 6]);
    }

    #[test]
    fn each_measure_reads_its_own_column() {
        let s = Scores {
            avg_confidence: Some(1.0),
            ppl: Some(2.0),
            mean_entropy: Some(3.0),
            least_confidence: Some(4.0),
            mean_margin: Some(5.0),
            min_margin: Some(6.0),
        };
        for m in Measure::ALL {
            let i = Scores::COLUMNS.iter().position(|&c| c == m.column()).expect("a column per measure");
            assert_eq!(s.measure(m), s.values()[i], "{m}");
        }
        let json = serde_json::to_value(s).unwrap();
        let keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, Scores::COLUMNS, "serialized under the column names");
    }
}
