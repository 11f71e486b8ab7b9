//! Choosing which unlabeled examples to annotate (METHOD.md 1c and 2).
//!
//! Every strategy takes per-row inputs (confidence or uncertainty scores, embeddings) in
//! the order of the input table and returns a [`Selection`] whose `indices` point back into
//! that input. Randomness comes only from [`crate::rng::Rng`] seeded by the caller, so a
//! selection can be reproduced from its seed.
//!
//! - [`low_confidence_decile`]: the forecasting method's 32 examples (METHOD 1c).
//! - [`top_uncertain`]: the `k` most uncertain rows by a [`Measure`] (METHOD 2).
//! - [`k_center`], [`facility_location`]: diversity over prompt embeddings (METHOD 2).
//! - [`uncertain_diverse`]: most uncertain candidates, then k-center among them, to avoid
//!   the near-duplicate batches plain top-k uncertainty produces (METHOD 2's weakness).
//!
//! Row numbers in error messages and notes are 1-based data rows (row 1 = index 0), like
//! [`crate::error::Location::row`].

mod choose;
mod decile;
mod diversity;
mod hybrid;
mod uncertainty;

pub use choose::choose;
pub use decile::{low_confidence_decile, DECILE_FRACTION};
pub use diversity::{facility_location, facility_location_naive, facility_location_objective, k_center};
pub use hybrid::{uncertain_diverse, uncertain_diverse_with, HybridOptions};
pub use uncertainty::top_uncertain;

use crate::error::{Error, Result};
use std::fmt;
use std::str::FromStr;

/// The rows chosen, as indices into the input, plus remarks for the user (rows skipped,
/// fallbacks taken). The order of `indices` is documented per strategy.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Selection {
    pub indices: Vec<usize>,
    pub notes: Vec<String>,
}

/// Per-row uncertainty scores over the tokens of the model's greedy answer (METHOD 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Measure {
    /// Mean probability of the generated tokens (METHOD 1b); low = uncertain.
    AvgConfidence,
    /// Mean over tokens of the entropy of the next-token distribution; high = uncertain.
    MeanEntropy,
    /// 1 − product of the chosen tokens' probabilities; high = uncertain.
    LeastConfidence,
    /// Mean over tokens of top1 − top2 probability; low = uncertain.
    MeanMargin,
    /// Minimum over tokens of top1 − top2 probability; low = uncertain.
    MinMargin,
}

impl Measure {
    pub const ALL: [Measure; 5] = [
        Measure::AvgConfidence,
        Measure::MeanEntropy,
        Measure::LeastConfidence,
        Measure::MeanMargin,
        Measure::MinMargin,
    ];

    /// Kebab-case name used on the command line and in the web app.
    pub fn name(self) -> &'static str {
        match self {
            Measure::AvgConfidence => "avg-confidence",
            Measure::MeanEntropy => "mean-entropy",
            Measure::LeastConfidence => "least-confidence",
            Measure::MeanMargin => "mean-margin",
            Measure::MinMargin => "min-margin",
        }
    }

    /// Snake-case column name the scoring step writes and the selection step reads.
    pub fn column(self) -> &'static str {
        match self {
            Measure::AvgConfidence => "avg_confidence",
            Measure::MeanEntropy => "mean_entropy",
            Measure::LeastConfidence => "least_confidence",
            Measure::MeanMargin => "mean_margin",
            Measure::MinMargin => "min_margin",
        }
    }

    /// True when a larger score means the model is less sure (entropy, least confidence);
    /// false for confidence and margins, where small values are the uncertain ones.
    pub fn higher_is_uncertain(self) -> bool {
        matches!(self, Measure::MeanEntropy | Measure::LeastConfidence)
    }
}

impl fmt::Display for Measure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Measure {
    type Err = Error;
    /// Accepts the kebab-case name or the snake-case column name, case-insensitively,
    /// because users copy either from the docs or from a scored file's header.
    fn from_str(s: &str) -> Result<Self> {
        let t = s.trim().to_ascii_lowercase();
        Measure::ALL.into_iter().find(|m| m.name() == t || m.column() == t).ok_or_else(|| {
            Error::Invalid(format!(
                "unknown uncertainty measure \"{s}\"; known: {}",
                names(Measure::ALL.iter().map(|m| m.name()))
            ))
        })
    }
}

/// Every selection strategy by its command-line name, so the CLI and the web app offer
/// the same list and parse it the same way. The five top-k uncertainty strategies are
/// `Uncertainty(measure)` and are named after their measure ("mean-entropy", ...).
/// Serialised as its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SelectStrategy {
    /// METHOD 1c: `k` drawn at random from the lowest-confidence 10%.
    LowConfidenceDecile,
    /// The `k` most uncertain rows by this measure ([`top_uncertain`]).
    Uncertainty(Measure),
    /// Greedy k-center over prompt embeddings ([`k_center`]).
    KCenter,
    /// Greedy facility location over prompt embeddings ([`facility_location`]).
    FacilityLocation,
    /// Most uncertain candidates, then k-center among them ([`uncertain_diverse`]).
    UncertainDiverse,
}

impl SelectStrategy {
    /// In the order help texts list them.
    pub const ALL: [SelectStrategy; 9] = [
        SelectStrategy::LowConfidenceDecile,
        SelectStrategy::Uncertainty(Measure::MeanEntropy),
        SelectStrategy::Uncertainty(Measure::LeastConfidence),
        SelectStrategy::Uncertainty(Measure::MeanMargin),
        SelectStrategy::Uncertainty(Measure::MinMargin),
        SelectStrategy::Uncertainty(Measure::AvgConfidence),
        SelectStrategy::KCenter,
        SelectStrategy::FacilityLocation,
        SelectStrategy::UncertainDiverse,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SelectStrategy::LowConfidenceDecile => "low-confidence-decile",
            SelectStrategy::Uncertainty(m) => m.name(),
            SelectStrategy::KCenter => "k-center",
            SelectStrategy::FacilityLocation => "facility-location",
            SelectStrategy::UncertainDiverse => "uncertain-diverse",
        }
    }

    /// The measure a top-k strategy ranks by; `None` for the others (the decile always
    /// uses avg confidence; the hybrid takes its measure as a separate argument).
    pub fn measure(self) -> Option<Measure> {
        match self {
            SelectStrategy::Uncertainty(m) => Some(m),
            _ => None,
        }
    }

    /// Whether the strategy reads per-row uncertainty/confidence scores.
    pub fn needs_scores(self) -> bool {
        !matches!(self, SelectStrategy::KCenter | SelectStrategy::FacilityLocation)
    }

    /// Whether the strategy reads prompt embeddings.
    pub fn needs_embeddings(self) -> bool {
        matches!(self, SelectStrategy::KCenter | SelectStrategy::FacilityLocation | SelectStrategy::UncertainDiverse)
    }

    /// Whether the seed changes the result (decile draw, k-center's first center).
    pub fn uses_seed(self) -> bool {
        matches!(self, SelectStrategy::LowConfidenceDecile | SelectStrategy::KCenter | SelectStrategy::UncertainDiverse)
    }

    /// One-line description for help texts and the web app.
    pub fn description(self) -> &'static str {
        match self {
            SelectStrategy::LowConfidenceDecile => {
                "random draw from the 10% lowest-confidence rows (the forecast's 32 examples)"
            }
            SelectStrategy::Uncertainty(Measure::MeanEntropy) => "highest mean token entropy",
            SelectStrategy::Uncertainty(Measure::LeastConfidence) => "highest 1 - P(answer)",
            SelectStrategy::Uncertainty(Measure::MeanMargin) => "lowest mean top1-top2 margin",
            SelectStrategy::Uncertainty(Measure::MinMargin) => "lowest minimum top1-top2 margin",
            SelectStrategy::Uncertainty(Measure::AvgConfidence) => "lowest average token confidence",
            SelectStrategy::KCenter => "greedy k-center over prompt embeddings (spread out)",
            SelectStrategy::FacilityLocation => "greedy facility location over prompt embeddings (representative)",
            SelectStrategy::UncertainDiverse => "k-center among the most uncertain rows (uncertain but not redundant)",
        }
    }
}

impl serde::Serialize for SelectStrategy {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for SelectStrategy {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for SelectStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SelectStrategy {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let t = s.trim().to_ascii_lowercase().replace('_', "-");
        SelectStrategy::ALL.into_iter().find(|x| x.name() == t).ok_or_else(|| {
            Error::Invalid(format!(
                "unknown selection strategy \"{s}\"; known: {}",
                names(SelectStrategy::ALL.iter().map(|x| x.name()))
            ))
        })
    }
}

fn names<'a>(it: impl Iterator<Item = &'a str>) -> String {
    it.collect::<Vec<_>>().join(", ")
}

/// `k == 0` is a caller mistake (nothing to annotate); `k` above the pool cannot be met.
fn check_k(k: usize, pool: usize) -> Result<()> {
    if k == 0 {
        return Err(Error::Invalid("asked for 0 examples; k must be at least 1".into()));
    }
    if k > pool {
        return Err(Error::KTooLarge { k, pool });
    }
    Ok(())
}

/// Rows that have a score, as (index, score). `None` rows (no answer tokens to score) are
/// skipped and counted in a note; a NaN or infinite score is an error because it means the
/// scoring went wrong, and silently ranking it would put garbage into the batch.
fn valid_scores(scores: &[Option<f64>], what: &str, notes: &mut Vec<String>) -> Result<Vec<(usize, f64)>> {
    let mut valid = Vec::with_capacity(scores.len());
    let mut bad = Vec::new();
    for (i, s) in scores.iter().enumerate() {
        match s {
            Some(x) if x.is_finite() => valid.push((i, *x)),
            Some(x) => bad.push(Error::Invalid(format!("data row {}: {what} is {x}", i + 1))),
            None => {}
        }
    }
    if bad.len() == 1 {
        return Err(bad.remove(0));
    }
    if !bad.is_empty() {
        return Err(Error::Many(bad));
    }
    let missing = scores.len() - valid.len();
    if missing > 0 {
        notes.push(format!(
            "{missing} of {} rows have no {what} (no answer tokens to score) and were left out",
            scores.len()
        ));
    }
    Ok(valid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for m in Measure::ALL {
            assert_eq!(m.name().parse::<Measure>().unwrap(), m);
            assert_eq!(m.column().parse::<Measure>().unwrap(), m);
        }
        for s in SelectStrategy::ALL {
            assert_eq!(s.name().parse::<SelectStrategy>().unwrap(), s);
        }
        assert!("entropy".parse::<Measure>().is_err());
        assert!("random".parse::<SelectStrategy>().is_err());
    }

    #[test]
    fn direction_of_measures() {
        assert!(Measure::MeanEntropy.higher_is_uncertain());
        assert!(Measure::LeastConfidence.higher_is_uncertain());
        assert!(!Measure::AvgConfidence.higher_is_uncertain());
        assert!(!Measure::MeanMargin.higher_is_uncertain());
        assert!(!Measure::MinMargin.higher_is_uncertain());
    }
}
