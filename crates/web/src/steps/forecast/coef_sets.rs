//! The page's coefficient choice (saved with the work as text) and what it resolves to. The
//! rules are labelcast-core's (`suite::choice`, shared with the CLI): a calibrated model gets
//! its proxy set for the model to be fine-tuned; a model the paper fitted gets its published set
//! (its kin the same, with a warning); a model with no set at all gets the suite's average task,
//! plainly labelled; a set fitted on another model's CoS-Low, chosen by hand, carries a warning.
//! This module maps the page's inputs onto those rules and words the model card's note.

use labelcast_core::suite::choice::{self, with_shipped, Coef};
use labelcast_core::suite::published::PublishedMatch;
use labelcast_protocol::ModelInfo;
use serde::{Deserialize, Serialize};

pub use labelcast_core::suite::choice::{calibration_for, Calibration, Chosen, Kind, ModelId, SHIPPED};

pub use crate::steps::forecast::forecast_error::message;
use crate::steps::forecast::forecast_error::{parse_number, CoefError, InputError};
use crate::steps::model::coef_match::model_title;

/// The coefficient choice that follows the loaded model (the recommended one).
pub const AUTO: &str = "auto";
/// Custom slope and intercept.
pub const CUSTOM: &str = "custom";
/// Prefix of a calibrated model's proxy sets in the choice (`proxy:smollm2-135m-instruct`).
pub const PROXY: &str = "proxy:";

/// The loaded model as the rules see it: its SHA-256 (hashed by the worker as it read the
/// file) matches its own calibration; `general.name` or the file's stem a calibration of the
/// same model in another file, with a warning.
pub fn model_id(m: &ModelInfo) -> ModelId {
    ModelId { title: model_title(m), name: m.name.clone(), file: m.file.clone(), sha256: m.sha256.clone() }
}

/// A results file of `labelcast calibrate-suite`; the error names the file.
pub fn parse_calibration(name: &str, text: &str) -> Result<Calibration, CoefError> {
    Ok(Calibration::from_file(name, text)?)
}

/// The person's files (name, text) first, then the shipped runs, as the CLI's `--calibration`
/// files come before the shipped ones; also the files that no longer read, with why.
pub fn calibrations(loaded: &[(String, String)]) -> (Vec<Calibration>, Vec<String>) {
    let mut errors = Vec::new();
    let mut out: Vec<Calibration> = loaded
        .iter()
        .filter_map(|(n, t)| parse_calibration(n, t).map_err(|e| errors.push(e.to_string())).ok())
        .collect();
    match with_shipped(Vec::new()) {
        Ok(shipped) => out.extend(shipped),
        Err(e) => errors.push(format!("the calibration shipped with labelcast: {}", message(&e))),
    }
    (out, errors)
}

/// The person's choice, saved with their work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Choice {
    /// The published family that will be fine-tuned; `None`: the model's default target.
    pub target: Option<String>,
    /// `AUTO`, `PROXY` + a calibrated model's name, a published family's name, or `CUSTOM`.
    pub coef: String,
    /// Custom slope and intercept as typed.
    pub slope: String,
    pub intercept: String,
}

impl Default for Choice {
    fn default() -> Self {
        Choice { target: None, coef: AUTO.into(), slope: String::new(), intercept: String::new() }
    }
}

/// What the choice asks core for; custom numbers must parse.
fn coef(c: &Choice) -> Result<Coef, InputError> {
    Ok(match c.coef.as_str() {
        AUTO => Coef::Auto,
        CUSTOM => Coef::Custom {
            slope: parse_number("the slope c", &c.slope)?,
            intercept: parse_number("the intercept I", &c.intercept)?,
        },
        other => match other.strip_prefix(PROXY) {
            Some(name) => Coef::Proxy(name.to_string()),
            None => Coef::Published(other.to_string()),
        },
    })
}

/// The set for `choice`, given the loaded model (if any) and the calibrations known.
pub fn resolve(m: Option<&ModelId>, cals: &[Calibration], choice: &Choice) -> Result<Chosen, CoefError> {
    Ok(choice::resolve(m, cals, choice.target.as_deref(), &coef(choice)?)?)
}

/// One sentence for the model card: which set the forecast will use for this model.
pub fn model_note(m: &ModelId, cals: &[Calibration]) -> String {
    if let Some((cal, _)) = calibration_for(m, cals) {
        let fams: Vec<&str> = cal.sets.iter().map(|s| s.family_label.as_str()).collect();
        let from =
            if cal.source == SHIPPED { "shipped with labelcast".to_string() } else { format!("from {}", cal.source) };
        return format!(
            "{} has coefficients calibrated by labelcast on the paper's tasks ({from}) for fine-tuning \
             {}: the forecast in step 5 uses them.",
            m.title,
            fams.join(", ")
        );
    }
    match m.published() {
        PublishedMatch::Exact { .. } => {
            format!("{} is a model the published coefficients were fitted on: they apply as published.", m.title)
        }
        PublishedMatch::SameFamily { why, .. } => format!(
            "No coefficients were published for {}; {why}. This is an estimate: the forecast is only as \
             good as that family's fit transfers to this model.",
            m.title
        ),
        PublishedMatch::None => format!(
            "No coefficients exist for {} (neither published nor calibrated with labelcast \
             calibrate-suite): its CoS-Low is still measured, and step 5 shows the budget of an \
             average task, not a forecast for your data. A calibration file for it can be loaded in \
             step 5.",
            m.title
        ),
    }
}

/// The synthetic calibration of tests/fixtures (tests/fixtures/make_calibration.py), loaded as
/// a person's file: SmolLM2 gets a proxy set for Llama that beats the average task, one for
/// Mistral that does not, and none for Qwen.
#[cfg(test)]
pub(crate) fn fixture_calibrations() -> Vec<Calibration> {
    const FIXTURE: &str = include_str!("../../../../../tests/fixtures/calibration-smollm2.json");
    calibrations(&[("calibration-smollm2.json".into(), FIXTURE.into())]).0
}

#[cfg(test)]
#[path = "coef_sets_tests.rs"]
mod tests;
