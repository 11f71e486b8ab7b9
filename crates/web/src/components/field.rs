//! Reading form fields from their events, written once for every step.

use wasm_bindgen::JsCast;
use web_sys::{Event, HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::Callback;

/// The value of the input, select or textarea an event came from.
pub fn event_value(e: &Event) -> Option<String> {
    let t = e.target()?;
    if let Some(i) = t.dyn_ref::<HtmlInputElement>() {
        return Some(i.value());
    }
    if let Some(s) = t.dyn_ref::<HtmlSelectElement>() {
        return Some(s.value());
    }
    t.dyn_ref::<HtmlTextAreaElement>().map(HtmlTextAreaElement::value)
}

/// An `oninput`/`onchange` callback that hands the field's value to `f`.
pub fn with_value<E: AsRef<Event> + 'static>(f: impl Fn(String) + 'static) -> Callback<E> {
    Callback::from(move |e: E| {
        if let Some(v) = event_value(e.as_ref()) {
            f(v);
        }
    })
}
