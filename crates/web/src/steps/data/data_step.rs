//! Step 1: choose a file, see how it was read, fix the column roles.

use std::rc::Rc;

use labelcast_core::table::Role;
use yew::prelude::*;

use crate::components::drop_zone::DropZone;
use crate::format;
use crate::steps::data::data_model::role_problems;
use crate::steps::data::data_state::DataState;
use crate::steps::data::errors::ErrorList;
use crate::steps::data::preview::Preview;
use crate::steps::data::roles::RolesForm;

#[derive(Properties, PartialEq)]
pub struct DataStepProps {
    pub state: DataState,
    pub role_error: Option<String>,
    pub on_file: Callback<web_sys::File>,
    pub on_example: Callback<()>,
    pub on_role: Callback<(Role, String)>,
    /// A file of already-labeled rows for the pool.
    pub on_labels_file: Callback<web_sys::File>,
    /// What filling labels from such a file found (ok, message).
    #[prop_or_default]
    pub fill_message: Option<(bool, String)>,
    /// A new pool waiting for a yes: its name, and the labels typed on the loaded one.
    #[prop_or_default]
    pub replacing: Option<(String, usize)>,
    #[prop_or_default]
    pub on_replace: Callback<()>,
    #[prop_or_default]
    pub on_keep: Callback<()>,
    /// Export the labels typed so far (the annotate step's export).
    #[prop_or_default]
    pub on_export: Callback<()>,
    /// The pool this one replaced, kept in the browser: its name and labels.
    #[prop_or_default]
    pub previous: Option<(String, usize)>,
    #[prop_or_default]
    pub on_previous: Callback<()>,
    /// What the browser keeps of the current pool.
    #[prop_or_default]
    pub kept_note: Option<String>,
}

/// Offers the pool that the current one replaced, with its work (one is kept).
fn previous_offer(p: &DataStepProps, name: &str, labels: usize) -> Html {
    let cb = p.on_previous.clone();
    html! {
        <div id="previous-pool" class="confirm-bar">
            <p>{format!(
                "The pool you had before, {name}, is kept in this browser with its work and {}.",
                format::count(labels, "label", "labels")
            )}</p>
            <button type="button" id="bring-back" class="button secondary" disabled={p.state.busy()}
                onclick={Callback::from(move |_: MouseEvent| cb.emit(()))}>
                {format!("Bring back {name}")}
            </button>
        </div>
    }
}

/// Asks before a new pool replaces one with typed labels, offering to export them first.
fn confirm_replace(p: &DataStepProps, new: &str, labels: usize) -> Html {
    let pool = match &p.state {
        DataState::Loaded { name, .. } => name.clone(),
        _ => "the loaded pool".into(),
    };
    let click = |cb: &Callback<()>| {
        let cb = cb.clone();
        Callback::from(move |_: MouseEvent| cb.emit(()))
    };
    html! {
        <div id="replace-confirm" class="confirm-bar" role="alertdialog" aria-labelledby="replace-question">
            <p id="replace-question">{format!(
                "Replace {pool} with {new}? Its scores, CoS-Low and the {} you typed go with it; this \
                 browser keeps them as the previous pool, which “Bring back {pool}” returns to. Export the \
                 labels to keep a copy elsewhere.",
                format::count(labels, "label", "labels"),
            )}</p>
            <button type="button" id="replace-export" class="button secondary" onclick={click(&p.on_export)}>
                {format!("Export the {}", format::count(labels, "label", "labels"))}
            </button>
            <button type="button" id="replace-yes" class="button" onclick={click(&p.on_replace)}>{format!("Replace with {new}")}</button>
            <button type="button" id="replace-no" class="button secondary" onclick={click(&p.on_keep)}>{format!("Keep {pool}")}</button>
        </div>
    }
}

fn status(state: &DataState) -> Html {
    match state {
        DataState::Empty => html! { <span class="muted">{"No file loaded yet."}</span> },
        DataState::Reading { name, size, read } => {
            let (value, label) = if size.is_finite() && *size > 0.0 {
                let pct = (read / size * 100.0).clamp(0.0, 100.0);
                (Some(pct), format!("Reading {name}… {pct:.0}% of {}", format::bytes(*size)))
            } else {
                (None, format!("Reading {name}…"))
            };
            html! {
                <>
                    <span>{label}</span>
                    <progress max="100" value={value.map(|v| v.to_string())} aria-label="Reading progress"></progress>
                </>
            }
        }
        DataState::Parsing { name, rows: None, .. } => html! {
            <>
                <span>{format!("Checking {name}…")}</span>
                <progress aria-label="Checking the file"></progress>
            </>
        },
        DataState::Parsing { name, rows: Some((done, total)), .. } => html! {
            <>
                <span>{format!("Checking {name}… {} of {} rows", format::thousands(*done as u64), format::thousands(*total as u64))}</span>
                <progress max={total.to_string()} value={done.to_string()} aria-label="Checking the file"></progress>
            </>
        },
        DataState::Loaded { name, table, rejected: None, .. } => {
            let t = table.0.borrow();
            html! { <strong>{format::file_summary(name, t.rows.len(), t.headers.len())}</strong> }
        }
        DataState::Loaded { name, rejected: Some(r), .. } => html! {
            <span class="status-bad">
                {format!("{} Your pool {name} and the work on it are unchanged.", not_used(&r.0, r.1.len()))}
            </span>
        },
        DataState::Failed { name, problems } => {
            html! { <span class="status-bad">{not_used(name, problems.len())}</span> }
        }
    }
}

fn not_used(name: &str, problems: usize) -> String {
    let what = match problems {
        1 => "1 problem".to_string(),
        n => format!("{} problems", format::thousands(n as u64)),
    };
    format!("{name} could not be used — {what}, listed below.")
}

#[function_component(DataStep)]
pub fn data_step(p: &DataStepProps) -> Html {
    let problems = match &p.state {
        DataState::Failed { problems, .. } => problems.clone(),
        DataState::Loaded { rejected: Some((_, problems)), .. } => problems.clone(),
        DataState::Loaded { table, .. } => Rc::new(role_problems(&table.0.borrow())),
        _ => Rc::new(Vec::new()),
    };
    html! {
        <section id="step-data" class="step" aria-labelledby="step-data-heading">
            <h2 id="step-data-heading"><span class="step-num">{"1"}</span>{"Data"}</h2>
            <p class="step-intro">
                {"Start with the prompts you might label: the pool the model will be fine-tuned on. \
                  The file is read and checked here, in this tab."}
            </p>
            <DropZone on_file={p.on_file.clone()} on_example={Some(p.on_example.clone())} busy={p.state.busy()} />
            <p id="file-status" class="file-status" role="status" aria-live="polite">{status(&p.state)}</p>
            if let Some(note) = &p.kept_note {
                <p id="saved-status" class="muted small">{note.clone()}</p>
            }
            if let Some((name, labels)) = &p.previous {
                {previous_offer(p, name, *labels)}
            }
            if let Some((new, labels)) = &p.replacing {
                {confirm_replace(p, new, *labels)}
            }
            <ErrorList {problems} />
            if let DataState::Loaded { table, info, rev, .. } = &p.state {
                if !info.is_empty() {
                    <ul class="info-list">
                        {for info.iter().map(|i| html! { <li>{i.clone()}</li> })}
                    </ul>
                }
                <RolesForm table={table.clone()} rev={*rev} on_change={p.on_role.clone()} error={p.role_error.clone()} />
                <Preview table={table.clone()} rev={*rev} />
                <div class="labels-fill">
                    <DropZone id="labels-drop" compact=true on_file={p.on_labels_file.clone()} busy=false
                        title="Already have labels? Drop a file of labeled rows here"
                        hint="A CSV or JSONL with a prompt (or id) column and an answer column: its answers \
                              fill the matching rows of this pool (by id when both files have one, else by \
                              prompt text). Labels you already have are kept." />
                    if let Some((ok, m)) = &p.fill_message {
                        <p id="labels-fill-message" class={if *ok { "muted" } else { "error-text" }} role="status">{m.clone()}</p>
                    }
                </div>
            }
        </section>
    }
}
