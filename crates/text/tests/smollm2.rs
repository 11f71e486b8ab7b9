//! The real SmolLM2-135M-Instruct GGUF against tests/reference/text/smollm2_ids.json
//! (tokenizer_reference.py): every id list, decode, chat prompt and METHOD.md 1d encoding must
//! match exactly.

mod common;

use labelcast_text::{ChatTemplate, Message, ModelText, TemplateTokens, TextError};
use serde_json::Value;

fn setup() -> (ModelText, Value) {
    let data = common::tokenizer_data(&common::smollm2_gguf());
    (ModelText::from_gguf(&data).unwrap(), common::reference_json("smollm2_ids.json"))
}

fn ids(v: &Value) -> Vec<u32> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect()
}

#[test]
fn every_reference_string_encodes_and_decodes_exactly() {
    let (m, r) = setup();
    assert_eq!(m.tokenizer.vocab_size(), r["vocab_size"].as_u64().unwrap() as usize);
    let cases = r["cases"].as_array().unwrap();
    assert!(cases.len() >= 60, "{} cases", cases.len());
    let mut failures = Vec::new();
    for case in cases {
        let text = case["text"].as_str().unwrap();
        let got = m.tokenizer.encode(text).unwrap();
        if got != ids(&case["ids"]) {
            failures.push(format!("{text:?}: got {got:?}, want {:?}", ids(&case["ids"])));
            continue;
        }
        assert_eq!(m.tokenizer.decode(&got).unwrap(), case["decoded"].as_str().unwrap(), "{text:?}");
    }
    assert!(failures.is_empty(), "{} of {} differ:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

#[test]
fn chat_prompts_match_transformers() {
    let (m, r) = setup();
    let chat = m.chat().unwrap();
    assert_eq!(chat.source(), r["chat_template"].as_str().unwrap());
    for c in r["chats"].as_array().unwrap() {
        let system = c["system"].as_str();
        let user = c["user"].as_str().unwrap();
        let prompt = m.render_prompt(system, user).unwrap();
        assert_eq!(prompt, c["prompt"].as_str().unwrap(), "system {system:?}");
        let mut messages: Vec<Message> = system.map(|s| Message::new("system", s)).into_iter().collect();
        messages.push(Message::new("user", user));
        assert_eq!(chat.render(&messages, false).unwrap(), c["prompt_no_generation"].as_str().unwrap());
        assert_eq!(m.tokenizer.encode(&prompt).unwrap(), ids(&c["ids"]));
    }
    // SmolLM2's template inserts its default system prompt when there is none.
    assert!(m.render_prompt(None, "x").unwrap().starts_with(
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
    ));
}

#[test]
fn examples_follow_the_method_1d_convention() {
    let (m, r) = setup();
    for e in r["examples"].as_array().unwrap() {
        let got = m.encode_example(e["prompt"].as_str().unwrap(), e["answer"].as_str().unwrap()).unwrap();
        assert_eq!(got.ids, ids(&e["ids"]), "{:?}", e["answer"]);
        assert_eq!(got.n_prompt, e["n_prompt"].as_u64().unwrap() as usize, "{:?}", e["answer"]);
    }
}

#[test]
fn special_ids_are_smollm2s() {
    let (m, r) = setup();
    let s = &m.special;
    assert_eq!(s.exclusion_ids, [0, 2, 198]);
    assert_eq!(s.exclusion_ids, ids(&r["exclusion_ids"]));
    assert_eq!(s.exclusion, labelcast_text::special::Exclusion::Paper(labelcast_text::special::PaperList::SmolLm2));
    assert_eq!((s.bos, s.eos, s.eot), (Some(1), Some(2), Some(2)));
    assert_eq!(s.stop_ids, [0, 2]);
    assert_eq!(s.newline, [198]);
    assert_eq!(m.tokenizer.id_to_token(198).as_deref(), Some("Ċ"));
    assert_eq!(m.tokenizer.token_to_id("<|im_end|>"), Some(2));
}

#[test]
fn custom_templates_render_as_jinja2_does() {
    let (_, r) = setup();
    let ct = &r["custom_templates"];
    let messages: Vec<Message> = serde_json::from_value(ct["messages"].clone()).unwrap();
    let tokens = TemplateTokens {
        bos_token: ct["bos_token"].as_str().map(str::to_string),
        eos_token: ct["eos_token"].as_str().map(str::to_string),
        ..Default::default()
    };
    for case in ct["renders"].as_array().unwrap() {
        let source = case["template"].as_str().unwrap();
        let t = ChatTemplate::new(source, tokens.clone()).unwrap_or_else(|e| panic!("{source}: {e}"));
        let got = t.render(&messages, case["add_generation_prompt"].as_bool().unwrap());
        let got = got.unwrap_or_else(|e| panic!("{source}: {e}"));
        assert_eq!(got, case["output"].as_str().unwrap(), "{source}");
    }
}

#[test]
fn raise_exception_reaches_the_caller() {
    let t = ChatTemplate::new(
        "{{ raise_exception('only user turns, got ' + messages[0].role) }}",
        TemplateTokens::default(),
    )
    .unwrap();
    match t.render_prompt(Some("s"), "u") {
        Err(TextError::Template(m)) => assert_eq!(m, "only user turns, got system"),
        other => panic!("{other:?}"),
    }
}
