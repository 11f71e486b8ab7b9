//! Step 2: score the pool's prompts (all, or a seeded sample) for the model's confidence,
//! with progress and Cancel, then show the confidence histogram with the bottom decile.

use std::rc::Rc;

use yew::prelude::*;

use crate::chart::histogram::{bottom_decile, histogram};
use crate::chart::histogram_chart::HistogramChart;
use crate::components::field::with_value;
use crate::components::job_progress::{duration, JobProgress};
use crate::format;
use crate::steps::confidence::pace;
use crate::workflow::{Job, Scored};
use labelcast_protocol::LongRows;

/// Seconds per prompt before this computer has been measured: SmolLM2-135M on the CPU
/// backend in wasm, measured in headless Chromium on a 2-core machine (docs/benchmarks/browser.md).
pub const PRIOR_SECONDS_PER_PROMPT: f64 = 1.0;

#[derive(Properties, PartialEq)]
pub struct ConfidenceStepProps {
    /// Rows in the loaded pool; None while no pool is loaded.
    pub pool_rows: Option<usize>,
    pub model_ready: bool,
    /// Some job (this step's or another) is running in the worker, which runs one at a time.
    pub job_running: bool,
    pub scoring: Job<Scored>,
    pub chat: bool,
    pub on_template: Callback<bool>,
    /// What scoring (and CoS-Low) do with a row longer than the model's context.
    pub long_rows: LongRows,
    pub on_long_rows: Callback<LongRows>,
    /// The task instruction: the system message of rows whose file gives none.
    pub instruction: AttrValue,
    pub on_instruction: Callback<String>,
    /// Seconds per prompt measured on this computer for the model loaded (`pace`).
    pub pace: Option<f64>,
    /// The scores shown were made with another prompt format or task instruction.
    pub stale: bool,
    /// (sample size, sample seed)
    pub on_score: Callback<(usize, u64)>,
    pub on_cancel: Callback<()>,
}

fn results(s: &Scored) -> Html {
    let conf: Vec<Option<f64>> = s.scores.iter().map(|r| r.stats.avg_confidence).collect();
    let decile: std::collections::HashSet<usize> = bottom_decile(&conf).into_iter().collect();
    let hist = Rc::new(histogram(&conf, 0.0, 1.0, 20, |i| decile.contains(&i)));
    let threshold = decile.iter().filter_map(|&i| conf[i]).fold(f64::NEG_INFINITY, f64::max);
    let valid: Vec<f64> = conf.iter().flatten().copied().collect();
    let mean = valid.iter().sum::<f64>() / valid.len().max(1) as f64;
    let skipped = s.scores.iter().filter(|r| r.skipped.is_some()).count();
    let empty = conf.len() - valid.len() - skipped;
    let cut = s.scores.iter().filter(|r| r.cut.is_some()).count();
    let summary = format!(
        "Scored {} prompts in {} ({:.2} s each); mean confidence {}.",
        format::thousands(s.rows.len() as u64),
        duration(s.seconds),
        s.seconds / s.rows.len().max(1) as f64,
        format::fixed(mean, 3)
    );
    let decile_text = if decile.is_empty() {
        String::new()
    } else {
        format!(
            " The bottom decile (highlighted) holds the {} least confident prompts, confidence ≤ {}.",
            decile.len(),
            format::fixed(threshold, 3)
        )
    };
    html! {
        <div id="scores" data-rows={s.rows.len().to_string()}>
            if let Some(asked) = s.cancelled_of {
                <p id="scores-cancelled" class="muted">{format!(
                    "Scoring was cancelled after {} of {}; the scores of those are kept below.",
                    format::thousands(s.rows.len() as u64),
                    format::count(asked, "prompt", "prompts"),
                )}</p>
            }
            <p id="scores-summary">{summary}{decile_text}
                if empty > 0 {
                    {format!(" {} generated no counted token and has no confidence.", format::count(empty, "prompt", "prompts"))}
                }
                if cut > 0 {
                    <span id="scores-cut">{format!(
                        " {} longer than the model's context: cut to fit, so {} scored on {} beginning.",
                        format::count(cut, "prompt was", "prompts were"),
                        if cut == 1 { "it is" } else { "they are" },
                        if cut == 1 { "its" } else { "their" },
                    )}</span>
                }
                if skipped > 0 {
                    <span id="scores-skipped">{format!(
                        " {} longer than the model's context and skipped: no confidence, never picked to label.",
                        format::count(skipped, "prompt was", "prompts were"),
                    )}</span>
                }
            </p>
            <HistogramChart id="confidence-histogram" hist={hist} x_label="average confidence (METHOD.md 1b)"
                description="Histogram of the prompts' average confidence; the bottom decile is highlighted." />
        </div>
    }
}

#[function_component(ConfidenceStep)]
pub fn confidence_step(p: &ConfidenceStepProps) -> Html {
    let pool = p.pool_rows.unwrap_or(0);
    let size = use_state(String::new);
    let seed = use_state(|| "0".to_string());
    let wanted = size.trim().parse::<usize>().ok().filter(|&n| n > 0).unwrap_or(pool).min(pool);
    let rate = p.pace.unwrap_or(PRIOR_SECONDS_PER_PROMPT);
    // Offered while the person has not chosen a size: for the whole pool.
    let offer = if size.trim().is_empty() { pace::proposal(pool, rate) } else { None };
    let on_use_sample = {
        let size = size.clone();
        Callback::from(move |n: usize| size.set(n.to_string()))
    };
    let running = p.scoring.running().cloned();
    let can_run = pool > 0 && p.model_ready && !p.job_running;
    let why_not = if p.pool_rows == Some(0) {
        Some("The file in step 1 has no rows: add prompts to it and load it again.")
    } else if pool == 0 {
        Some("Load a pool of prompts in step 1 first.")
    } else if !p.model_ready {
        Some("Load a model above first.")
    } else if p.job_running && running.is_none() {
        Some("Another job is running: wait for it or cancel it.")
    } else {
        None
    };
    let on_size = {
        let size = size.clone();
        with_value::<InputEvent>(move |v| size.set(v))
    };
    let on_seed = {
        let seed = seed.clone();
        with_value::<InputEvent>(move |v| seed.set(v))
    };
    let on_template = {
        let cb = p.on_template.clone();
        with_value::<Event>(move |v| cb.emit(v == "chat"))
    };
    let on_instruction = {
        let cb = p.on_instruction.clone();
        with_value::<InputEvent>(move |v| cb.emit(v))
    };
    let on_long_rows = {
        let cb = p.on_long_rows.clone();
        with_value::<Event>(move |v| {
            cb.emit(match v.as_str() {
                "skip" => LongRows::Skip,
                "fail" => LongRows::Fail,
                _ => LongRows::Cut,
            })
        })
    };
    let long_option = |l: LongRows, text: &'static str| {
        html! { <option value={l.name()} selected={p.long_rows == l}>{text}</option> }
    };
    let on_run = {
        let cb = p.on_score.clone();
        let seed = seed.trim().parse::<u64>().unwrap_or(0);
        Callback::from(move |_: MouseEvent| cb.emit((wanted, seed)))
    };
    html! {
        <section id="step-confidence" class="step" aria-labelledby="step-confidence-heading">
            <h2 id="step-confidence-heading"><span class="step-num">{"2"}</span>{"Confidence"}</h2>
            <p class="step-intro">
                {"The model answers every prompt (greedy, up to 30 tokens) and its average confidence \
                  per answer is recorded (METHOD.md 1b). The least confident prompts are the ones to \
                  label: they say most about how hard the task is for the model."}
            </p>
            <div class="field-row controls-row">
                <div class="field">
                    <label for="sample-size">{"Prompts to score"}</label>
                    <input autocomplete="off" id="sample-size" type="number" min="1" max={pool.to_string()} inputmode="numeric"
                        placeholder={format!("all {pool}")} value={(*size).clone()} oninput={on_size} />
                    <p class="help">{format!("A seeded random sample when fewer than all {pool}.")}</p>
                </div>
                <div class="field">
                    <label for="sample-seed">{"Sample seed"}</label>
                    <input autocomplete="off" id="sample-seed" type="number" min="0" inputmode="numeric" value={(*seed).clone()} oninput={on_seed} />
                </div>
                <div class="field">
                    <label for="template">{"Prompt format"}</label>
                    <select autocomplete="off" id="template" onchange={on_template}>
                        <option value="chat" selected={p.chat}>{"Chat template (the model's own)"}</option>
                        <option value="raw" selected={!p.chat}>{"Raw (prompts are already formatted)"}</option>
                    </select>
                </div>
                <div class="field">
                    <label for="long-rows">{"Rows longer than the model's context"}</label>
                    <select autocomplete="off" id="long-rows" onchange={on_long_rows}>
                        {long_option(LongRows::Cut, "Cut the prompt to fit (scored on its beginning)")}
                        {long_option(LongRows::Skip, "Skip them (no score, never picked)")}
                        {long_option(LongRows::Fail, "Stop and name the row")}
                    </select>
                    <p class="help">{"Also for CoS-Low's examples, whose answers are never cut."}</p>
                </div>
            </div>
            <div class="field">
                <label for="task-instruction">{"Task instruction (optional)"}</label>
                <textarea autocomplete="off" id="task-instruction" rows="2" value={p.instruction.clone()} oninput={on_instruction}
                    placeholder="e.g. Classify the sentiment of the review as positive or negative." />
                <p class="help">{"The model gets it as the system message of every row whose file has no \
                    system or instruction column (or an empty cell there), as the paper gives each task its \
                    instruction. Kept with the work, and written into the exports."}</p>
            </div>
            <p id="score-estimate" class="muted">
                {format!("Estimated time: about {} for {} prompts ({}).", duration(rate * wanted as f64),
                    format::thousands(wanted as u64),
                    if p.pace.is_some() { "at the pace measured on this computer for this model" } else { "a rough guess until the first run" })}
            </p>
            if let Some(o) = offer {
                <div id="sample-proposal" class="proposal" data-size={o.size.to_string()}>
                    <p>{format!(
                        "Scoring all {} prompts would take about {} here. A random sample of {} takes about {}: \
                         the {} rows to label then come from the least confident tenth of the sample instead \
                         of the whole pool (METHOD.md 1c draws from the pool's), and the next rows to annotate \
                         are ranked among the sample.",
                        format::thousands(pool as u64), duration(o.all_s), format::thousands(o.size as u64),
                        duration(o.sample_s), labelcast_core::method::EXAMPLES
                    )}</p>
                    <button type="button" id="use-sample" class="button secondary"
                        onclick={let cb = on_use_sample.clone(); move |_| cb.emit(o.size)}>
                        {format!("Score a sample of {}", format::thousands(o.size as u64))}
                    </button>
                </div>
            }
            <div class="button-row">
                <button type="button" id="score-run" class="button" disabled={!can_run} onclick={on_run}>{"Score the prompts"}</button>
                if let Some(w) = why_not { <span class="muted">{w}</span> }
            </div>
            if let Some(r) = running {
                <JobProgress id="score-progress" running={r} what="prompts scored" on_cancel={p.on_cancel.clone()} />
            }
            if p.stale && p.scoring.done().is_some() {
                <p id="scores-stale" class="warning" role="status">{"The prompt format or the task instruction \
                    changed since these scores were made: score again so that the rows to label and CoS-Low \
                    see the prompts as the model will."}</p>
            }
            {match &p.scoring {
                Job::Done(s) => results(s),
                Job::Failed(m) => html! { <p id="score-error" class="error-text" role="alert">{m.clone()}</p> },
                Job::Cancelled => html! { <p id="score-cancelled" class="muted">{"Scoring was cancelled."}</p> },
                _ => Html::default(),
            }}
        </section>
    }
}
