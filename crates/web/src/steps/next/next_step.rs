//! Step 6: the next batch to annotate, and every labeled row in a training order, as files.
//! Labeled rows the model has not scored (outside a scored sample) are scored here first.

use std::collections::HashSet;
use std::rc::Rc;

use labelcast_core::order::Strategy;
use labelcast_core::select::SelectStrategy;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::browser::download::{derived_name, download};
use crate::components::field::event_value;
use crate::components::job_progress::JobProgress;
use crate::format;
use crate::steps::annotate::annotate_model::Labels;
use crate::steps::data::data_state::SharedTable;
use crate::steps::next::next_model::{
    labeled_rows, next_batch, training_order, unscored_note, with_scores, Confidence,
};
use crate::workflow::{Job, Scored};

#[derive(Properties, PartialEq)]
pub struct NextStepProps {
    pub table: Option<SharedTable>,
    pub scored: Option<Rc<Scored>>,
    /// Labeled rows outside the sample, scored since.
    pub extra_scores: Option<Rc<Scored>>,
    /// The job scoring them.
    pub extra: Job<Scored>,
    /// The rows to annotate in step 3, in their order there.
    pub label_rows: Rc<Vec<usize>>,
    pub labels: Rc<Labels>,
    /// The task instruction (the system message of rows whose file gives none).
    pub instruction: AttrValue,
    pub model_ready: bool,
    /// Some job is running in the worker, which runs one at a time.
    pub job_running: bool,
    /// Scores these labeled rows.
    pub on_score: Callback<Rc<Vec<usize>>>,
    pub on_cancel: Callback<()>,
}

/// Every labeled row, and those of them the model has not scored.
#[derive(PartialEq, Default)]
struct LabeledState {
    labeled: Rc<Vec<usize>>,
    unscored: Rc<Vec<usize>>,
    note: Option<String>,
}

#[function_component(NextStep)]
pub fn next_step(p: &NextStepProps) -> Html {
    let strategy = use_state(|| SelectStrategy::Uncertainty(labelcast_core::select::Measure::MeanEntropy));
    let k = use_state(|| "100".to_string());
    let order_strategy = use_state(|| Strategy::Curriculum);
    let message = use_state(|| None::<(bool, String)>);
    let state = use_memo(
        (p.table.clone(), p.labels.clone(), p.scored.clone(), p.extra_scores.clone()),
        |(table, labels, scored, extra)| {
            let (Some(t), Some(s)) = (table, scored) else { return LabeledState::default() };
            let t = t.0.borrow();
            let labeled = labeled_rows(&t, labels);
            let unscored = Confidence::new(s, extra.as_deref()).unscored(&labeled);
            LabeledState { note: unscored_note(&t, &unscored), labeled: Rc::new(labeled), unscored: Rc::new(unscored) }
        },
    );

    let ready = p.table.is_some() && p.scored.is_some();
    let on_strategy = {
        let strategy = strategy.clone();
        Callback::from(move |e: Event| {
            if let Some(s) = event_value(&e).and_then(|v| v.parse().ok()) {
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
            if let Some(s) = event_value(&e).and_then(|v| v.parse().ok()) {
                order_strategy.set(s);
            }
        })
    };
    let export_next = {
        let (table, scored, message) = (p.table.clone(), p.scored.clone(), message.clone());
        // Neither the rows to annotate nor any other labeled row is worth annotating again.
        let exclude: Vec<usize> =
            p.label_rows.iter().chain(state.labeled.iter()).copied().collect::<HashSet<_>>().into_iter().collect();
        let (strategy, k) = (*strategy, k.trim().parse::<usize>().unwrap_or(100));
        Callback::from(move |_: MouseEvent| {
            let (Some(t), Some(s)) = (&table, &scored) else { return };
            let t = t.0.borrow();
            let result = next_batch(s, &exclude, strategy, k, 0).and_then(|(picked, notes)| {
                let scores: Vec<_> =
                    picked.iter().filter_map(|r| s.rows.iter().position(|x| x == r).map(|i| &s.scores[i])).collect();
                let out = with_scores(&t, &picked, &scores)?;
                download(&derived_name(&t.file, "next-batch", "csv"), &out.to_csv(), "text/csv")?;
                Ok(format!("Saved the next {} rows ({}). {}", picked.len(), strategy.name(), notes.join(" ")))
            });
            message.set(Some(match result {
                Ok(m) => (true, m),
                Err(e) => (false, e.to_string()),
            }));
        })
    };
    let export_order = |jsonl: bool| {
        let (table, scored, extra, labels, message) =
            (p.table.clone(), p.scored.clone(), p.extra_scores.clone(), p.labels.clone(), message.clone());
        let (strategy, instruction) = (*order_strategy, p.instruction.clone());
        Callback::from(move |_: MouseEvent| {
            let (Some(t), Some(s)) = (&table, &scored) else { return };
            let t = t.0.borrow();
            let conf = Confidence::new(s, extra.as_deref());
            let result = training_order(&t, &labels, &conf, strategy, 0, Some(&instruction)).and_then(|out| {
                let (text, ext, mime) = if jsonl {
                    (out.table.to_jsonl(), "jsonl", "application/jsonl")
                } else {
                    (out.table.to_csv(), "csv", "text/csv")
                };
                download(&derived_name(&t.file, &format!("train-{}", strategy.name()), ext), &text, mime)?;
                let saved = format!(
                    "Saved {} in {} order.",
                    format::count(out.table.rows.len(), "labeled row", "labeled rows"),
                    strategy.name()
                );
                Ok(match unscored_note(&t, &out.unscored) {
                    Some(note) => format!("{saved} Left out: {note} Score them below to include them."),
                    None => saved,
                })
            });
            message.set(Some(match result {
                Ok(m) => (true, m),
                Err(e) => (false, e.to_string()),
            }));
        })
    };
    let on_score = {
        let (cb, rows) = (p.on_score.clone(), state.unscored.clone());
        Callback::from(move |_: MouseEvent| cb.emit(rows.clone()))
    };
    let strategies = SelectStrategy::ALL.iter().map(|s| {
        html! { <option value={s.name()} selected={*s == *strategy}>{format!("{} — {}", s.name(), s.description())}</option> }
    });
    let orders = Strategy::ALL.iter().map(|s| {
        html! { <option value={s.name()} selected={*s == *order_strategy}>{s.name()}</option> }
    });
    let extra_running = p.extra.running().cloned();
    let n_labeled = state.labeled.len();
    html! {
        <section id="step-next" class="step" aria-labelledby="step-next-heading">
            <h2 id="step-next-heading"><span class="step-num">{"6"}</span>{"Next batch and training order"}</h2>
            <p class="step-intro">
                {"Rank the scored rows that have no label yet for annotation, and put every labeled row \
                  (the rows annotated in step 3, answers already in your file, and rows filled from a \
                  labels file) in an order for fine-tuning (difficulty = 1 − the model's confidence). \
                  The files are made here and saved by your browser."}
            </p>
            if !ready { <p class="muted">{"Score the prompts in step 2 first."}</p> }
            <div class="field-row controls-row">
                <div class="field">
                    <label for="next-strategy">{"Selection strategy"}</label>
                    <select autocomplete="off" id="next-strategy" onchange={on_strategy}>{for strategies}</select>
                </div>
                <div class="field">
                    <label for="next-k">{"Rows"}</label>
                    <input autocomplete="off" id="next-k" type="number" min="1" inputmode="numeric" value={(*k).clone()} oninput={on_k} />
                </div>
            </div>
            <div class="button-row">
                <button type="button" id="next-export" class="button secondary" disabled={!ready} onclick={export_next}>{"Export the next batch (CSV)"}</button>
            </div>
            <div class="field-row controls-row">
                <div class="field">
                    <label for="order-strategy">{"Training order"}</label>
                    <select autocomplete="off" id="order-strategy" onchange={on_order}>{for orders}</select>
                </div>
            </div>
            if ready {
                <p id="order-labeled" class="muted" data-rows={n_labeled.to_string()} data-unscored={state.unscored.len().to_string()}>
                    {format!("{} in all.", format::count(n_labeled, "labeled row", "labeled rows"))}
                    if let Some(note) = &state.note {
                        {format!(" {note} Until they are scored, the training order leaves them out.")}
                    }
                </p>
            }
            if let Some(r) = extra_running {
                <JobProgress id="order-score-progress" running={r} what="labeled rows scored" on_cancel={p.on_cancel.clone()} />
            } else if !state.unscored.is_empty() {
                <div class="button-row">
                    <button type="button" id="order-score-labeled" class="button secondary" disabled={!p.model_ready || p.job_running} onclick={on_score}>
                        {format!("Score the {}", format::count(state.unscored.len(), "labeled row", "labeled rows"))}
                    </button>
                    if !p.model_ready {
                        <span class="muted">{"Load a model above first."}</span>
                    } else if p.job_running {
                        <span class="muted">{"Another job is running: wait for it or cancel it."}</span>
                    }
                </div>
            }
            {match &p.extra {
                Job::Failed(m) => html! { <p id="order-score-error" class="error-text" role="alert">{m.clone()}</p> },
                Job::Cancelled => html! { <p id="order-score-cancelled" class="muted">{"Scoring the labeled rows was cancelled."}</p> },
                _ => Html::default(),
            }}
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
