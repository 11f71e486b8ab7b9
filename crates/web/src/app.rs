//! The page: header, privacy note, and the steps, laid out with the page's store
//! (`state::page`), which owns their state and transitions.

use yew::prelude::*;

use crate::components::icons;
use crate::state::page::use_page;
use crate::steps::annotate::annotate_step::AnnotateStep;
use crate::steps::confidence::confidence_step::ConfidenceStep;
use crate::steps::coslow::coslow_step::CosLowStep;
use crate::steps::data::data_step::DataStep;
use crate::steps::forecast::forecast_panel::ForecastPanel;
use crate::steps::model::model_step::ModelStep;
use crate::steps::next::next_step::NextStep;

pub use crate::steps::data::data_state::{load, DataState, SharedTable, Source};

#[function_component(App)]
pub fn app() -> Html {
    let page = use_page();
    let (session, keep, forecast, shown, on) = (&page.session, &page.keep, &page.forecast, &page.shown, &page.on);
    let work = &*session.work;
    let model_ready = work.model.ready();
    let job_running = work.running_job().is_some();
    let on_backend = session.callback(|s, b| s.set_backend(b));
    let on_page_dragover = Callback::from(|e: DragEvent| e.prevent_default());

    html! {
        <div class="page" ondragover={on_page_dragover} ondrop={on.on_page_drop.clone()}>
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
                    cached={(*session.cached).clone()} on_url={on.on_url.clone()} on_delete={on.on_delete_cached.clone()}
                    on_files={on.on_model_files.clone()} note={(*session.model_note).clone()}
                    on_cancel_download={on.on_cancel_download.clone()} {on_backend}
                    coef_note={page.coef_note.clone().map(AttrValue::from)} />
                <DataStep
                    state={(*page.data.state).clone()}
                    role_error={(*page.data.role_error).clone()}
                    on_file={on.data.on_file.clone()}
                    on_example={on.data.on_example.clone()}
                    on_role={on.data.on_role.clone()}
                    on_labels_file={on.on_labels_file.clone()}
                    fill_message={(*session.fill_message).clone()}
                    replacing={shown.replacing.clone()} on_replace={on.data.on_replace.clone()} on_keep={on.data.on_keep.clone()}
                    on_export={on.on_export.clone()}
                    previous={shown.previous.clone()} on_previous={on.data.on_previous.clone()}
                    kept_note={shown.kept_note.clone()}
                />
                <ConfidenceStep
                    pool_rows={shown.pool_rows}
                    {model_ready}
                    {job_running}
                    scoring={work.scoring.clone()}
                    chat={*session.chat}
                    on_template={on.on_template.clone()}
                    long_rows={*session.long_rows}
                    on_long_rows={on.on_long_rows.clone()}
                    instruction={AttrValue::from((*session.instruction).clone())}
                    on_instruction={on.on_instruction.clone()}
                    pace={page.pace}
                    stale={shown.stale}
                    on_score={on.on_score.clone()}
                    on_cancel={on.on_cancel.clone()}
                />
                <AnnotateStep items={page.items.clone()} notes={page.notes.clone()} on_label={on.on_label.clone()}
                    on_export={on.on_export.clone()} on_import={on.on_import.clone()}
                    import_message={(*session.import_message).clone()} />
                <CosLowStep labeled={page.labeled} {model_ready} {job_running} coslow={work.coslow.clone()}
                    coef_note={page.coef_note.clone()} on_run={on.on_coslow.clone()} on_cancel={on.on_cancel.clone()} />
                <ForecastPanel measured={page.measured.clone()} model={page.model_id.clone()} setup={forecast.clone()}
                    report={page.report.clone()} />
                <NextStep table={page.table.clone()} scored={page.scored.clone()} extra_scores={work.extra_scores.clone()}
                    extra={work.extra.clone()} label_rows={page.label_rows.clone()} labels={(*session.labels).clone()}
                    instruction={AttrValue::from((*session.instruction).clone())}
                    {model_ready} {job_running} on_score={on.on_score_labeled.clone()} on_cancel={on.on_cancel.clone()} />
                <div class="session-bar">
                    if let Some(e) = &*keep.error { <p id="save-error" class="error-text" role="alert">{e.clone()}</p> }
                    if let Some(e) = &*keep.tabs_note { <p id="tabs-note" class="muted" role="status">{e.clone()}</p> }
                    if let Some(e) = &*forecast.save_error { <p id="forecast-save-error" class="error-text">{e.clone()}</p> }
                    if let Some(e) = &work.worker_error { <p id="worker-error" class="error-text" role="alert">{e.clone()}</p> }
                    <button type="button" id="clear-session" class="button secondary" onclick={on.data.on_clear.clone()}>
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
