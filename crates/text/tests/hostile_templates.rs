//! Chat templates are code from the model file (issue 13): each hostile case below must fail
//! fast with `TextError::TemplateLimit` naming the template and the limit, and real templates
//! must stay far inside the limits.

mod common;

use std::time::{Duration, Instant};

use labelcast_text::template_limits::{FUEL, MAX_SOURCE};
use labelcast_text::{ChatTemplate, Message, ModelText, TemplateTokens, TextError};

/// Every hostile render must be refused within this (the issue asks for a second or two; a
/// debug build on a loaded 2-core machine gets the slack).
const FAST: Duration = Duration::from_secs(5);

fn refused(source: &str) -> String {
    let t0 = Instant::now();
    let err = match ChatTemplate::from_origin("test.jinja", source, TemplateTokens::default()) {
        Err(e) => e,
        Ok(t) => t.render_prompt(Some("system"), "user").expect_err("a hostile template must not render"),
    };
    let took = t0.elapsed();
    assert!(took < FAST, "{source}: refused after {took:?}");
    match err {
        TextError::TemplateLimit(m) => {
            assert!(m.contains("test.jinja"), "the message names the template: {m}");
            m
        }
        e => panic!("{source}: expected a limit error, got {e}"),
    }
}

#[test]
fn endless_loops_run_out_of_fuel_at_load() {
    let m = refused("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}");
    assert!(m.contains("200,000 steps"), "{m}");
    // The probe render at load catches it: the model never loads with this template.
    assert!(ChatTemplate::new(
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        TemplateTokens::default()
    )
    .is_err());
}

#[test]
fn huge_output_is_cut_off() {
    let m = refused("{% for i in range(100000) %}{{ 'x' * 100000 }}{% endfor %}");
    assert!(m.contains("printed more than"), "{m}");
}

#[test]
fn output_that_depends_on_the_prompt_is_bounded_by_the_prompt() {
    // Fine for a short prompt, refused when it would multiply a long one a hundredfold.
    let src = "{% for m in messages %}{% for i in range(100) %}{{ m.content }}{% endfor %}{% endfor %}";
    let t = ChatTemplate::from_origin("test.jinja", src, TemplateTokens::default()).unwrap();
    assert!(t.render_prompt(None, "short").is_ok());
    let long = "y".repeat(1 << 16);
    match t.render_prompt(None, &long) {
        Err(TextError::TemplateLimit(m)) => assert!(m.contains("64 KiB"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn deep_recursion_is_refused() {
    let m = refused("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}");
    assert!(m.contains("deeper than"), "{m}");
}

#[test]
fn an_oversized_source_is_refused_before_compiling() {
    let src = format!("{{# {} #}}", "x".repeat(MAX_SOURCE));
    let m = refused(&src);
    assert!(m.contains("1 MiB"), "{m}");
}

#[test]
fn errors_other_than_limits_wait_for_a_real_render() {
    // A template that refuses system messages still loads: only limits fail the probe.
    let t = ChatTemplate::new(
        "{% if messages[0].role == 'system' %}{{ raise_exception('no system role') }}{% endif %}{{ messages[0].content }}",
        TemplateTokens::default(),
    )
    .unwrap();
    assert!(matches!(t.render_prompt(Some("s"), "u"), Err(TextError::Template(m)) if m == "no system role"));
}

/// The real templates spend a small fraction of the fuel, even for a long conversation:
/// SmolLM2's (from its GGUF) and Llama 3.1's (fetched by scripts/fetch-test-data.sh).
#[test]
fn real_templates_stay_far_inside_the_fuel() {
    let data = common::tokenizer_data(&common::smollm2_gguf());
    let smollm2 = ModelText::from_gguf(&data).unwrap().chat().unwrap().clone();
    assert!(smollm2.origin().contains("tokenizer.chat_template"));
    let llama = String::from_utf8(common::llama3_chat_template()).unwrap();
    let tokens = TemplateTokens { bos_token: Some("<|begin_of_text|>".into()), ..TemplateTokens::default() };
    let llama = ChatTemplate::new(&llama, tokens).unwrap();
    let mut messages = vec![Message::new("system", "You are a careful annotator.")];
    for i in 0..20 {
        messages.push(Message::new("user", &format!("question {i}")));
        messages.push(Message::new("assistant", &format!("answer {i}")));
    }
    for (name, chat) in [("SmolLM2", &smollm2), ("Llama 3.1", &llama)] {
        let (_, spent) = chat.render_counted(&messages, true).unwrap();
        assert!(spent > 0, "fuel is counted");
        assert!(spent * 20 < FUEL, "{name}'s template spent {spent} of {FUEL} on 41 messages");
        let (_, one) = chat.render_counted(&messages[..2], true).unwrap();
        eprintln!("{name} template fuel: {one} for one turn, {spent} for 41 messages");
    }
}
