//! Chat templates, rendered with minijinja the way transformers' `apply_chat_template` renders
//! them with Jinja2: `trim_blocks` and `lstrip_blocks` on, loop controls, Python string and dict
//! methods (minijinja-contrib's pycompat), `raise_exception(msg)`, transformers' `tojson`, and
//! the variables `messages`, `add_generation_prompt`, `tools` = `documents` = none, plus the
//! special-token strings (`bos_token`, `eos_token`, `unk_token`, `pad_token`).
//!
//! `strftime_now` is deliberately not defined: templates that use it (Llama 3.1+) test `is
//! defined` and fall back to a fixed date, which keeps prompts, and so scores, reproducible.
//! transformers' `{% generation %}` marker (assistant-token tracking) renders its body as is.

use std::sync::atomic::{AtomicBool, Ordering};

use minijinja::value::Value;
use minijinja::{Environment, Error, ErrorKind};
use serde::{Deserialize, Serialize};

use crate::error::{Result, TextError};
use crate::template_limits::{self as limits, BoundedWriter};

const NAME: &str = "chat";

/// One chat message. Serialized with `role` before `content`, as the Python dicts are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: String,
    pub content: String,
}

impl Message {
    pub fn new(role: &str, content: &str) -> Self {
        Message { role: role.to_string(), content: content.to_string() }
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

/// A compiled chat template, rendered within the bounds of [`crate::template_limits`].
#[derive(Debug, Clone)]
pub struct ChatTemplate {
    env: Environment<'static>,
    source: String,
    tokens: TemplateTokens,
    origin: String,
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
    /// tokenizer_config.json's `chat_template`). A syntax error is [`TextError::Template`] with
    /// minijinja's message.
    pub fn new(source: &str, tokens: TemplateTokens) -> Result<Self> {
        Self::from_origin("the chat template", source, tokens)
    }

    /// [`ChatTemplate::new`] for a template read from `origin` (e.g. "chat_template.jinja"),
    /// which errors name. The template is also rendered once for a one-word user turn, so a
    /// template that breaks a limit (fuel, recursion, output) fails here, when the model
    /// loads, and not in the middle of a job; its other errors wait for a real render.
    pub fn from_origin(origin: &str, source: &str, tokens: TemplateTokens) -> Result<Self> {
        if source.len() > limits::MAX_SOURCE {
            return Err(TextError::TemplateLimit(format!(
                "{origin} is {} long, more than the {} a chat template may have",
                limits::bytes(source.len()),
                limits::bytes(limits::MAX_SOURCE)
            )));
        }
        let mut env = Environment::new();
        env.set_fuel(Some(limits::FUEL));
        env.set_recursion_limit(limits::RECURSION);
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_filter("tojson", crate::pyjson::tojson);
        env.add_function("raise_exception", |msg: String| -> std::result::Result<Value, Error> {
            Err(Error::new(ErrorKind::InvalidOperation, msg.clone()).with_source(Raised(msg)))
        });
        env.add_template_owned(NAME, neutralize_generation_tags(source)).map_err(template_error)?;
        let t = ChatTemplate { env, source: source.to_string(), tokens, origin: origin.to_string() };
        match t.render_prompt(None, "Hello") {
            Err(e @ TextError::TemplateLimit(_)) => Err(e),
            _ => Ok(t),
        }
    }

    /// Where the template came from, as errors name it.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The template text as given.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Renders `messages`; with `add_generation_prompt` the text ends where the assistant's
    /// reply begins. Errors (including `raise_exception(msg)`, reported as exactly `msg`) are
    /// [`TextError::Template`]; a render that breaks a limit is [`TextError::TemplateLimit`].
    pub fn render(&self, messages: &[Message], add_generation_prompt: bool) -> Result<String> {
        self.render_counted(messages, add_generation_prompt).map(|(text, _)| text)
    }

    /// [`ChatTemplate::render`], also returning the fuel (minijinja instructions) it spent:
    /// what the fuel limit is measured against.
    pub fn render_counted(&self, messages: &[Message], add_generation_prompt: bool) -> Result<(String, u64)> {
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
        let input = messages.iter().map(|m| m.role.len() + m.content.len()).sum();
        let exceeded = AtomicBool::new(false);
        let mut out = BoundedWriter::new(limits::max_output(input), &exceeded);
        match template.render_captured_to(ctx, &mut out) {
            Ok(captured) => {
                let spent = captured.state().fuel_levels().map_or(0, |(spent, _)| spent);
                let text = String::from_utf8(out.out)
                    .map_err(|e| TextError::Template(format!("{}: rendered text is not UTF-8 ({e})", self.origin)))?;
                Ok((text, spent))
            }
            Err(_) if exceeded.load(Ordering::Relaxed) => Err(TextError::TemplateLimit(format!(
                "{} printed more than {} for a prompt of {}: a chat template frames the messages, \
                 it does not multiply them",
                self.origin,
                limits::bytes(limits::max_output(input)),
                limits::bytes(input)
            ))),
            Err(e) => Err(self.limit_error(&e).unwrap_or_else(|| template_error(e))),
        }
    }

    /// The error for a render stopped by the fuel or recursion limit, if `e` is one.
    fn limit_error(&self, e: &Error) -> Option<TextError> {
        let origin = &self.origin;
        let fuel = limits::count(limits::FUEL);
        let depth = limits::RECURSION;
        match e.kind() {
            ErrorKind::OutOfFuel => Some(TextError::TemplateLimit(format!(
                "{origin} did not finish within {fuel} steps for one prompt (real chat templates \
                 take at most a few thousand): it loops without end, or far longer than a chat \
                 template needs"
            ))),
            ErrorKind::InvalidOperation if e.to_string().contains("recursion limit exceeded") => Some(
                TextError::TemplateLimit(format!("{origin} nests macro calls or includes deeper than {depth} levels")),
            ),
            _ => None,
        }
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
        // The closing mark after the opening one: in "{%}" the "%}" overlaps the "{%".
        let Some(end) = tag[2..].find("%}").map(|e| e + 2) else {
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
        assert_eq!(t.render(&[Message::new("user", "x")], false).unwrap(), "<|im_start|>user\nx<|im_end|>\n");
    }

    #[test]
    fn syntax_errors_and_raised_exceptions_are_template_errors() {
        let e = ChatTemplate::new("{% for m in messages %}", TemplateTokens::default()).unwrap_err();
        assert!(matches!(e, TextError::Template(_)), "{e}");
        let t = ChatTemplate::new(
            "{% if messages[0].role != 'user' %}{{ raise_exception('Conversation roles must alternate user/assistant') }}{% endif %}",
            TemplateTokens::default(),
        )
        .unwrap();
        let e = t.render_prompt(Some("s"), "u").unwrap_err();
        assert!(matches!(&e, TextError::Template(m) if m == "Conversation roles must alternate user/assistant"), "{e}");
        assert!(t.render_prompt(None, "u").is_ok());
    }

    #[test]
    fn special_tokens_and_generation_tags() {
        let tokens = TemplateTokens { bos_token: Some("<s>".into()), ..Default::default() };
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
