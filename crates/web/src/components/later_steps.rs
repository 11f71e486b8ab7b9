//! Steps that need the language-model engine. They say what they will do and that they are
//! not available yet; nothing here pretends to work.

use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct LaterStepProps {
    pub id: AttrValue,
    pub number: u32,
    pub title: AttrValue,
    pub text: AttrValue,
}

#[function_component(LaterStep)]
pub fn later_step(p: &LaterStepProps) -> Html {
    let heading = format!("{}-heading", p.id);
    html! {
        <section id={p.id.clone()} class="step step-later" aria-labelledby={heading.clone()}>
            <h2 id={heading}>
                <span class="step-num">{p.number}</span>
                {p.title.clone()}
                <span class="badge">{"Coming with the model engine"}</span>
            </h2>
            <p class="muted">{p.text.clone()}</p>
            <p class="muted small">{"Not available in this version of the page."}</p>
        </section>
    }
}
