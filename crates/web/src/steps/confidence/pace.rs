//! How fast this computer scores prompts with a given model and backend, measured by the
//! page's own runs and kept in localStorage across pools and reloads, and what that pace
//! means for a large pool: the time to score all of it, and a sample that gives the 32 rows to
//! label sooner.

use std::collections::BTreeMap;

use labelcast_core::method::{DECILE_FRACTION, EXAMPLES};
use yew::prelude::*;

use crate::browser::storage;
use crate::workflow::{ModelStatus, Work};

const KEY: &str = "labelcast-pace";

/// A run this short says little about the pace (the first batch carries the warm-up).
pub const MIN_PROMPTS: usize = 8;

/// Scoring longer than this proposes a sample.
pub const PROPOSE_ABOVE_S: f64 = 180.0;

/// The smallest sample whose bottom decile holds the 32 rows METHOD.md 1c draws.
pub fn min_sample() -> usize {
    (EXAMPLES as f64 / DECILE_FRACTION).ceil() as usize
}

/// Which pace applies: one per model file, backend and number of workers scoring at once (a
/// WebGPU adapter and the CPU differ by far more than pools do; two CPU workers score about
/// twice as fast as one).
pub fn key(model_file: &str, backend: &str, workers: u32) -> String {
    match workers {
        0 | 1 => format!("{model_file}|{backend}"),
        n => format!("{model_file}|{backend}x{n}"),
    }
}

/// Seconds per prompt of a finished (or cancelled) run; None when it scored too few.
pub fn of_run(prompts: usize, seconds: f64) -> Option<f64> {
    (prompts >= MIN_PROMPTS && seconds.is_finite() && seconds > 0.0).then(|| seconds / prompts as f64)
}

/// A sample to score instead of the whole pool.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Proposal {
    pub size: usize,
    pub all_s: f64,
    pub sample_s: f64,
}

/// For a pool whose scoring would take longer than `PROPOSE_ABOVE_S` at `secs_per_prompt`: the
/// sample that fits that time, and never fewer rows than the decile of 32 needs. None when the
/// whole pool is quick enough, or when the sample would not at least halve the time.
pub fn proposal(pool: usize, secs_per_prompt: f64) -> Option<Proposal> {
    let all_s = pool as f64 * secs_per_prompt;
    // NaN (no pace) proposes nothing, as a short pool does.
    if all_s.is_nan() || all_s <= PROPOSE_ABOVE_S {
        return None;
    }
    let fits = (PROPOSE_ABOVE_S / secs_per_prompt).floor() as usize;
    let size = fits.max(min_sample());
    (2 * size <= pool).then_some(Proposal { size, all_s, sample_s: size as f64 * secs_per_prompt })
}

fn decode(text: &str) -> BTreeMap<String, f64> {
    serde_json::from_str::<BTreeMap<String, f64>>(text)
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, v)| v.is_finite() && *v > 0.0)
        .collect()
}

/// The pace measured before for `key`, if any.
pub fn load(key: &str) -> Option<f64> {
    decode(&storage::local()?.get_item(KEY).ok()??).get(key).copied()
}

/// Keeps the pace of the latest run for `key`. Failing to write (storage full, blocked) only
/// loses the estimate, so it is ignored.
pub fn save(key: &str, secs_per_prompt: f64) {
    let Some(store) = storage::local() else { return };
    let mut all = store.get_item(KEY).ok().flatten().map(|t| decode(&t)).unwrap_or_default();
    all.insert(key.to_string(), secs_per_prompt);
    if let Ok(text) = serde_json::to_string(&all) {
        let _ = store.set_item(KEY, &text);
    }
}

/// The pace for the model loaded now: measured by this page's last scoring run with it (saved
/// as it finishes, cancelled runs included), else kept from an earlier visit; None before any.
/// A run restored from storage measured nothing here, so only runs seen running count.
#[hook]
pub fn use_pace(work: &Work) -> Option<f64> {
    let key = match (&work.model, &work.backend) {
        (ModelStatus::Ready { model, .. }, Some(b)) => Some(key(&model.file, b.backend.web_name(), b.workers)),
        _ => None,
    };
    let pace = use_state(|| None);
    let seen_running = use_mut_ref(|| false);
    {
        let pace = pace.clone();
        use_effect_with(key.clone(), move |k| pace.set(k.as_deref().and_then(load)));
    }
    if work.scoring.running().is_some() {
        *seen_running.borrow_mut() = true;
    }
    {
        let pace = pace.clone();
        let done = work.scoring.done().cloned();
        use_effect_with((key, done), move |(k, d)| {
            if let (Some(k), Some(d)) = (k, d) {
                if std::mem::take(&mut *seen_running.borrow_mut()) {
                    if let Some(p) = of_run(d.rows.len(), d.seconds) {
                        save(k, p);
                        pace.set(Some(p));
                    }
                }
            }
        });
    }
    *pace
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_pool_gets_a_sample_that_fits_the_time_and_still_holds_the_decile() {
        assert_eq!(min_sample(), 320);
        // 2,500 rows at 1 s: 320 rows (180 s would fit only 180, fewer than the decile needs).
        let p = proposal(2_500, 1.0).expect("a proposal");
        assert_eq!((p.size, p.all_s, p.sample_s), (320, 2_500.0, 320.0));
        // A fast machine: the sample is what fits in the time.
        assert_eq!(proposal(100_000, 0.1).map(|p| p.size), Some(1_800));
        // Quick enough as it is, or no smaller sample to offer.
        assert_eq!(proposal(150, 1.0), None);
        assert_eq!(proposal(400, 1.0), None, "320 of 400 saves too little to ask");
        assert_eq!(proposal(640, 1.0).map(|p| p.size), Some(320));
        assert_eq!(proposal(0, 1.0), None);
        assert_eq!(proposal(400, f64::NAN), None);
    }

    #[test]
    fn a_run_too_short_or_broken_measures_nothing() {
        assert_eq!(of_run(67, 65.5), Some(65.5 / 67.0));
        assert_eq!(of_run(3, 2.0), None);
        assert_eq!(of_run(100, 0.0), None);
        assert_eq!(of_run(100, f64::INFINITY), None);
    }

    #[test]
    fn stored_paces_that_make_no_sense_are_dropped() {
        let all = decode(r#"{"m.gguf|cpu": 0.9, "m.gguf|webgpu": -1, "x|cpu": "fast"}"#);
        assert!(all.is_empty(), "one bad value spoils the map: {all:?}");
        let all = decode(r#"{"m.gguf|cpu": 0.9, "m.gguf|webgpu": 0}"#);
        assert_eq!(all.into_iter().collect::<Vec<_>>(), vec![("m.gguf|cpu".to_string(), 0.9)]);
        assert!(decode("nope").is_empty());
        assert_eq!(key("m.gguf", "cpu", 1), "m.gguf|cpu");
        assert_eq!(key("m.gguf", "cpu", 2), "m.gguf|cpux2");
    }
}
