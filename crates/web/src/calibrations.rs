//! The calibration runs the page knows and the loaded model's identity: the results files of
//! `labelcast calibrate-suite` a person loaded (first) and those shipped with labelcast, with
//! their proxy sets, and which of them names the loaded model (core's `match_model`).

use labelcast_core::suite::proxy::proxy_sets;
use labelcast_core::suite::shipped::{match_model, shipped};
use labelcast_core::suite::{proxy::ProxySet, SuiteResults};
use labelcast_protocol::ModelInfo;

use crate::coef_match::{coef_match, model_title, CoefMatch};

/// A calibration run the page knows, with its proxy sets.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    /// Where it came from: the name of a file the person loaded, or `shipped`.
    pub source: String,
    pub run: SuiteResults,
    pub sets: Vec<ProxySet>,
}

/// A results file of `labelcast calibrate-suite`; the error names the file.
pub fn parse_calibration(name: &str, text: &str) -> Result<Calibration, String> {
    // Core's messages already name the file; its "invalid input:" prefix says nothing more.
    let run = SuiteResults::from_json(name, text).map_err(|e| match e {
        labelcast_core::Error::Invalid(m) => m,
        e => e.to_string(),
    })?;
    let sets = proxy_sets(&run);
    if sets.is_empty() {
        return Err(format!(
            "{name}: the calibration of {} has {} tasks, too few for a proxy set (a family needs \
             at least 5 tasks with its measured AUC); let calibrate-suite run further",
            run.model.label,
            run.tasks.len()
        ));
    }
    Ok(Calibration {
        source: name.to_string(),
        run,
        sets,
    })
}

/// The person's files (name, text) first, then the shipped runs, as the CLI's `--calibration`
/// files come before the shipped ones; also the files that no longer parse, with why.
pub fn calibrations(loaded: &[(String, String)]) -> (Vec<Calibration>, Vec<String>) {
    let mut errors = Vec::new();
    let mut out: Vec<Calibration> = loaded
        .iter()
        .filter_map(|(n, t)| parse_calibration(n, t).map_err(|e| errors.push(e)).ok())
        .collect();
    match shipped() {
        Ok(runs) => out.extend(runs.into_iter().map(|run| Calibration {
            source: "shipped".into(),
            sets: proxy_sets(&run),
            run,
        })),
        Err(e) => errors.push(format!("the shipped calibration: {e}")),
    }
    (out, errors)
}

/// What the rules need to know about the loaded model.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelId {
    pub title: String,
    /// GGUF `general.name` (or config.json's name), and the file it was loaded from.
    pub name: Option<String>,
    pub file: String,
    pub published: CoefMatch,
}

impl ModelId {
    pub fn of(m: &ModelInfo) -> Self {
        ModelId {
            title: model_title(m),
            name: m.name.clone(),
            file: m.file.clone(),
            published: coef_match(m),
        }
    }
}

/// The model's calibration: the first run (the person's files first) that names it and has
/// proxy sets.
pub fn calibration_for<'a>(m: &ModelId, cals: &'a [Calibration]) -> Option<&'a Calibration> {
    cals.iter().find(|c| {
        !c.sets.is_empty() && match_model(&c.run, m.name.as_deref(), &m.file, None).is_some()
    })
}

/// The synthetic calibration of tests/fixtures (tests/fixtures/make_calibration.py), loaded as
/// a person's file: SmolLM2 gets a proxy set for Llama that beats the average task, one for
/// Mistral that does not, and none for Qwen.
#[cfg(test)]
pub(crate) fn fixture_calibrations() -> Vec<Calibration> {
    const FIXTURE: &str = include_str!("../../../tests/fixtures/calibration-smollm2.json");
    calibrations(&[("calibration-smollm2.json".into(), FIXTURE.into())]).0
}
