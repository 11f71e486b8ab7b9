//! Which published coefficient set applies to a model: an exact match (the model the paper
//! fitted), a same-family estimate (another size or version of that family), or none.

use labelcast_core::suite::published::{published_match, PublishedMatch};
use labelcast_protocol::ModelInfo;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CoefMatch {
    Exact { family: String },
    SameFamily { family: String, why: String },
    None { why: String },
}

impl CoefMatch {
    /// The family to preselect, if any.
    pub fn family(&self) -> Option<&str> {
        match self {
            CoefMatch::Exact { family } | CoefMatch::SameFamily { family, .. } => Some(family),
            CoefMatch::None { .. } => None,
        }
    }

    /// One sentence for the page.
    pub fn sentence(&self, model: &str) -> String {
        match self {
            CoefMatch::Exact { .. } => format!(
                "{model} is a model the published coefficients were fitted on: they apply as published."
            ),
            CoefMatch::SameFamily { why, .. } => format!(
                "No coefficients were published for {model}; {why}. This is an estimate: the forecast \
                 is only as good as that family's fit transfers to this model."
            ),
            CoefMatch::None { why } => format!(
                "No published coefficients apply to {model} ({why}). CoS-Low is still measured; \
                 choose a coefficient set below or enter your own (labelcast calibrate fits them \
                 from tasks you measured)."
            ),
        }
    }
}

/// Longest model name shown; a GGUF's `general.name` is whatever its author wrote.
const MAX_TITLE_CHARS: usize = 120;

/// The name to show for a model: its GGUF `general.name` when it has a usable one (control
/// characters dropped, trimmed, cut at [`MAX_TITLE_CHARS`]), else the file name.
pub fn model_title(model: &ModelInfo) -> String {
    let clean: String = model
        .name
        .as_deref()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    let clean = clean.trim();
    if clean.is_empty() {
        return model.file.clone();
    }
    match clean.char_indices().nth(MAX_TITLE_CHARS) {
        Some((i, _)) => format!("{}…", &clean[..i]),
        None => clean.to_string(),
    }
}

/// Matches a model by its GGUF `general.name` (or file name) against the published families:
/// labelcast-core's rule (`published_match`), the one the CLI uses.
pub fn coef_match(model: &ModelInfo) -> CoefMatch {
    match published_match(model.name.as_deref(), &model.file) {
        PublishedMatch::Exact { family } => CoefMatch::Exact { family },
        PublishedMatch::SameFamily { family, why } => CoefMatch::SameFamily { family, why },
        PublishedMatch::None => {
            let instruct = [model.name.as_deref().unwrap_or_default(), model.file.as_str()]
                .iter()
                .any(|s| s.to_lowercase().contains("instruct"));
            let why = if instruct {
                format!("its family, {} architecture aside, is none of Llama 3.1, Mistral, Qwen2.5", model.arch)
            } else {
                "it is none of Llama 3.1, Mistral, Qwen2.5".to_string()
            };
            CoefMatch::None { why }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(name: Option<&str>, file: &str, arch: &str) -> ModelInfo {
        ModelInfo {
            file: file.into(),
            name: name.map(str::to_string),
            arch: arch.into(),
            layers: 1,
            hidden: 1,
            vocab: 1,
            context: 1,
            bytes: 1.0,
        }
    }

    #[test]
    fn title_is_the_gguf_name_else_the_file() {
        let m = model(Some("Smollm2 135M 8k Lc100K Mix1 Ep2"), "SmolLM2.gguf", "llama");
        assert_eq!(model_title(&m), "Smollm2 135M 8k Lc100K Mix1 Ep2");
        assert_eq!(model_title(&model(None, "a.gguf", "llama")), "a.gguf");
        assert_eq!(model_title(&model(Some(" \t\n "), "a.gguf", "llama")), "a.gguf");
        assert_eq!(model_title(&model(Some("x\u{0}y\n"), "a.gguf", "llama")), "xy");
        let long = model(Some(&"n".repeat(500)), "a.gguf", "llama");
        assert_eq!(model_title(&long).chars().count(), MAX_TITLE_CHARS + 1);
    }

    #[test]
    fn published_models_match_exactly() {
        let m = model(Some("Meta Llama 3.1 8B Instruct"), "x.gguf", "llama");
        assert_eq!(coef_match(&m).family(), Some("llama-3.1-8b-instruct"));
        assert!(matches!(coef_match(&m), CoefMatch::Exact { .. }));
        let m = model(None, "Qwen2.5-14B-Instruct-Q4_K_M.gguf", "qwen2");
        assert!(matches!(coef_match(&m), CoefMatch::Exact { ref family } if family == "qwen2.5-14b-instruct"));
        let m = model(Some("Mistral-7B-Instruct-v0.3"), "m.gguf", "llama");
        assert!(matches!(coef_match(&m), CoefMatch::Exact { .. }));
    }

    #[test]
    fn other_sizes_are_same_family_estimates() {
        let m = model(Some("Qwen2.5 0.5B Instruct"), "q.gguf", "qwen2");
        let c = coef_match(&m);
        assert!(matches!(c, CoefMatch::SameFamily { .. }));
        assert!(c.sentence("Qwen2.5 0.5B").contains("estimate"));
        let m = model(Some("Llama 3.2 1B Instruct"), "l.gguf", "llama");
        assert_eq!(coef_match(&m).family(), Some("llama-3.1-8b-instruct"));
    }

    #[test]
    fn smollm2_has_no_published_set() {
        let m = model(Some("SmolLM2 135M Instruct"), "SmolLM2-135M-Instruct.Q4_1.gguf", "llama");
        let c = coef_match(&m);
        assert!(matches!(c, CoefMatch::None { .. }), "{c:?}");
        assert!(c.sentence("SmolLM2").contains("CoS-Low is still measured"));
    }
}
