//! Chat templates from hostile files: any text compiles or fails, and renders within the limits
//! of labelcast_text::template_limits, as an error, never a panic, hang or blow-up.
#![no_main]
use labelcast_text::{ChatTemplate, Message, TemplateTokens};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else { return };
    let tokens = TemplateTokens { bos_token: Some("<s>".into()), eos_token: Some("</s>".into()), ..Default::default() };
    if let Ok(t) = ChatTemplate::new(source, tokens) {
        let _ = t.render(&[Message::new("system", "Be brief."), Message::new("user", "What is 2+2?")], true);
    }
});
