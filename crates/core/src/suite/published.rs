//! Which published coefficient set applies to a model by its name: an exact match (the model
//! the paper fitted), a same-family estimate (another size or version), or none. One rule for
//! the page and the CLI.

/// How a model relates to the paper's three.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishedMatch {
    Exact { family: String },
    SameFamily { family: String, why: String },
    None,
}

impl PublishedMatch {
    pub fn family(&self) -> Option<&str> {
        match self {
            PublishedMatch::Exact { family } | PublishedMatch::SameFamily { family, .. } => Some(family),
            PublishedMatch::None => None,
        }
    }
}

fn squash(s: &str) -> String {
    s.to_lowercase().chars().filter(|c| c.is_ascii_alphanumeric() || *c == '.').collect()
}

/// Matches a model by its name (GGUF `general.name`, when known) and file name.
pub fn published_match(name: Option<&str>, file: &str) -> PublishedMatch {
    let name = squash(name.unwrap_or(file));
    let file = squash(file);
    let has = |needle: &str| name.contains(needle) || file.contains(needle);
    if has("llama3.18binstruct") {
        return PublishedMatch::Exact { family: "llama-3.1-8b-instruct".into() };
    }
    if has("mistral7binstructv0.3") {
        return PublishedMatch::Exact { family: "mistral-7b-instruct-v0.3".into() };
    }
    if has("qwen2.514binstruct") {
        return PublishedMatch::Exact { family: "qwen2.5-14b-instruct".into() };
    }
    let same = |family: &str, what: &str| PublishedMatch::SameFamily {
        family: family.into(),
        why: format!("the {what} coefficients are used as a same-family estimate"),
    };
    if has("llama3") || (has("llama") && !has("smollm") && !has("tinyllama")) {
        return same("llama-3.1-8b-instruct", "Llama 3.1 8B-Instruct");
    }
    if has("mistral") {
        return same("mistral-7b-instruct-v0.3", "Mistral 7B-Instruct v0.3");
    }
    if has("qwen2") {
        return same("qwen2.5-14b-instruct", "Qwen2.5 14B-Instruct");
    }
    PublishedMatch::None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_papers_models_match_exactly_and_their_kin_as_estimates() {
        assert!(matches!(published_match(Some("Meta Llama 3.1 8B Instruct"), "x.gguf"), PublishedMatch::Exact { .. }));
        assert_eq!(published_match(None, "Qwen2.5-14B-Instruct-Q4_K_M.gguf").family(), Some("qwen2.5-14b-instruct"));
        assert!(matches!(published_match(Some("Mistral-7B-Instruct-v0.3"), "m.gguf"), PublishedMatch::Exact { .. }));
        assert!(matches!(published_match(Some("Qwen2.5 0.5B Instruct"), "q.gguf"), PublishedMatch::SameFamily { .. }));
        assert_eq!(published_match(Some("Llama 3.2 1B Instruct"), "l.gguf").family(), Some("llama-3.1-8b-instruct"));
        assert_eq!(
            published_match(Some("SmolLM2 135M Instruct"), "SmolLM2-135M-Instruct.Q4_1.gguf"),
            PublishedMatch::None
        );
    }
}
