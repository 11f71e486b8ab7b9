//! The per-task numbers a fit can use (CoS-Low and its variants, the sample's loss and
//! answers, the pool's confidence), read from a suite run's draw or from one user's run.

use super::TaskRun;
use crate::stats;

/// A per-task number a fit can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Feature {
    /// The paper's CoS-Low.
    Coslow,
    /// CoS-Low after removing the mean gradient of the 32.
    CoslowCentered,
    /// CoS-Low without the first answer token in the loss.
    CoslowSkipFirst,
    /// Mean avg_confidence of the scored pool.
    PoolConfidence,
    /// Mean avg_confidence of the 32.
    SampleConfidence,
    /// Mean entropy of the scored pool's generations.
    PoolEntropy,
    /// Mean counted answer tokens of the 32.
    AnswerTokens,
    /// log2 of the number of distinct answers among the 32 (labeled) rows.
    LogDistinctAnswers,
    /// Mean loss of the 32's answers under the model.
    SampleLoss,
    /// CoS-Low of the first, middle and last third of the layers' gradients.
    CoslowEarly,
    CoslowMiddle,
    CoslowLate,
    /// CoS-Low of the attention (q, k, v, o) and of the MLP (gate, up, down) projections.
    CoslowAttention,
    CoslowMlp,
}

impl Feature {
    pub const ALL: [Feature; 14] = [
        Feature::Coslow,
        Feature::CoslowCentered,
        Feature::CoslowSkipFirst,
        Feature::PoolConfidence,
        Feature::SampleConfidence,
        Feature::PoolEntropy,
        Feature::AnswerTokens,
        Feature::LogDistinctAnswers,
        Feature::SampleLoss,
        Feature::CoslowEarly,
        Feature::CoslowMiddle,
        Feature::CoslowLate,
        Feature::CoslowAttention,
        Feature::CoslowMlp,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Feature::Coslow => "coslow",
            Feature::CoslowCentered => "coslow-centered",
            Feature::CoslowSkipFirst => "coslow-skip-first",
            Feature::PoolConfidence => "pool-confidence",
            Feature::SampleConfidence => "sample-confidence",
            Feature::PoolEntropy => "pool-entropy",
            Feature::AnswerTokens => "answer-tokens",
            Feature::LogDistinctAnswers => "log2-distinct-answers",
            Feature::SampleLoss => "sample-loss",
            Feature::CoslowEarly => "coslow-early-layers",
            Feature::CoslowMiddle => "coslow-middle-layers",
            Feature::CoslowLate => "coslow-late-layers",
            Feature::CoslowAttention => "coslow-attention",
            Feature::CoslowMlp => "coslow-mlp",
        }
    }

    /// This feature's value in one draw of a task; `None` when the run did not measure it.
    pub fn value(self, t: &TaskRun, draw: usize) -> Option<f64> {
        let d = t.draws.get(draw)?;
        let v = match self {
            Feature::Coslow => d.coslow,
            Feature::CoslowCentered => d.coslow_centered,
            Feature::CoslowSkipFirst => d.coslow_skip_first?,
            Feature::PoolConfidence => t.pool.mean_avg_confidence,
            Feature::SampleConfidence => d.mean_avg_confidence,
            Feature::PoolEntropy => t.pool.mean_entropy,
            Feature::AnswerTokens => d.mean_answer_tokens,
            Feature::LogDistinctAnswers => (d.distinct_answers.max(1) as f64).log2(),
            Feature::SampleLoss => d.mean_loss,
            Feature::CoslowEarly => d.coslow_parts?.early,
            Feature::CoslowMiddle => d.coslow_parts?.middle,
            Feature::CoslowLate => d.coslow_parts?.late,
            Feature::CoslowAttention => d.coslow_parts?.attention,
            Feature::CoslowMlp => d.coslow_parts?.mlp,
        };
        v.is_finite().then_some(v)
    }
}

impl Feature {
    /// Whether a user's run yields it without extra work (the page and `labelcast forecast`
    /// compute these). Reported as tried but never chosen: CoS-Low without the first answer
    /// token (a second gradient pass) and CoS-Low by part (not computed by the GPU backend
    /// nor carried by the page's worker yet).
    pub fn shippable(self) -> bool {
        !self.is_coslow() || matches!(self, Feature::Coslow | Feature::CoslowCentered)
    }
}

impl Feature {
    /// CoS-Low or one of its variants (centered, without the first token, by part): each a
    /// median cosine of the examples' gradients, which the paper's reading makes rise with
    /// data efficiency.
    pub fn is_coslow(self) -> bool {
        matches!(
            self,
            Feature::Coslow
                | Feature::CoslowCentered
                | Feature::CoslowSkipFirst
                | Feature::CoslowEarly
                | Feature::CoslowMiddle
                | Feature::CoslowLate
                | Feature::CoslowAttention
                | Feature::CoslowMlp
        )
    }
}

/// What one user's run (the page's, or `labelcast forecast --model`) knows, for the features
/// a proxy set may need. Leave out what the run does not have.
#[derive(Debug, Clone, Default)]
pub struct RunInputs<'a> {
    pub coslow: f64,
    /// The k × k Gram of the examples' gradients.
    pub gram: Option<&'a [Vec<f64>]>,
    pub losses: Option<&'a [f64]>,
    pub answer_tokens: Option<&'a [usize]>,
    /// The examples' answers as labeled.
    pub labels: Option<&'a [String]>,
    /// avg_confidence of the examples, and of the scored pool's rows (those with one).
    pub sample_confidence: Option<&'a [f64]>,
    pub pool_confidence: Option<&'a [f64]>,
    /// mean_entropy of the scored pool's rows.
    pub pool_entropy: Option<&'a [f64]>,
}

/// The features of a user's run, computed as the suite computes them for a draw.
pub fn run_features(r: &RunInputs) -> std::collections::BTreeMap<Feature, f64> {
    let mean = |v: &[f64]| stats::mean(v);
    let mut m = std::collections::BTreeMap::new();
    m.insert(Feature::Coslow, r.coslow);
    let mut put = |f: Feature, v: Option<f64>| {
        if let Some(v) = v.filter(|v| v.is_finite()) {
            m.insert(f, v);
        }
    };
    put(Feature::CoslowCentered, r.gram.and_then(|g| super::centered_coslow(g).ok()));
    put(Feature::SampleLoss, r.losses.and_then(mean));
    put(Feature::AnswerTokens, r.answer_tokens.and_then(|a| mean(&a.iter().map(|&n| n as f64).collect::<Vec<_>>())));
    put(
        Feature::LogDistinctAnswers,
        r.labels.filter(|l| !l.is_empty()).map(|l| {
            let mut v: Vec<&str> = l.iter().map(|s| s.trim()).collect();
            v.sort_unstable();
            v.dedup();
            (v.len() as f64).log2()
        }),
    );
    put(Feature::SampleConfidence, r.sample_confidence.and_then(mean));
    put(Feature::PoolConfidence, r.pool_confidence.and_then(mean));
    put(Feature::PoolEntropy, r.pool_entropy.and_then(mean));
    m
}
