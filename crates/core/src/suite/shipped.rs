//! The calibration runs that ship with labelcast (calibration/*.json, written by
//! `labelcast calibrate-suite`), and which of them applies to a loaded model. The page and the
//! CLI both ask here, so they pick the same proxy set for the same model.

use super::proxy::{proxy_sets, ProxySet};
use super::SuiteResults;
use crate::error::Result;
use crate::forecast::families;

/// (file name, contents) of every shipped results file.
const SHIPPED: [(&str, &str); 1] =
    [("smollm2-135m-instruct.json", include_str!("../../../../calibration/smollm2-135m-instruct.json"))];

/// Every shipped results file, parsed.
pub fn shipped() -> Result<Vec<SuiteResults>> {
    SHIPPED.iter().map(|(f, text)| SuiteResults::from_json(f, text)).collect()
}

/// How a loaded model relates to the model of a calibration run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelMatch {
    /// The very file the run used (same SHA-256).
    SameFile,
    /// The same model by name, in another file (e.g. another quantization): CoS-Low differs a
    /// little, so the fit is an estimate for it.
    SameModel,
}

fn squash(s: &str) -> String {
    s.to_lowercase().chars().filter(|c| c.is_ascii_alphanumeric()).collect()
}

/// How `model` (its name, e.g. GGUF `general.name`, its file name, and its SHA-256 where known)
/// relates to the run's model; `None` when it is another model.
pub fn match_model(run: &SuiteResults, name: Option<&str>, file: &str, sha256: Option<&str>) -> Option<ModelMatch> {
    if sha256.is_some_and(|s| s.eq_ignore_ascii_case(&run.model.sha256)) {
        return Some(ModelMatch::SameFile);
    }
    let want = [squash(&run.model.name), squash(&run.model.label)];
    let stem = file.split('.').next().unwrap_or(file);
    let have = [name.map(squash).unwrap_or_default(), squash(stem)];
    have.iter().any(|h| !h.is_empty() && want.contains(h)).then_some(ModelMatch::SameModel)
}

/// The proxy sets for a model from the first run (of `runs`) that matches it.
pub fn proxies_for(
    runs: &[SuiteResults],
    name: Option<&str>,
    file: &str,
    sha256: Option<&str>,
) -> Option<(ModelMatch, Vec<ProxySet>)> {
    runs.iter().find_map(|r| Some((match_model(r, name, file, sha256)?, proxy_sets(r))))
}

/// The family preselected as the fine-tuning target: the first published family (Llama 3.1
/// 8B-Instruct, which has an AUC on every task of the suite) that has a proxy set.
pub fn default_target(sets: &[ProxySet]) -> Option<&ProxySet> {
    families().iter().find_map(|f| sets.iter().find(|s| s.family == f.name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_files_parse_and_name_the_model() {
        let runs = shipped().unwrap();
        assert_eq!(runs[0].model.name, "smollm2-135m-instruct");
        let r = &runs[0];
        assert_eq!(match_model(r, None, "x.gguf", Some(&r.model.sha256.to_uppercase())), Some(ModelMatch::SameFile));
        assert_eq!(match_model(r, Some("SmolLM2 135M Instruct"), "a.gguf", None), Some(ModelMatch::SameModel));
        assert_eq!(match_model(r, None, "SmolLM2-135M-Instruct.Q8_0.gguf", Some("00")), Some(ModelMatch::SameModel));
        assert_eq!(match_model(r, Some("SmolLM2 360M Instruct"), "smollm2-360m.gguf", None), None);
    }
}
