//! The page: header, privacy note, and the steps. Owns the loaded pool, which every later
//! step works on; the model side lives in `session`.

use std::rc::Rc;

use labelcast_core::table::Role;
use yew::prelude::*;

use crate::browser::keep::use_keep;
use crate::browser::storage;
use crate::browser::store::SavedWork;
use crate::components::icons;
use crate::session::use_session;
use crate::steps::annotate::annotate_model as annotate;
use crate::steps::annotate::annotate_step::{AnnotateStep, Item};
use crate::steps::confidence::confidence_step::ConfidenceStep;
use crate::steps::coslow::coslow_step::CosLowStep;
use crate::steps::data::data_step::DataStep;
use crate::steps::data::roles_model::overrides_with;
use crate::steps::forecast::coef_sets::{model_id, model_note};
use crate::steps::forecast::forecast_model::MeasuredRun;
use crate::steps::forecast::forecast_panel::ForecastPanel;
use crate::steps::forecast::forecast_setup::use_forecast_setup;
use crate::steps::forecast::report_html::ReportContext;
use crate::steps::forecast::run_features::page_features;
use crate::steps::model::coef_match::model_title;
use crate::steps::model::model_pick;
use crate::steps::model::model_step::ModelStep;
use crate::steps::next::next_step::NextStep;
use crate::workflow::ModelStatus;

pub use crate::steps::data::data_state::{load, DataState, SharedTable, Source};

#[function_component(App)]
pub fn app() -> Html {
    let data = use_state(|| DataState::Empty);
    let generation = use_mut_ref(|| 0u64);
    let role_error = use_state(|| None::<String>);
    let session = use_session();
    let forecast = use_forecast_setup();
    // Restores the work kept in this browser, then keeps each change of it.
    let keep = use_keep(&session, &data, &generation);

    let table = match &*data {
        DataState::Loaded { table, .. } => Some(table.clone()),
        _ => None,
    };
    let scored = session.work.scoring.done().cloned();
    let pace = crate::steps::confidence::pace::use_pace(&session.work);
    let selection = use_memo(scored.clone(), |s| s.as_ref().map(|s| annotate::to_label(s)));
    let (label_rows, notes) = match selection.as_ref() {
        Some(Ok((rows, notes))) => (Rc::new(rows.clone()), Rc::new(notes.clone())),
        Some(Err(e)) => (Rc::new(Vec::new()), Rc::new(vec![e.to_string()])),
        None => (Rc::new(Vec::new()), Rc::new(Vec::new())),
    };

    // Each label as it is typed (or imported); the work when it changes.
    {
        let keep = keep.clone();
        use_effect_with(session.labels.clone(), move |labels| keep.labels_changed(labels));
    }
    {
        let keep = keep.clone();
        let key = (
            scored.clone(),
            session.work.coslow.done().cloned(),
            *session.chat,
            session.work.extra_scores.clone(),
            *session.long_rows,
            (*session.instruction).clone(),
            (*session.scored_with).clone(),
        );
        use_effect_with(key, move |(scored, coslow, chat, extra, long_rows, instruction, scored_with)| {
            keep.work_changed(SavedWork {
                chat: *chat,
                scored: scored.as_deref().cloned(),
                coslow: coslow.as_deref().cloned(),
                extra_scores: extra.as_deref().cloned(),
                long_rows: *long_rows,
                instruction: instruction.clone(),
                scored_with: scored_with.clone(),
            })
        });
    }

    let items = match (&table, &scored) {
        (Some(t), Some(s)) if !label_rows.is_empty() => {
            let t = t.0.borrow();
            let items: Vec<Item> = label_rows
                .iter()
                .map(|&row| {
                    let i = s.rows.iter().position(|&r| r == row);
                    let typed = session.labels.get(&row).cloned();
                    let given = annotate::given_label(&t, row);
                    Item {
                        row,
                        line: t.rows[row].line,
                        prompt: t.role_value(row, Role::Prompt).unwrap_or_default().to_string(),
                        system: t.system_message(row, Some(session.instruction.as_str())),
                        generated: i.map(|i| s.scores[i].generated.clone()).unwrap_or_default(),
                        confidence: i.and_then(|i| s.scores[i].avg_confidence),
                        given: typed.is_none() && given.is_some(),
                        label: typed.or(given).unwrap_or_default(),
                    }
                })
                .collect();
            Some(Rc::new(items))
        }
        _ => None,
    };
    let labeled = items.as_ref().map(|it| (it.iter().filter(|i| !i.label.trim().is_empty()).count(), it.len()));

    // A new pool replaces the work on the old one: with labels typed, it waits for a yes.
    let pending = use_state(|| None::<Source>);
    let typed = session.labels.values().filter(|l| !l.trim().is_empty()).count();
    let replace = {
        let (data, generation, role_error, session, pending, keep) =
            (data.clone(), generation.clone(), role_error.clone(), session.clone(), pending.clone(), keep.clone());
        Callback::from(move |source: Source| {
            pending.set(None);
            let (role_error, session, keep) = (role_error.clone(), session.clone(), keep.clone());
            let accepted = Callback::from(move |a| {
                role_error.set(None);
                // The old pool's work stays in the store, as the previous pool.
                if !keep.accept(&a, typed) {
                    session.reset_data();
                }
            });
            load(source, data.clone(), generation.clone(), accepted);
        })
    };
    // Labels kept without their pool (the storage was full) need no asking: the pool shown is
    // none, and a pool of another name keeps them as the previous one.
    let shown = table.is_some();
    let offer = {
        let (replace, pending) = (replace.clone(), pending.clone());
        move |source: Source| {
            if typed > 0 && shown {
                pending.set(Some(source));
            } else {
                replace.emit(source);
            }
        }
    };
    let on_file = {
        let offer = offer.clone();
        Callback::from(move |file: web_sys::File| offer(Source::File(file)))
    };
    let on_example = Callback::from(move |_: ()| offer(Source::Example));
    let on_replace = {
        let (replace, pending) = (replace.clone(), pending.clone());
        Callback::from(move |_: ()| {
            if let Some(source) = (*pending).clone() {
                replace.emit(source);
            }
        })
    };
    let on_keep = {
        let pending = pending.clone();
        Callback::from(move |_: ()| pending.set(None))
    };
    let replacing = (*pending).as_ref().map(|s| (s.name(), typed));
    let on_role = {
        let (data, role_error) = (data.clone(), role_error.clone());
        Callback::from(move |(role, column): (Role, String)| {
            if let DataState::Loaded { table, rejected, .. } = &*data {
                let result = {
                    let mut t = table.0.borrow_mut();
                    let o = overrides_with(&t.headers, &t.roles, role, &column);
                    t.set_roles(&o)
                };
                role_error.set(result.err().map(|e| e.to_string()));
                if let Some(next) = data.revised(rejected.clone()) {
                    data.set(next);
                }
            }
        })
    };

    let s = session.clone();
    let on_model_files = Callback::from(move |files| s.load_files(files));
    // A file dropped next to a drop zone would make the browser navigate to it and lose the
    // page; take it as if it had been dropped on the zone: the model's when it holds model
    // weights, else the pool's.
    let on_page_dragover = Callback::from(|e: DragEvent| e.prevent_default());
    let on_page_drop = {
        let (on_file, on_model_files) = (on_file.clone(), on_model_files.clone());
        Callback::from(move |e: DragEvent| {
            e.prevent_default();
            let files = model_pick::list(e.data_transfer().and_then(|dt| dt.files()));
            if model_pick::looks_like_model(&files) {
                on_model_files.emit(files);
            } else if let Some(f) = files.into_iter().next() {
                on_file.emit(f);
            }
        })
    };

    let s = session.clone();
    let on_url = Callback::from(move |url: String| s.load_url(url));
    let s = session.clone();
    let on_delete_cached = Callback::from(move |url: String| s.delete_cached(url));
    let s = session.clone();
    let on_cancel_download = Callback::from(move |()| s.cancel_download());
    let s = session.clone();
    let on_backend = Callback::from(move |b| s.set_backend(b));
    let (s, d) = (session.clone(), data.clone());
    let on_score = Callback::from(move |(size, seed)| s.score(&d, size, seed));
    let s = session.clone();
    let on_cancel = Callback::from(move |_| s.cancel());
    let s = session.clone();
    let on_template = Callback::from(move |chat| s.chat.set(chat));
    let s = session.clone();
    let on_long_rows = Callback::from(move |l| s.long_rows.set(l));
    let s = session.clone();
    let on_instruction = Callback::from(move |text| s.instruction.set(text));
    let s = session.clone();
    let on_label = Callback::from(move |(row, text)| s.set_label(row, text));
    let (s, d, rows) = (session.clone(), data.clone(), label_rows.clone());
    let on_export = Callback::from(move |_| s.export_labels(&d, &rows));
    let (s, d, rows) = (session.clone(), data.clone(), label_rows.clone());
    let on_import = Callback::from(move |f| s.import_labels(&d, rows.clone(), f));
    let (s, d) = (session.clone(), data.clone());
    let on_labels_file = Callback::from(move |f| s.fill_labels(&d, f));
    let (s, d) = (session.clone(), data.clone());
    let on_score_labeled = Callback::from(move |rows| s.score_labeled(&d, rows));
    let (s, d, rows) = (session.clone(), data.clone(), label_rows.clone());
    let on_coslow = Callback::from(move |_| s.coslow(&d, &rows));
    let (s, d, g) = (session.clone(), data.clone(), generation.clone());
    let (k, n) = (keep.clone(), typed);
    let on_previous = Callback::from(move |_: ()| k.bring_back(&s, &d, &g, n));
    let previous = keep.slots.previous.as_ref().map(|p| (p.pool_name.clone(), p.labels));
    let kept_note = keep.slots.current.as_ref().filter(|c| c.pool_kept && table.is_some()).map(|c| {
        format!(
            "Kept in this browser: {} and the work on it, with {}; a reload continues here.",
            c.pool_name,
            crate::format::count(typed, "label", "labels")
        )
    });
    let (s, d, g, f, k) = (session.clone(), data.clone(), generation.clone(), forecast.clone(), keep.clone());
    let on_clear = Callback::from(move |_: MouseEvent| {
        s.reset_data();
        f.clear();
        k.clear();
        storage::clear_all();
        *g.borrow_mut() += 1;
        d.set(DataState::Empty);
    });

    let work = &*session.work;
    let model_ready = work.model.ready();
    let job_running = work.running_job().is_some();
    let model_id = match &work.model {
        ModelStatus::Ready { model, .. } => Some(model_id(model)),
        _ => None,
    };
    let coef_note = model_id.as_ref().map(|m| model_note(m, &forecast.cals));
    let report = ReportContext {
        model: match &work.model {
            ModelStatus::Ready { model, .. } => Some((model_title(model), model.file.clone())),
            _ => None,
        },
        model_sha256: match &work.model {
            ModelStatus::Ready { model, .. } => model.sha256.clone(),
            _ => None,
        },
        pool_rows: table.as_ref().map(|t| t.0.borrow().rows.len()),
        scored_rows: scored.as_ref().map(|s| s.rows.len()),
        chat_template: *session.chat,
    };
    // The measured run with what a proxy set may use besides CoS-Low: the examples' labels
    // (typed, else given in the pool file) and the scores of the sample.
    let measured = use_memo(
        (work.coslow.done().cloned(), scored.clone(), (*session.labels).clone(), table.clone()),
        |(m, scored, labels, table)| {
            let m = m.as_ref()?;
            let answers: Vec<String> = match table {
                Some(t) => {
                    let t = t.0.borrow();
                    m.rows
                        .iter()
                        .filter_map(|&r| labels.get(&r).cloned().or_else(|| annotate::given_label(&t, r)))
                        .collect()
                }
                None => Vec::new(),
            };
            let features = page_features(m, scored.as_deref(), &answers);
            Some(MeasuredRun {
                coslow: m.result.coslow,
                cosines: Rc::new(m.result.cosines.clone()),
                features: Rc::new(features),
            })
        },
    );

    html! {
        <div class="page" ondragover={on_page_dragover} ondrop={on_page_drop}>
            <a class="skip-link" href="#main">{"Skip to content"}</a>
            <header class="masthead">
                <div class="wrap masthead-inner">
                    <div class="brand">
                        {icons::logo()}
                        <span class="brand-name">{"labelcast"}</span>
                    </div>
                    <p class="tagline">
                        {"How many labeled examples does your fine-tuning task need? Know before you annotate."}
                    </p>
                </div>
            </header>
            <main id="main" class="wrap">
                <p id="privacy-note" class="privacy-note">
                    {icons::lock()}
                    <span>
                        <strong>{"Your files never leave this computer."}</strong>
                        {" labelcast reads and computes everything inside this browser tab, the language \
                          model included. The page may only load its own files (and model files you ask \
                          for from Hugging Face), so it cannot send your data anywhere. Your work is kept in this browser until you clear it."}
                    </span>
                </p>
                <nav class="steps-nav" aria-label="Steps">
                    <ol>
                        <li><a href="#step-model"><span class="step-num">{"0"}</span>{"Model"}</a></li>
                        <li><a href="#step-data"><span class="step-num">{"1"}</span>{"Data"}</a></li>
                        <li><a href="#step-confidence"><span class="step-num">{"2"}</span>{"Confidence"}</a></li>
                        <li><a href="#step-annotation"><span class="step-num">{"3"}</span>{"Annotate"}</a></li>
                        <li><a href="#step-coslow"><span class="step-num">{"4"}</span>{"CoS-Low"}</a></li>
                        <li><a href="#step-forecast"><span class="step-num">{"5"}</span>{"Forecast"}</a></li>
                        <li><a href="#step-next"><span class="step-num">{"6"}</span>{"Next"}</a></li>
                    </ol>
                </nav>
                <ModelStep backend={work.backend.clone()} model={work.model.clone()} memory={work.worker_memory}
                    helper_memory={work.helper_memory}
                    cached={(*session.cached).clone()} {on_url} on_delete={on_delete_cached} on_files={on_model_files}
                    note={(*session.model_note).clone()} {on_cancel_download} {on_backend}
                    coef_note={coef_note.clone().map(AttrValue::from)} />
                <DataStep
                    state={(*data).clone()}
                    role_error={(*role_error).clone()}
                    {on_file}
                    {on_example}
                    {on_role}
                    {on_labels_file}
                    fill_message={(*session.fill_message).clone()}
                    {replacing} {on_replace} {on_keep} on_export={on_export.clone()}
                    {previous} {on_previous} {kept_note}
                />
                <ConfidenceStep
                    pool_rows={table.as_ref().map(|t| t.0.borrow().rows.len())}
                    {model_ready}
                    {job_running}
                    scoring={work.scoring.clone()}
                    chat={*session.chat}
                    {on_template}
                    long_rows={*session.long_rows}
                    {on_long_rows}
                    instruction={AttrValue::from((*session.instruction).clone())}
                    {on_instruction}
                    {pace}
                    stale={scored.is_some() && session.scored_with.as_ref().is_some_and(|w| w.differs(*session.chat, &session.instruction))}
                    {on_score}
                    on_cancel={on_cancel.clone()}
                />
                <AnnotateStep items={items} notes={notes} {on_label} {on_export} {on_import}
                    import_message={(*session.import_message).clone()} />
                <CosLowStep {labeled} {model_ready} {job_running} coslow={work.coslow.clone()} {coef_note} on_run={on_coslow} on_cancel={on_cancel.clone()} />
                <ForecastPanel measured={(*measured).clone()} model={model_id.clone()} setup={forecast.clone()} {report} />
                <NextStep table={table.clone()} scored={scored.clone()} extra_scores={work.extra_scores.clone()}
                    extra={work.extra.clone()} label_rows={label_rows.clone()} labels={(*session.labels).clone()}
                    instruction={AttrValue::from((*session.instruction).clone())}
                    {model_ready} {job_running} on_score={on_score_labeled} {on_cancel} />
                <div class="session-bar">
                    if let Some(e) = &*keep.error { <p id="save-error" class="error-text" role="alert">{e.clone()}</p> }
                    if let Some(e) = &*keep.tabs_note { <p id="tabs-note" class="muted" role="status">{e.clone()}</p> }
                    if let Some(e) = &*forecast.save_error { <p id="forecast-save-error" class="error-text">{e.clone()}</p> }
                    if let Some(e) = &work.worker_error { <p id="worker-error" class="error-text" role="alert">{e.clone()}</p> }
                    <button type="button" id="clear-session" class="button secondary" onclick={on_clear}>
                        {"Clear my work from this browser"}
                    </button>
                </div>
            </main>
            <footer class="site-footer">
                <div class="wrap">
                    <p>
                        {"Methods: Je & Raffel, arXiv 2512.24991 (forecast); Bhatt et al., \
                          arXiv 2401.06692 (selection); Yang et al., arXiv 2408.07888 (ordering). \
                          Everything runs locally; nothing is uploaded."}
                    </p>
                </div>
            </footer>
        </div>
    }
}
