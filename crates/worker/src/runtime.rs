//! What every job of the worker shares: its global scope, posting replies (a gradient row
//! transferred beside one), timers that let messages in, the loaded engine, which jobs are
//! cancelled, and progress reports. The message loop (host.rs) and the jobs (coslow.rs,
//! rows.rs, files.rs) all use it; it uses none of them.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use js_sys::{Array, Reflect};
use labelcast_engine::{AnyEngine, Flow, Progress};
use labelcast_protocol::{Reply, Stage};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::DedicatedWorkerGlobalScope;

use crate::error::{Result, WorkerError};

thread_local! {
    static ENGINE: RefCell<Option<Rc<AnyEngine>>> = const { RefCell::new(None) };
    /// Every job up to this number is cancelled: the page numbers jobs in increasing order and
    /// cancels the one running, so one number covers it and any older one still queued.
    static CANCELLED: Cell<u32> = const { Cell::new(0) };
}

pub(crate) fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

/// Plain JS objects (not Maps) so the page can also read them from JavaScript and tests.
fn to_js<T: Serialize>(value: &T) -> Result<JsValue, serde_wasm_bindgen::Error> {
    value.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
}

pub(crate) fn post(reply: &Reply) {
    match to_js(reply) {
        Ok(v) => {
            let _ = scope().post_message(&v);
        }
        Err(e) => {
            let msg =
                Reply::Failed { job: None, message: format!("internal error: a reply could not be encoded: {e}") };
            if let Ok(v) = to_js(&msg) {
                let _ = scope().post_message(&v);
            }
        }
    }
}

/// Posts `reply` with `row` beside its fields (under `row`), handing the array's memory over
/// instead of copying it.
pub(crate) fn post_with_row(reply: &Reply, row: &js_sys::Float32Array) {
    let sent = to_js(reply).ok().filter(|v| Reflect::set(v, &"row".into(), row).unwrap_or(false)).map(|v| {
        let transfer = Array::of1(&row.buffer());
        scope().post_message_with_transfer(&v, &transfer)
    });
    if !matches!(sent, Some(Ok(()))) {
        post(&Reply::Failed { job: None, message: "internal error: a gradient row could not be posted".into() });
    }
}

pub(crate) fn wasm_memory_bytes() -> f64 {
    wasm_bindgen::memory()
        .dyn_into::<js_sys::WebAssembly::Memory>()
        .ok()
        .and_then(|m| m.buffer().dyn_into::<js_sys::ArrayBuffer>().ok())
        .map_or(0.0, |b| b.byte_length() as f64)
}

pub(crate) fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// Waits for a macrotask (a zero-delay timer), so that messages queued meanwhile (a Cancel)
/// are handled: on the CPU backend the engine computes without ever giving the event loop a turn.
pub(crate) async fn yield_to_events() {
    sleep(0).await;
}

/// Waits `ms` milliseconds, letting messages in meanwhile.
pub(crate) async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let _ = scope().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
    });
    let _ = JsFuture::from(promise).await;
}

pub(crate) fn cancelled(job: u32) -> bool {
    CANCELLED.with(Cell::get) >= job
}

pub(crate) fn engine() -> Result<Rc<AnyEngine>> {
    ENGINE.with(|e| e.borrow().clone()).ok_or(WorkerError::NoModel)
}

/// Reports that repeat the last one within this time are let through without a word: the
/// engine also reports between decode steps, which on a GPU come every few milliseconds.
const QUIET_MS: f64 = 100.0;

/// Posts each progress report, then lets pending messages run and stops the job if one of
/// them cancelled it.
pub(crate) fn progress(job: u32) -> impl FnMut(Progress) -> Pin<Box<dyn Future<Output = Flow>>> {
    let mut last: Option<(Progress, f64)> = None;
    move |p| {
        let now = now_ms();
        if last.is_some_and(|(q, t)| q == p && now - t < QUIET_MS) {
            return Box::pin(async { Flow::Continue });
        }
        last = Some((p, now));
        let (stage, done, total) = match p {
            Progress::Scoring { done, total } => (Stage::Scoring, done, total),
            Progress::Gradients { done, total } => (Stage::Gradients, done, total),
        };
        post(&Reply::Progress { job, stage, done, total });
        Box::pin(async move {
            yield_to_events().await;
            if cancelled(job) {
                Flow::Stop
            } else {
                Flow::Continue
            }
        })
    }
}

/// Cancels job `job` and every older one.
pub(crate) fn cancel_up_to(job: u32) {
    CANCELLED.with(|c| c.set(c.get().max(job)));
}

/// The model every job computes with: `None` drops the loaded one.
pub(crate) fn set_engine(engine: Option<Rc<AnyEngine>>) {
    ENGINE.with(|e| *e.borrow_mut() = engine);
}
