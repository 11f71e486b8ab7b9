//! A running job's progress: items done of total, time elapsed, an estimate of the time
//! left, and a Cancel button (which says "Stopping…" until the worker has stopped the job).
//! Ticks once a second so the elapsed time moves between the worker's progress messages.

use gloo_timers::callback::Interval;
use yew::prelude::*;

use crate::format;
use crate::workflow::Running;

#[derive(Properties, PartialEq)]
pub struct JobProgressProps {
    pub id: AttrValue,
    pub running: Running,
    /// "prompts scored", "gradients"
    pub what: AttrValue,
    pub on_cancel: Callback<()>,
}

pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

pub use crate::format::duration;

#[function_component(JobProgress)]
pub fn job_progress(p: &JobProgressProps) -> Html {
    let tick = use_state(|| 0u32);
    {
        let tick = tick.clone();
        use_effect_with((), move |_| {
            let i = Interval::new(1000, move || tick.set(tick.wrapping_add(1)));
            move || drop(i)
        });
    }
    let r = &p.running;
    let now = now_ms();
    let left = match r.remaining_s(now) {
        Some(s) => format!("about {} left", duration(s)),
        None => "estimating the time left…".into(),
    };
    let on_cancel = {
        let cb = p.on_cancel.clone();
        Callback::from(move |_: MouseEvent| cb.emit(()))
    };
    html! {
        <div class="job" id={p.id.clone()} data-done={r.done.to_string()} data-total={r.total.to_string()}>
            <progress max={r.total.max(1).to_string()} value={r.done.to_string()} aria-label={p.what.clone()}></progress>
            <p class="job-text" aria-live="polite">
                <strong>{format!("{} of {} {}", format::thousands(r.done as u64), format::thousands(r.total as u64), p.what)}</strong>
                {format!(" · {} elapsed · {left}", duration(r.elapsed_s(now)))}
            </p>
            <button type="button" class="button secondary" id={format!("{}-cancel", p.id)} onclick={on_cancel}
                disabled={r.stopping} data-stopping={r.stopping.to_string()}>
                {if r.stopping { "Stopping…" } else { "Cancel" }}
            </button>
        </div>
    }
}
