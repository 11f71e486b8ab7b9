//! Everything text-side of one model in one value: tokenizer, chat template, special ids, built
//! from a GGUF's metadata or from a Hugging Face tokenizer.json (+ tokenizer_config.json).

use serde_json::Value as Json;

use crate::chat::{ChatTemplate, TemplateTokens};
use crate::error::{Result, TextError};
use crate::gguf::TokenizerData;
use crate::special::SpecialIds;
use crate::tokenizer::{EncodedExample, Tokenizer};

/// The parts of a Hugging Face tokenizer_config.json labelcast uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenizerConfig {
    /// `chat_template`: a string, or from a list of `{name, template}` the one named "default".
    pub chat_template: Option<String>,
    /// `bos_token` etc.: a string or an AddedToken object's `content`.
    pub tokens: TemplateTokens,
    pub add_bos_token: Option<bool>,
}

impl TokenizerConfig {
    pub fn from_json_bytes(bytes: &[u8]) -> Result<Self> {
        let v: Json = serde_json::from_slice(bytes)
            .map_err(|e| TextError::Tokenizer(format!("tokenizer_config.json: {e}")))?;
        let token = |key: &str| match v.get(key) {
            Some(Json::String(s)) => Some(s.clone()),
            Some(Json::Object(o)) => o.get("content").and_then(Json::as_str).map(str::to_string),
            _ => None,
        };
        let chat_template = match v.get("chat_template") {
            Some(Json::String(s)) => Some(s.clone()),
            Some(Json::Array(named)) => named
                .iter()
                .find(|t| t.get("name").and_then(Json::as_str) == Some("default"))
                .and_then(|t| t.get("template")?.as_str().map(str::to_string)),
            _ => None,
        };
        Ok(TokenizerConfig {
            chat_template,
            tokens: TemplateTokens {
                bos_token: token("bos_token"),
                eos_token: token("eos_token"),
                unk_token: token("unk_token"),
                pad_token: token("pad_token"),
            },
            add_bos_token: v.get("add_bos_token").and_then(Json::as_bool),
        })
    }
}

/// A model's tokenizer, chat template (if it has one) and special ids.
#[derive(Debug, Clone)]
pub struct ModelText {
    pub tokenizer: Tokenizer,
    pub chat: Option<ChatTemplate>,
    pub special: SpecialIds,
}

impl ModelText {
    /// From GGUF metadata. The template's `bos_token`/`eos_token`/`unk_token`/`pad_token` are
    /// the spellings of the file's ids, as transformers sets them when it loads a GGUF.
    pub fn from_gguf(data: &TokenizerData) -> Result<Self> {
        let tokenizer = Tokenizer::from_gguf(data)?;
        let special = SpecialIds::from_gguf(data, &tokenizer)?;
        let spell = |id: Option<u32>| id.and_then(|id| data.token(id)).map(str::to_string);
        let tokens = TemplateTokens {
            bos_token: spell(data.bos_token_id),
            eos_token: spell(data.eos_token_id),
            unk_token: spell(data.unknown_token_id),
            pad_token: spell(data.padding_token_id),
        };
        let chat = data
            .chat_template
            .as_deref()
            .map(|s| ChatTemplate::new(s, tokens))
            .transpose()?;
        Ok(ModelText {
            tokenizer,
            chat,
            special,
        })
    }

    /// From tokenizer.json bytes and, if the model has one, tokenizer_config.json bytes (the
    /// chat template and the BOS/EOS spellings live there).
    pub fn from_hf(tokenizer_json: &[u8], tokenizer_config_json: Option<&[u8]>) -> Result<Self> {
        let tokenizer = Tokenizer::from_json_bytes(tokenizer_json)?;
        let config = tokenizer_config_json
            .map(TokenizerConfig::from_json_bytes)
            .transpose()?
            .unwrap_or_default();
        let special = SpecialIds::from_token_names(
            &tokenizer,
            config.tokens.bos_token.as_deref(),
            config.tokens.eos_token.as_deref(),
        )?;
        let chat = config
            .chat_template
            .as_deref()
            .map(|s| ChatTemplate::new(s, config.tokens.clone()))
            .transpose()?;
        Ok(ModelText {
            tokenizer,
            chat,
            special,
        })
    }

    /// The chat template, or [`TextError::MissingChatTemplate`].
    pub fn chat(&self) -> Result<&ChatTemplate> {
        self.chat.as_ref().ok_or_else(|| {
            TextError::MissingChatTemplate(
                "neither the GGUF nor tokenizer_config.json has a chat_template".into(),
            )
        })
    }

    /// [`ChatTemplate::render_prompt`] with this model's template.
    pub fn render_prompt(&self, system: Option<&str>, user: &str) -> Result<String> {
        self.chat()?.render_prompt(system, user)
    }

    /// [`Tokenizer::encode_example`] (METHOD.md 1d).
    pub fn encode_example(&self, prompt: &str, answer: &str) -> Result<EncodedExample> {
        self.tokenizer.encode_example(prompt, answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_tokenizer_config_variants() {
        let c = TokenizerConfig::from_json_bytes(
            br#"{"bos_token": {"content": "<s>", "lstrip": false}, "eos_token": "</s>", "pad_token": null,
                 "add_bos_token": true,
                 "chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D"}]}"#,
        )
        .unwrap();
        assert_eq!(c.chat_template.as_deref(), Some("D"));
        assert_eq!(c.tokens.bos_token.as_deref(), Some("<s>"));
        assert_eq!(c.tokens.eos_token.as_deref(), Some("</s>"));
        assert_eq!(c.tokens.pad_token, None);
        assert_eq!(c.add_bos_token, Some(true));
        assert!(TokenizerConfig::from_json_bytes(b"[").is_err());
    }

    #[test]
    fn shareable_across_threads() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<ModelText>();
    }

    #[test]
    fn missing_template_is_a_clear_error() {
        let data = TokenizerData {
            model: "gpt2".into(),
            tokens: vec!["a".into()],
            ..Default::default()
        };
        let m = ModelText::from_gguf(&data).unwrap();
        assert!(matches!(
            m.render_prompt(None, "x"),
            Err(TextError::MissingChatTemplate(_))
        ));
    }
}
