//! Chat templates, rendered with minijinja the way transformers' `apply_chat_template` renders
//! them with Jinja2: `trim_blocks` and `lstrip_blocks` on, loop controls, Python string and dict
//! methods (minijinja-contrib's pycompat), `raise_exception(msg)`, transformers' `tojson`, and
//! the variables `messages`, `add_generation_prompt`, `tools` = `documents` = none, plus the
//! special-token strings (`bos_token`, `eos_token`, `unk_token`, `pad_token`).
//!
//! `strftime_now` is deliberately not defined: templates that use it (Llama 3.1+) test `is
//! defined` and fall back to a fixed date, which keeps prompts, and so scores, reproducible.
//! transformers' `{% generation %}` marker (assistant-token tracking) renders its body as is.

use minijinja::value::Value;
use minijinja::{Environment, Error, ErrorKind};
use serde::{Deserialize, Serialize};

use crate::error::{Result, TextError};

const NAME: &str = "chat";

/// One chat message. Serialized with `role` before `content`, as the Python dicts are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: String,
    pub content: String,
}

impl Message {
    pub fn new(role: &str, content: &str) -> Self {
        Message {
            role: role.to_string(),
            content: content.to_string(),
        }
    }
}

/// The special-token strings a template may print. Unset ones are undefined in the template.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemplateTokens {
    pub bos_token: Option<String>,
    pub eos_token: Option<String>,
    pub unk_token: Option<String>,
    pub pad_token: Option<String>,
}

/// A compiled chat template.
#[derive(Debug, Clone)]
pub struct ChatTemplate {
    env: Environment<'static>,
    source: String,
    tokens: TemplateTokens,
}

/// The error `raise_exception` raises, kept as the source of minijinja's error so the message
/// reaches the caller verbatim.
#[derive(Debug)]
struct Raised(String);

impl std::fmt::Display for Raised {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Raised {}

impl ChatTemplate {
    /// Compiles `source` (the GGUF's `tokenizer.chat_template`, chat_template.jinja or
    /// tokenizer_config.json's `chat_template`). A syntax error is [`TextError::Template`] with minijinja's message.
    pub fn new(source: &str, tokens: TemplateTokens) -> Result<Self> {
        let mut env = Environment::new();
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_filter("tojson", crate::pyjson::tojson);
        env.add_function(
            "raise_exception",
            |msg: String| -> std::result::Result<Value, Error> {
                Err(Error::new(ErrorKind::InvalidOperation, msg.clone()).with_source(Raised(msg)))
            },
        );
        env.add_template_owned(NAME, neutralize_generation_tags(source))
            .map_err(template_error)?;
        Ok(ChatTemplate {
            env,
            source: source.to_string(),
            tokens,
        })
    }

    /// The template text as given.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Renders `messages`; with `add_generation_prompt` the text ends where the assistant's
    /// reply begins. Errors (including `raise_exception(msg)`, reported as exactly `msg`) are
    /// [`TextError::Template`].
    pub fn render(&self, messages: &[Message], add_generation_prompt: bool) -> Result<String> {
        let template = self.env.get_template(NAME).map_err(template_error)?;
        let t = &self.tokens;
        let opt = |s: &Option<String>| s.as_deref().map(Value::from).unwrap_or(Value::UNDEFINED);
        let ctx = minijinja::context! {
            messages => Value::from_serialize(messages),
            add_generation_prompt => add_generation_prompt,
            tools => Value::from(()),
            documents => Value::from(()),
            bos_token => opt(&t.bos_token),
            eos_token => opt(&t.eos_token),
            unk_token => opt(&t.unk_token),
            pad_token => opt(&t.pad_token),
        };
        template.render(ctx).map_err(template_error)
    }

    /// The prompt for one user turn, optionally after a system message, ending with the
    /// generation prompt. With `system = None` the template decides (SmolLM2's inserts its
    /// default system prompt); `Some("")` is an empty system message.
    pub fn render_prompt(&self, system: Option<&str>, user: &str) -> Result<String> {
        let mut messages = Vec::with_capacity(2);
        if let Some(system) = system {
            messages.push(Message::new("system", system));
        }
        messages.push(Message::new("user", user));
        self.render(&messages, true)
    }
}

fn template_error(e: Error) -> TextError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(s) = source {
        if let Some(Raised(msg)) = s.downcast_ref::<Raised>() {
            return TextError::Template(msg.clone());
        }
        source = s.source();
    }
    TextError::Template(e.to_string())
}

/// Rewrites transformers' `{% generation %}` / `{% endgeneration %}` block tags (which minijinja
/// does not know) to `{% if true %}` / `{% endif %}`, keeping their whitespace-control marks so
/// the output is what Jinja2 renders with the tracker inactive.
fn neutralize_generation_tags(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut rest = source;
    while let Some(start) = rest.find("{%") {
        out.push_str(&rest[..start]);
        let tag = &rest[start..];
        let Some(end) = tag.find("%}") else {
            out.push_str(tag);
            return out;
        };
        let inner = &tag[2..end];
        let (lead, body) = split_mark(inner);
        let (body, trail) = split_mark_end(body);
        out.push_str(&match body.trim() {
            "generation" => format!("{{%{lead} if true {trail}%}}"),
            "endgeneration" => format!("{{%{lead} endif {trail}%}}"),
            _ => tag[..end + 2].to_string(),
        });
        rest = &tag[end + 2..];
    }
    out.push_str(rest);
    out
}

fn split_mark(s: &str) -> (&str, &str) {
    match s.chars().next() {
        Some('-' | '+') => s.split_at(1),
        _ => ("", s),
    }
}

fn split_mark_end(s: &str) -> (&str, &str) {
    match s.chars().last() {
        Some('-' | '+') => (&s[..s.len() - 1], &s[s.len() - 1..]),
        _ => (s, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chatml() -> ChatTemplate {
        let src = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}\
                   {% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";
        ChatTemplate::new(src, TemplateTokens::default()).unwrap()
    }

    #[test]
    fn renders_messages_and_generation_prompt() {
        let t = chatml();
        assert_eq!(
            t.render_prompt(Some("sys"), "hi").unwrap(),
            "<|im_start|>system\nsys<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
        );
        assert_eq!(
            t.render(&[Message::new("user", "x")], false).unwrap(),
            "<|im_start|>user\nx<|im_end|>\n"
        );
    }

    #[test]
    fn syntax_errors_and_raised_exceptions_are_template_errors() {
        let e =
            ChatTemplate::new("{% for m in messages %}", TemplateTokens::default()).unwrap_err();
        assert!(matches!(e, TextError::Template(_)), "{e}");
        let t = ChatTemplate::new(
            "{% if messages[0].role != 'user' %}{{ raise_exception('Conversation roles must alternate user/assistant') }}{% endif %}",
            TemplateTokens::default(),
        )
        .unwrap();
        let e = t.render_prompt(Some("s"), "u").unwrap_err();
        assert!(
            matches!(&e, TextError::Template(m) if m == "Conversation roles must alternate user/assistant"),
            "{e}"
        );
        assert!(t.render_prompt(None, "u").is_ok());
    }

    #[test]
    fn special_tokens_and_generation_tags() {
        let tokens = TemplateTokens {
            bos_token: Some("<s>".into()),
            ..Default::default()
        };
        let t = ChatTemplate::new(
            "{{ bos_token }}{% for m in messages %}{%- generation -%} {{ m.content }} {%- endgeneration %}{% endfor %}|{{ eos_token }}|",
            tokens,
        )
        .unwrap();
        assert_eq!(t.render_prompt(None, "hi").unwrap(), "<s>hi||");
        assert_eq!(
            neutralize_generation_tags("a{% generation %}b{%+ endgeneration -%}"),
            "a{% if true %}b{%+ endif -%}"
        );
    }
}
