//! Step 4: CoS-Low of the labeled rows (METHOD.md 1d) computed by the model worker, with
//! progress and Cancel, and the distribution of the pairwise gradient cosines.

use std::rc::Rc;

use yew::prelude::*;

use crate::chart::histogram::{histogram, upper_triangle};
use crate::chart::histogram_chart::HistogramChart;
use crate::components::job_progress::{duration, JobProgress};
use crate::format;
use crate::workflow::{Job, Measured};

#[derive(Properties, PartialEq)]
pub struct CosLowStepProps {
    /// (labeled, total) of the rows to label; None before scoring.
    pub labeled: Option<(usize, usize)>,
    pub model_ready: bool,
    /// Some job (this step's or another) is running in the worker, which runs one at a time.
    pub job_running: bool,
    pub coslow: Job<Measured>,
    /// Which coefficient set applies to the model, in a sentence.
    pub coef_note: Option<String>,
    pub on_run: Callback<()>,
    pub on_cancel: Callback<()>,
}

fn result(m: &Measured) -> Html {
    let r = &m.result;
    let cos = upper_triangle(&r.cosines);
    let lo = cos.iter().copied().fold(f64::INFINITY, f64::min).min(0.0);
    let hi = cos.iter().copied().fold(f64::NEG_INFINITY, f64::max).max(lo + 1e-9);
    let values: Vec<Option<f64>> = cos.iter().map(|&c| Some(c)).collect();
    let hist = Rc::new(histogram(&values, lo, hi, 24, |_| false));
    let cut = r.cut.iter().flatten().count();
    let skipped = r.skipped.iter().flatten().count();
    html! {
        <div id="coslow-result" data-coslow={r.coslow.to_string()} data-pairs={r.pairs.to_string()} data-workers={r.workers.to_string()}>
            <dl class="stats">
                <div><dt>{"CoS-Low"}</dt><dd id="coslow-value" class="stat">{format::fixed(r.coslow, 3)}</dd></div>
                <div><dt>{"Pairs"}</dt><dd class="stat">{format!("{} ({} examples)", r.pairs, r.examples)}</dd></div>
                <div><dt>{"Time"}</dt><dd class="stat">{match r.workers {
                    1 => duration(r.seconds),
                    n => format!("{} on {n} workers", duration(r.seconds)),
                }}</dd></div>
            </dl>
            if cut > 0 {
                <p id="coslow-cut" class="muted">{format!(
                    "{} of the {} examples {} longer than the model's context: {} prompt{} cut from the end to fit, the answer{} kept whole.",
                    cut,
                    r.examples,
                    if cut == 1 { "was" } else { "were" },
                    if cut == 1 { "its" } else { "their" },
                    if cut == 1 { " was" } else { "s were" },
                    if cut == 1 { "" } else { "s" },
                )}</p>
            }
            if let Some(sd) = r.sketch_sd {
                <p id="coslow-sketch" class="muted">{format!(
                    "The gradients were too large to keep whole and were kept as count-sketches: each cosine \
                     near CoS-Low carries about ±{} (one standard deviation) from the sketch.",
                    format::fixed(sd, if sd < 0.001 { 5 } else { 3 })
                )}</p>
            }
            if skipped > 0 {
                <p id="coslow-skipped" class="muted">{format!(
                    "{} longer than the model's context and left out: CoS-Low compares the other {}.",
                    format::count(skipped, "example was", "examples were"),
                    r.examples,
                )}</p>
            }
            <HistogramChart id="cosine-histogram" hist={hist} x_label="pairwise cosine of per-example LoRA gradients"
                description={format!("Histogram of the {} pairwise gradient cosines; their median, CoS-Low, is {}.", r.pairs, format::fixed(r.coslow, 3))}
                line={Some((r.coslow, AttrValue::from("median")))} />
        </div>
    }
}

#[function_component(CosLowStep)]
pub fn coslow_step(p: &CosLowStepProps) -> Html {
    let running = p.coslow.running().cloned();
    let (labeled, total) = p.labeled.unwrap_or((0, 0));
    let ready = total > 0 && labeled == total;
    let why_not = if total == 0 {
        Some("Score the prompts and label the rows first.".to_string())
    } else if !ready {
        Some(format!("{} of {total} rows still need a label.", total - labeled))
    } else if !p.model_ready {
        Some("Load a model first.".to_string())
    } else if p.job_running && p.coslow.running().is_none() {
        Some("Another job is running: wait for it or cancel it.".to_string())
    } else {
        None
    };
    let on_run = {
        let cb = p.on_run.clone();
        Callback::from(move |_: MouseEvent| cb.emit(()))
    };
    html! {
        <section id="step-coslow" class="step" aria-labelledby="step-coslow-heading">
            <h2 id="step-coslow-heading"><span class="step-num">{"4"}</span>{"CoS-Low"}</h2>
            <p class="step-intro">
                {"For each labeled example the model computes the gradient of its LoRA adapters \
                  (rank 64, alpha 32, seed 0) on the answer; CoS-Low is the median cosine between \
                  every pair of those gradients (METHOD.md 1d). Similar gradients mean the examples \
                  teach the model the same thing: the task is learned from fewer labels."}
            </p>
            if let Some(note) = &p.coef_note {
                <p id="coef-note" class="muted">{note.clone()}</p>
            }
            <div class="button-row">
                <button type="button" id="coslow-run" class="button" disabled={why_not.is_some() || p.job_running} onclick={on_run}>
                    {"Compute CoS-Low"}
                </button>
                if let Some(w) = why_not { <span class="muted">{w}</span> }
            </div>
            if let Some(r) = running {
                <JobProgress id="coslow-progress" running={r} what="gradients" on_cancel={p.on_cancel.clone()} />
            }
            {match &p.coslow {
                Job::Done(m) => result(m),
                Job::Failed(m) => html! { <p id="coslow-error" class="error-text" role="alert">{m.clone()}</p> },
                Job::Cancelled => html! { <p class="muted">{"CoS-Low was cancelled."}</p> },
                _ => Html::default(),
            }}
        </section>
    }
}
