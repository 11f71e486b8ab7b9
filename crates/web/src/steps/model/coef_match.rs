//! The name the page shows for a loaded model. Which coefficient set applies to it is
//! labelcast-core's rule (`suite::published`, `suite::choice`), asked in `coef_sets`.

use labelcast_protocol::ModelInfo;

/// Longest model name shown; a GGUF's `general.name` is whatever its author wrote.
const MAX_TITLE_CHARS: usize = 120;

/// The name to show for a model: its GGUF `general.name` when it has a usable one (control
/// characters dropped, trimmed, cut at [`MAX_TITLE_CHARS`]), else the file name.
pub fn model_title(model: &ModelInfo) -> String {
    let clean: String = model.name.as_deref().unwrap_or_default().chars().filter(|c| !c.is_control()).collect();
    let clean = clean.trim();
    if clean.is_empty() {
        return model.file.clone();
    }
    match clean.char_indices().nth(MAX_TITLE_CHARS) {
        Some((i, _)) => format!("{}…", &clean[..i]),
        None => clean.to_string(),
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
            sha256: None,
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
}
