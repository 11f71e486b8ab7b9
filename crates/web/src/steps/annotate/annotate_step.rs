//! Step 3: the rows to label, labeled in place. Keyboard first: type the answer, Enter moves
//! to the next row (and after the last, to the CoS-Low button). Or export them as CSV, label
//! elsewhere, and import the file back.

use std::rc::Rc;

use wasm_bindgen::JsCast;
use web_sys::{HtmlElement, HtmlInputElement, KeyboardEvent};
use yew::prelude::*;

use crate::format;

#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    pub row: usize,
    pub line: usize,
    pub prompt: String,
    /// The system message the model gets with it (the row's, else the task instruction).
    pub system: Option<String>,
    pub generated: String,
    pub confidence: Option<f64>,
    /// The label: typed here, or from the input file.
    pub label: String,
    /// The label came from the input file's answer column.
    pub given: bool,
}

#[derive(Properties, PartialEq)]
pub struct AnnotateStepProps {
    /// None until the pool is scored.
    pub items: Option<Rc<Vec<Item>>>,
    pub notes: Rc<Vec<String>>,
    pub on_label: Callback<(usize, String)>,
    pub on_export: Callback<()>,
    pub on_import: Callback<web_sys::File>,
    pub import_message: Option<(bool, String)>,
}

fn focus(id: &str) {
    if let Some(el) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(id))
        .and_then(|e| e.dyn_into::<HtmlElement>().ok())
    {
        let _ = el.focus();
    }
}

fn row(i: usize, n: usize, it: &Item, on_label: &Callback<(usize, String)>) -> Html {
    let id = format!("label-{i}");
    let oninput = {
        let (cb, row) = (on_label.clone(), it.row);
        Callback::from(move |e: InputEvent| {
            if let Some(input) = e.target_dyn_into::<HtmlInputElement>() {
                cb.emit((row, input.value()));
            }
        })
    };
    let onkeydown = Callback::from(move |e: KeyboardEvent| {
        if e.key() == "Enter" {
            e.prevent_default();
            if i + 1 < n {
                focus(&format!("label-{}", i + 1));
            } else {
                focus("coslow-run");
            }
        }
    });
    html! {
        <li class="label-row" data-row={it.row.to_string()} data-line={it.line.to_string()}>
            if let Some(sys) = &it.system {
                <p class="label-instruction muted small">{format!("Instruction: {sys}")}</p>
            }
            <div class="label-prompt">
                <span class="label-rank">{i + 1}</span>
                <label for={id.clone()} class="prompt-text">{it.prompt.clone()}</label>
            </div>
            <p class="label-meta muted small" data-confidence={it.confidence.map(|c| c.to_string())}>
                {format!("line {} · confidence {} · the model answered: ", it.line,
                    it.confidence.map(|c| format::fixed(c, 3)).unwrap_or_else(|| "—".into()))}
                <q class="generated">{it.generated.trim().to_string()}</q>
            </p>
            <div class="label-input">
                <input id={id} type="text" autocomplete="off" spellcheck="false" value={it.label.clone()}
                    placeholder="the correct answer" {oninput} {onkeydown} />
                if it.given { <span class="badge" title="from the answer column of your file">{"from your file"}</span> }
            </div>
        </li>
    }
}

#[function_component(AnnotateStep)]
pub fn annotate_step(p: &AnnotateStepProps) -> Html {
    let on_export = {
        let cb = p.on_export.clone();
        Callback::from(move |_: MouseEvent| cb.emit(()))
    };
    let on_import = {
        let cb = p.on_import.clone();
        Callback::from(move |e: Event| {
            if let Some(input) = e.target_dyn_into::<HtmlInputElement>() {
                if let Some(f) = input.files().and_then(|fs| fs.get(0)) {
                    cb.emit(f);
                }
                input.set_value("");
            }
        })
    };
    let body = match &p.items {
        None => html! { <p class="muted">{"Score the prompts in step 2 first; the rows to label appear here."}</p> },
        Some(items) => {
            let n = items.len();
            let labeled = items.iter().filter(|i| !i.label.trim().is_empty()).count();
            html! {
                <>
                    <p id="label-count" data-labeled={labeled.to_string()} data-total={n.to_string()}>
                        <strong>{format!("{labeled} of {n} labeled.")}</strong>
                        {" Type the correct answer as you would want the fine-tuned model to give it, then press Enter for the next row."}
                    </p>
                    if !p.notes.is_empty() {
                        <ul class="notes">{for p.notes.iter().map(|n| html! { <li>{n.clone()}</li> })}</ul>
                    }
                    <ol id="label-list" class="label-list">
                        {for items.iter().enumerate().map(|(i, it)| row(i, n, it, &p.on_label))}
                    </ol>
                    <div class="button-row">
                        <button type="button" id="labels-export" class="button secondary" onclick={on_export}>{"Export these rows as CSV"}</button>
                        <label class="button secondary file-button">
                            {"Import labels from CSV/JSONL…"}
                            <input autocomplete="off" id="labels-import" type="file" accept=".csv,.tsv,.jsonl,.json" class="visually-hidden" onchange={on_import} />
                        </label>
                    </div>
                    if let Some((ok, m)) = &p.import_message {
                        <p id="import-message" class={if *ok { "muted" } else { "error-text" }} role="status">{m.clone()}</p>
                    }
                </>
            }
        }
    };
    html! {
        <section id="step-annotation" class="step" aria-labelledby="step-annotation-heading">
            <h2 id="step-annotation-heading"><span class="step-num">{"3"}</span>{"Annotate"}</h2>
            <p class="step-intro">
                {"The 32 prompts to label, drawn from the least confident tenth of the pool (METHOD.md \
                  1c; when that tenth has fewer than 32, the 32 least confident), lowest confidence first. \
                  Answers already in your file are used as they are."}
            </p>
            {body}
        </section>
    }
}
