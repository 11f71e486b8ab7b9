//! Everything text-side of one model in one value: tokenizer, chat template, special ids, built
//! from a GGUF's metadata or from a Hugging Face model's text files ([`HfText`]).

use serde_json::Value as Json;

use crate::chat::{ChatTemplate, TemplateTokens};
use crate::error::{Result, TextError};
use crate::gguf::TokenizerData;
use crate::special::{Exclusion, PaperList, SpecialIds};
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
        let v: Json =
            serde_json::from_slice(bytes).map_err(|e| TextError::Tokenizer(format!("tokenizer_config.json: {e}")))?;
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

/// A Hugging Face model folder's text files, as bytes: what [`ModelText::from_hf`] reads.
#[derive(Debug, Clone, Copy, Default)]
pub struct HfText<'a> {
    /// tokenizer.json.
    pub tokenizer_json: &'a [u8],
    /// tokenizer_config.json, if the model has one: the BOS/EOS spellings and, in older
    /// folders, the chat template.
    pub tokenizer_config_json: Option<&'a [u8]>,
    /// chat_template.jinja, if the model has one (newer transformers save the template there
    /// and leave it out of tokenizer_config.json). It wins over tokenizer_config.json's
    /// `chat_template`, as in transformers.
    pub chat_template: Option<&'a [u8]>,
}

impl<'a> HfText<'a> {
    /// tokenizer.json alone (no chat template, no BOS/EOS spellings).
    pub fn new(tokenizer_json: &'a [u8]) -> Self {
        HfText { tokenizer_json, ..Default::default() }
    }
}

/// The file newer transformers keep the chat template in.
const JINJA: &str = "chat_template.jinja";

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
            .map(|s| ChatTemplate::from_origin("the GGUF's tokenizer.chat_template", s, tokens))
            .transpose()?;
        Ok(ModelText { tokenizer, chat, special })
    }

    /// From a Hugging Face model's text files: tokenizer.json, and if the model has them
    /// tokenizer_config.json (the BOS/EOS spellings, the chat template in older folders) and
    /// chat_template.jinja (the chat template, preferred over tokenizer_config.json's as
    /// transformers does). A template that is not UTF-8 or does not compile is an error naming
    /// its file.
    pub fn from_hf(files: HfText<'_>) -> Result<Self> {
        let tokenizer = Tokenizer::from_json_bytes(files.tokenizer_json)?;
        let config = files.tokenizer_config_json.map(TokenizerConfig::from_json_bytes).transpose()?.unwrap_or_default();
        let special = SpecialIds::from_token_names(
            &tokenizer,
            config.tokens.bos_token.as_deref(),
            config.tokens.eos_token.as_deref(),
        )?;
        let source = match files.chat_template {
            Some(bytes) => Some((
                JINJA,
                std::str::from_utf8(bytes)
                    .map_err(|e| TextError::Template(format!("{JINJA}: not valid UTF-8 ({e})")))?,
            )),
            None => config.chat_template.as_deref().map(|s| ("tokenizer_config.json", s)),
        };
        let chat = source
            .map(|(file, s)| {
                ChatTemplate::from_origin(file, s, config.tokens.clone()).map_err(|e| match e {
                    TextError::Template(m) => TextError::Template(format!("{file}: {m}")),
                    e => e,
                })
            })
            .transpose()?;
        Ok(ModelText { tokenizer, chat, special })
    }

    /// The chat template, or [`TextError::MissingChatTemplate`].
    pub fn chat(&self) -> Result<&ChatTemplate> {
        self.chat.as_ref().ok_or_else(|| {
            TextError::MissingChatTemplate("none in the GGUF, chat_template.jinja or tokenizer_config.json".into())
        })
    }

    /// [`ChatTemplate::render_prompt`] with this model's template, the turns laid out as the
    /// paper's code lays them out for this model's family ([`turns`]).
    pub fn render_prompt(&self, system: Option<&str>, user: &str) -> Result<String> {
        let (system, user) = turns(self.special.exclusion, system, user);
        self.chat()?.render_prompt(system, &user)
    }

    /// [`Tokenizer::encode_example`] (METHOD.md 1d).
    pub fn encode_example(&self, prompt: &str, answer: &str) -> Result<EncodedExample> {
        self.tokenizer.encode_example(prompt, answer)
    }
}

/// The system message and user turn for a prompt. Mistral v0.3's template has no system role,
/// so for that family the paper's code writes `instruction + " \n" + query` as the user turn
/// (METHOD.md 1b); every other model gets the instruction as its system message.
pub fn turns<'a>(
    family: Exclusion,
    system: Option<&'a str>,
    user: &'a str,
) -> (Option<&'a str>, std::borrow::Cow<'a, str>) {
    match (family, system) {
        (Exclusion::Paper(PaperList::MistralV03), Some(s)) => (None, format!("{s} \n{user}").into()),
        _ => (system, user.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mistral_v03_gets_the_instruction_in_its_user_turn_as_the_paper_writes_it() {
        let (s, u) = turns(Exclusion::Paper(PaperList::MistralV03), Some("Classify."), "great film");
        assert_eq!((s, u.as_ref()), (None, "Classify. \ngreat film"));
        let (s, u) = turns(Exclusion::Paper(PaperList::MistralV03), None, "q");
        assert_eq!((s, u.as_ref()), (None, "q"));
        for other in [Exclusion::Paper(PaperList::Llama3), Exclusion::Paper(PaperList::Qwen2), Exclusion::Generic] {
            let (s, u) = turns(other, Some("Classify."), "great film");
            assert_eq!((s, u.as_ref()), (Some("Classify."), "great film"));
        }
    }

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

    const TOKENIZER: &[u8] =
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/reference/text/tiny_tokenizer.json"));
    const IM: &str = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}\
                      {% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

    fn hf(config: &str, jinja: Option<&str>) -> Result<ModelText> {
        ModelText::from_hf(HfText {
            tokenizer_json: TOKENIZER,
            tokenizer_config_json: Some(config.as_bytes()),
            chat_template: jinja.map(str::as_bytes),
        })
    }

    #[test]
    fn chat_template_jinja_gives_the_template() {
        // tokenizer_config.json without a template: the .jinja file's is used, with the
        // config's special tokens.
        let config = r#"{"bos_token": null, "eos_token": "<|im_end|>"}"#;
        assert!(hf(config, None).unwrap().chat.is_none());
        let m = hf(config, Some(&format!("{IM}{{{{ eos_token }}}}"))).unwrap();
        assert_eq!(
            m.render_prompt(None, "Hi").unwrap(),
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<|im_end|>"
        );
        assert_eq!(m.special.eos, m.tokenizer.token_to_id("<|im_end|>"));
        // Without tokenizer_config.json at all.
        let m = ModelText::from_hf(HfText { chat_template: Some(IM.as_bytes()), ..HfText::new(TOKENIZER) }).unwrap();
        assert!(m.render_prompt(None, "Hi").unwrap().ends_with("assistant\n"));
        assert!(ModelText::from_hf(HfText::new(TOKENIZER)).unwrap().chat.is_none());
    }

    #[test]
    fn chat_template_jinja_wins_over_the_config() {
        let config =
            serde_json::json!({"eos_token": "<|im_end|>", "chat_template": "CONFIG {{ messages[0].content }}"});
        let config = config.to_string();
        let from_config = hf(&config, None).unwrap();
        assert_eq!(from_config.render_prompt(None, "Hi").unwrap(), "CONFIG Hi");
        let m = hf(&config, Some("JINJA {{ messages[0].content }}")).unwrap();
        assert_eq!(m.render_prompt(None, "Hi").unwrap(), "JINJA Hi");
        assert_eq!(m.chat.unwrap().source(), "JINJA {{ messages[0].content }}");
    }

    #[test]
    fn template_errors_name_their_file() {
        let e = ModelText::from_hf(HfText { chat_template: Some(b"{{ x }}\xff"), ..HfText::new(TOKENIZER) })
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("chat template: chat_template.jinja: not valid UTF-8"), "{e}");
        let e = hf("{}", Some("{% for m in messages %}")).unwrap_err().to_string();
        assert!(e.starts_with("chat template: chat_template.jinja: "), "{e}");
        let e = hf(r#"{"chat_template": "{% if %}"}"#, None).unwrap_err().to_string();
        assert!(e.starts_with("chat template: tokenizer_config.json: "), "{e}");
        // A broken config template does not matter when the .jinja file replaces it.
        assert!(hf(r#"{"chat_template": "{% if %}"}"#, Some(IM)).is_ok());
        let missing = hf("{}", None).unwrap().chat().unwrap_err().to_string();
        assert!(missing.contains("chat_template.jinja"), "{missing}");
    }

    #[test]
    fn shareable_across_threads() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<ModelText>();
    }

    #[test]
    fn missing_template_is_a_clear_error() {
        let data = TokenizerData { model: "gpt2".into(), tokens: vec!["a".into()], ..Default::default() };
        let m = ModelText::from_gguf(&data).unwrap();
        assert!(matches!(m.render_prompt(None, "x"), Err(TextError::MissingChatTemplate(_))));
    }
}
