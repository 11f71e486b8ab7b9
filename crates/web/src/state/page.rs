//! The page's one store: what every step shows and every transition it asks for, composed from
//! the model side (`session`), the pool (`data`), the forecast's choices, and the storage hook
//! beside them (`keep`). `App` only lays the steps out with it.

use std::rc::Rc;

use labelcast_core::table::Role;
use labelcast_protocol::LongRows;
use yew::prelude::*;

use crate::browser::file_read;
use crate::format;
use crate::state::data::{self, use_data, Data, DataActions};
use crate::state::keep::{use_keep, Keep};
use crate::state::session::{use_session, Session};
use crate::steps::annotate::annotate_model::{self as annotate, Labels};
use crate::steps::annotate::annotate_step::Item;
use crate::steps::confidence::pace::use_pace;
use crate::steps::data::data_state::SharedTable;
use crate::steps::forecast::coef_sets::{model_id, model_note, ModelId};
use crate::steps::forecast::forecast_model::MeasuredRun;
use crate::steps::forecast::forecast_setup::{use_forecast_setup, ForecastSetup};
use crate::steps::forecast::report_html::ReportContext;
use crate::steps::forecast::run_features::page_features;
use crate::steps::model::coef_match::model_title;
use crate::steps::model::model_pick;
use crate::workflow::{Measured, ModelStatus, Scored};

pub struct Page {
    pub session: Session,
    pub data: Data,
    pub keep: Keep,
    pub forecast: ForecastSetup,
    pub table: Option<SharedTable>,
    pub scored: Option<Rc<Scored>>,
    /// The pace the runs measured, for step 2's time estimates.
    pub pace: Option<f64>,
    /// The rows to label (METHOD 1c), and what the selection had to say.
    pub label_rows: Rc<Vec<usize>>,
    pub notes: Rc<Vec<String>>,
    pub items: Option<Rc<Vec<Item>>>,
    /// (labeled, to label) of the rows to label.
    pub labeled: Option<(usize, usize)>,
    pub model_id: Option<ModelId>,
    pub coef_note: Option<String>,
    pub report: ReportContext,
    pub measured: Option<MeasuredRun>,
    pub shown: Shown,
    pub on: Actions,
}

/// What the steps say about the pool and its work, worded from the state.
pub struct Shown {
    pub pool_rows: Option<usize>,
    /// The file waiting to replace the pool, and the labels typed on the pool it would replace.
    pub replacing: Option<(String, usize)>,
    /// The previous pool kept in this browser, and its labels.
    pub previous: Option<(String, usize)>,
    pub kept_note: Option<String>,
    /// The sample's scores were computed with other prompting choices than those shown.
    pub stale: bool,
}

/// The callbacks the steps are given.
pub struct Actions {
    pub data: DataActions,
    pub on_model_files: Callback<Vec<web_sys::File>>,
    /// A file dropped next to a drop zone, which the browser would otherwise open in place of
    /// the page: the model's when it holds model weights, else the pool's.
    pub on_page_drop: Callback<DragEvent>,
    pub on_url: Callback<String>,
    pub on_delete_cached: Callback<String>,
    pub on_cancel_download: Callback<()>,
    pub on_score: Callback<(usize, u64)>,
    pub on_cancel: Callback<()>,
    pub on_template: Callback<bool>,
    pub on_long_rows: Callback<LongRows>,
    pub on_instruction: Callback<String>,
    pub on_label: Callback<(usize, String)>,
    pub on_export: Callback<()>,
    pub on_import: Callback<web_sys::File>,
    pub on_labels_file: Callback<web_sys::File>,
    pub on_score_labeled: Callback<Rc<Vec<usize>>>,
    pub on_coslow: Callback<()>,
}

#[hook]
pub fn use_page() -> Page {
    let data = use_data();
    let session = use_session();
    let forecast = use_forecast_setup();
    // Restores the work kept in this browser, then keeps each change of it.
    let keep = use_keep(&session, &data.state, &data.generation);
    let table = data.table();
    let scored = session.work.scoring.done().cloned();
    let pace = use_pace(&session.work);
    let selection = use_memo(scored.clone(), |s| s.as_ref().map(|s| annotate::to_label(s)));
    let (label_rows, notes) = match selection.as_ref() {
        Some(Ok((rows, notes))) => (Rc::new(rows.clone()), Rc::new(notes.clone())),
        Some(Err(e)) => (Rc::new(Vec::new()), Rc::new(vec![e.to_string()])),
        None => (Rc::new(Vec::new()), Rc::new(Vec::new())),
    };
    let items = items(table.as_ref(), scored.as_deref(), &label_rows, &session);
    let labeled = items.as_ref().map(|it| (it.iter().filter(|i| !i.label.trim().is_empty()).count(), it.len()));
    let measured = use_measured(&session, scored.clone(), table.clone());
    let work = &*session.work;
    let model = match &work.model {
        ModelStatus::Ready { model, .. } => Some(model),
        _ => None,
    };
    let model_id = model.map(model_id);
    let coef_note = model_id.as_ref().map(|m| model_note(m, &forecast.cals));
    let report = ReportContext {
        model: model.map(|m| (model_title(m), m.file.clone())),
        model_sha256: model.and_then(|m| m.sha256.clone()),
        pool_rows: table.as_ref().map(|t| t.0.borrow().rows.len()),
        scored_rows: scored.as_ref().map(|s| s.rows.len()),
        chat_template: *session.chat,
    };
    let on = actions(&session, &data, &keep, &forecast, &label_rows);
    let typed = data::typed(&session);
    let shown = Shown {
        pool_rows: report.pool_rows,
        replacing: (*data.pending).as_ref().map(|s| (s.name(), typed)),
        previous: keep.slots.previous.as_ref().map(|p| (p.pool_name.clone(), p.labels)),
        kept_note: keep.slots.current.as_ref().filter(|c| c.pool_kept && table.is_some()).map(|c| {
            format!(
                "Kept in this browser: {} and the work on it, with {}; a reload continues here.",
                c.pool_name,
                format::count(typed, "label", "labels")
            )
        }),
        stale: scored.is_some()
            && session.scored_with.as_ref().is_some_and(|w| w.differs(*session.chat, &session.instruction)),
    };
    Page {
        session,
        data,
        keep,
        forecast,
        table,
        scored,
        pace,
        label_rows,
        notes,
        items,
        labeled,
        model_id,
        coef_note,
        report,
        measured,
        shown,
        on,
    }
}

/// The rows to label as step 3 shows them: the prompt, what the model generated, and the label
/// typed (else the one the pool file gives).
fn items(
    table: Option<&SharedTable>,
    scored: Option<&Scored>,
    label_rows: &[usize],
    session: &Session,
) -> Option<Rc<Vec<Item>>> {
    let (Some(t), Some(s)) = (table, scored) else { return None };
    if label_rows.is_empty() {
        return None;
    }
    let t = t.0.borrow();
    let items = label_rows
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
                confidence: i.and_then(|i| s.scores[i].stats.avg_confidence),
                given: typed.is_none() && given.is_some(),
                label: typed.or(given).unwrap_or_default(),
            }
        })
        .collect();
    Some(Rc::new(items))
}

/// The measured run with what a proxy set may use besides CoS-Low: the examples' labels
/// (typed, else given in the pool file) and the scores of the sample.
#[hook]
fn use_measured(session: &Session, scored: Option<Rc<Scored>>, table: Option<SharedTable>) -> Option<MeasuredRun> {
    let coslow: Option<Rc<Measured>> = session.work.coslow.done().cloned();
    let labels: Rc<Labels> = (*session.labels).clone();
    let key = (coslow, scored, labels, table);
    let measured = use_memo(key, |(m, scored, labels, table)| {
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
    });
    (*measured).clone()
}

fn actions(session: &Session, data: &Data, keep: &Keep, forecast: &ForecastSetup, rows: &Rc<Vec<usize>>) -> Actions {
    let data_actions = data::actions(data, session, keep, forecast);
    let s = session.clone();
    let on_model_files = Callback::from(move |files| s.load_files(files));
    let on_page_drop = {
        let (on_file, on_model_files) = (data_actions.on_file.clone(), on_model_files.clone());
        Callback::from(move |e: DragEvent| {
            e.prevent_default();
            let files = file_read::list(e.data_transfer().and_then(|dt| dt.files()));
            if model_pick::looks_like_model(&files) {
                on_model_files.emit(files);
            } else if let Some(f) = files.into_iter().next() {
                on_file.emit(f);
            }
        })
    };
    let s = session.clone();
    let d = data.state.clone();
    Actions {
        data: data_actions,
        on_model_files,
        on_page_drop,
        on_url: s.callback(|s, url| s.load_url(url)),
        on_delete_cached: s.callback(|s, url| s.delete_cached(url)),
        on_cancel_download: s.callback(|s, ()| s.cancel_download()),
        on_score: {
            let d = d.clone();
            s.callback(move |s, (size, seed)| s.score(&d, size, seed))
        },
        on_cancel: s.callback(|s, ()| s.cancel()),
        on_template: s.callback(|s, chat| s.chat.set(chat)),
        on_long_rows: s.callback(|s, l| s.long_rows.set(l)),
        on_instruction: s.callback(|s, text| s.instruction.set(text)),
        on_label: s.callback(|s, (row, text)| s.set_label(row, text)),
        on_export: {
            let (d, rows) = (d.clone(), rows.clone());
            s.callback(move |s, ()| s.export_labels(&d, &rows))
        },
        on_import: {
            let (d, rows) = (d.clone(), rows.clone());
            s.callback(move |s, f| s.import_labels(&d, rows.clone(), f))
        },
        on_labels_file: {
            let d = d.clone();
            s.callback(move |s, f| s.fill_labels(&d, f))
        },
        on_score_labeled: {
            let d = d.clone();
            s.callback(move |s, rows| s.score_labeled(&d, rows))
        },
        on_coslow: {
            let rows = rows.clone();
            s.callback(move |s, ()| s.coslow(&d, &rows))
        },
    }
}
