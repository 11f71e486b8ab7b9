//! Step 6: the next batch to annotate, and the labeled rows in a training order, as files.

use std::rc::Rc;

use labelcast_core::order::Strategy;
use labelcast_core::select::SelectStrategy;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::annotate_model::Labels;
use crate::app::SharedTable;
use crate::download::{derived_name, download};
use crate::next_model::{next_batch, training_order, with_scores};
use crate::workflow::Scored;

#[derive(Properties, PartialEq)]
pub struct NextStepProps {
    pub table: Option<SharedTable>,
    pub scored: Option<Rc<Scored>>,
    /// The rows labeled in step 3, in their order there.
    pub label_rows: Rc<Vec<usize>>,
    pub labels: Rc<Labels>,
}

fn select_value(e: &Event) -> Option<String> {
    e.target_dyn_into::<HtmlSelectElement>().map(|s| s.value())
}

#[function_component(NextStep)]
pub fn next_step(p: &NextStepProps) -> Html {
    let strategy = use_state(|| SelectStrategy::Uncertainty(labelcast_core::select::Measure::MeanEntropy));
    let k = use_state(|| "100".to_string());
    let order_strategy = use_state(|| Strategy::Curriculum);
    let message = use_state(|| None::<(bool, String)>);

    let ready = p.table.is_some() && p.scored.is_some();
    let on_strategy = {
        let strategy = strategy.clone();
        Callback::from(move |e: Event| {
            if let Some(s) = select_value(&e).and_then(|v| v.parse().ok()) {
                strategy.set(s);
            }
        })
    };
    let on_k = {
        let k = k.clone();
        Callback::from(move |e: InputEvent| {
            if let Some(i) = e.target_dyn_into::<HtmlInputElement>() {
                k.set(i.value());
            }
        })
    };
    let on_order = {
        let order_strategy = order_strategy.clone();
        Callback::from(move |e: Event| {
            if let Some(s) = select_value(&e).and_then(|v| v.parse().ok()) {
                order_strategy.set(s);
            }
        })
    };
    let export_next = {
        let (table, scored, rows, message) = (p.table.clone(), p.scored.clone(), p.label_rows.clone(), message.clone());
        let (strategy, k) = (*strategy, k.trim().parse::<usize>().unwrap_or(100));
        Callback::from(move |_: MouseEvent| {
            let (Some(t), Some(s)) = (&table, &scored) else { return };
            let t = t.0.borrow();
            let result = next_batch(s, &rows, strategy, k, 0).and_then(|(picked, notes)| {
                let scores: Vec<_> = picked
                    .iter()
                    .filter_map(|r| s.rows.iter().position(|x| x == r).map(|i| &s.scores[i]))
                    .collect();
                let out = with_scores(&t, &picked, &scores)?;
                download(&derived_name(&t.file, "next-batch", "csv"), &out.to_csv(), "text/csv")?;
                Ok(format!("Saved the next {} rows ({}). {}", picked.len(), strategy.name(), notes.join(" ")))
            });
            message.set(Some(match result {
                Ok(m) => (true, m),
                Err(e) => (false, e),
            }));
        })
    };
    let export_order = |jsonl: bool| {
        let (table, scored, rows, labels, message) =
            (p.table.clone(), p.scored.clone(), p.label_rows.clone(), p.labels.clone(), message.clone());
        let strategy = *order_strategy;
        Callback::from(move |_: MouseEvent| {
            let (Some(t), Some(s)) = (&table, &scored) else { return };
            let t = t.0.borrow();
            let result = training_order(&t, &rows, &labels, s, strategy, 0).and_then(|out| {
                let (text, ext, mime) = if jsonl {
                    (out.to_jsonl(), "jsonl", "application/jsonl")
                } else {
                    (out.to_csv(), "csv", "text/csv")
                };
                download(&derived_name(&t.file, &format!("train-{}", strategy.name()), ext), &text, mime)?;
                Ok(format!("Saved {} labeled rows in {} order.", out.rows.len(), strategy.name()))
            });
            message.set(Some(match result {
                Ok(m) => (true, m),
                Err(e) => (false, e),
            }));
        })
    };
    let strategies = SelectStrategy::ALL.iter().map(|s| {
        html! { <option value={s.name()} selected={*s == *strategy}>{format!("{} — {}", s.name(), s.description())}</option> }
    });
    let orders = Strategy::ALL.iter().map(|s| {
        html! { <option value={s.name()} selected={*s == *order_strategy}>{s.name()}</option> }
    });
    html! {
        <section id="step-next" class="step" aria-labelledby="step-next-heading">
            <h2 id="step-next-heading"><span class="step-num">{"6"}</span>{"Next batch and training order"}</h2>
            <p class="step-intro">
                {"Rank the rest of the scored pool for annotation, and put the labeled rows in an order \
                  for fine-tuning (difficulty = 1 − the model's confidence). The files are made here and \
                  saved by your browser."}
            </p>
            if !ready { <p class="muted">{"Score the prompts in step 2 first."}</p> }
            <div class="field-row controls-row">
                <div class="field">
                    <label for="next-strategy">{"Selection strategy"}</label>
                    <select id="next-strategy" onchange={on_strategy}>{for strategies}</select>
                </div>
                <div class="field">
                    <label for="next-k">{"Rows"}</label>
                    <input id="next-k" type="number" min="1" inputmode="numeric" value={(*k).clone()} oninput={on_k} />
                </div>
            </div>
            <div class="button-row">
                <button type="button" id="next-export" class="button secondary" disabled={!ready} onclick={export_next}>{"Export the next batch (CSV)"}</button>
            </div>
            <div class="field-row controls-row">
                <div class="field">
                    <label for="order-strategy">{"Training order"}</label>
                    <select id="order-strategy" onchange={on_order}>{for orders}</select>
                </div>
            </div>
            <div class="button-row">
                <button type="button" id="order-export-csv" class="button secondary" disabled={!ready} onclick={export_order(false)}>{"Export ordered labeled rows (CSV)"}</button>
                <button type="button" id="order-export-jsonl" class="button secondary" disabled={!ready} onclick={export_order(true)}>{"Export as JSONL"}</button>
            </div>
            if let Some((ok, m)) = &*message {
                <p id="next-message" class={if *ok { "muted" } else { "error-text" }} role="status">{m.clone()}</p>
            }
        </section>
    }
}
