//! The pool's helper workers: started, answered, and stopped when they fail or a model goes.

use std::rc::Rc;

use labelcast_protocol::{BackendChoice, Reply, Request};
use wasm_bindgen::JsValue;
use yew::Callback;

use super::split::{helpers_for, MAX_WORKERS};
use super::{Effect, EnginePool, Pool};
use crate::browser::engine_client::{Client, EngineClient};

pub(super) struct Helper {
    pub(super) client: Client,
    /// It has loaded the model.
    pub(super) ready: bool,
    pub(super) alive: bool,
    /// Its latest memory report.
    pub(super) memory: f64,
    /// Parts sent while it was still loading the model, sent once it has.
    pub(super) waiting: Vec<Request>,
}

impl EnginePool {
    pub(super) fn stop_helpers(this: &Pool) {
        let (helpers, unfinished) = {
            let mut me = this.borrow_mut();
            me.generation += 1;
            me.split = None;
            // A main worker waiting for the helpers' rows finishes the run alone.
            let unfinished = me.grads.take().map(|g| (me.main.clone(), Request::GradsSent { job: g.job() }));
            me.sizing = false;
            me.memory = None;
            (std::mem::take(&mut me.helpers), unfinished)
        };
        for h in helpers {
            EngineClient::terminate(&h.client);
        }
        if let Some((main, request)) = unfinished {
            EngineClient::request(&main, &request);
        }
    }

    pub(super) fn on_helper(this: &Pool, i: usize, generation: u32, reply: Reply) {
        if this.borrow().generation != generation {
            return;
        }
        let effects = {
            let mut me = this.borrow_mut();
            match reply {
                Reply::Loaded { .. } => {
                    me.helpers[i].ready = true;
                    let waiting = std::mem::take(&mut me.helpers[i].waiting);
                    let mut effects: Vec<Effect> = me.backend_reply().map(Effect::Emit).into_iter().collect();
                    effects.extend(waiting.into_iter().map(|r| Effect::Send(Some(i), r)));
                    effects
                }
                Reply::Progress { job, done, total, .. } if me.splits(job) => {
                    let split = me.split.as_mut().expect("a split run");
                    let w = split.slot(i);
                    w.and_then(|w| split.run.progress(w, done, total)).map(Effect::Emit).into_iter().collect()
                }
                Reply::ScoresPart { job, rows, .. } if me.splits(job) => {
                    let split = me.split.as_mut().expect("a split run");
                    match split.slot(i) {
                        Some(w) => {
                            let next = split.run.finished(w, rows);
                            me.follow(next)
                        }
                        None => Vec::new(),
                    }
                }
                Reply::GradsSent { job, .. } | Reply::Cancelled { job } if me.grads_job(job) => me.helper_sent(i),
                // The main worker computes the part that failed, and meets the same error if
                // the examples caused it; the helper stays for the next run.
                Reply::Failed { job: Some(job), message } if me.grads_job(job) => {
                    warn_stopped(i, &message);
                    me.helper_sent(i)
                }
                Reply::Failed { message, .. } => {
                    drop(me);
                    return EnginePool::helper_lost(this, i, generation, Some(message));
                }
                Reply::Memory { bytes, .. } => {
                    me.helpers[i].memory = bytes;
                    me.memory_reply().map(Effect::Emit).into_iter().collect()
                }
                // Its loading stages, backend and cancel answers are the pool's business.
                _ => Vec::new(),
            }
        };
        EnginePool::apply(this, effects);
    }

    /// Helper `i` failed or did not answer a cancel: it is stopped, and the part it ran goes
    /// to the next free worker.
    pub(super) fn helper_lost(this: &Pool, i: usize, generation: u32, why: Option<String>) {
        let (client, effects) = {
            let mut me = this.borrow_mut();
            if me.generation != generation || !me.helpers[i].alive {
                return;
            }
            me.helpers[i].alive = false;
            let mut effects = Vec::new();
            if let Some(split) = me.split.as_mut() {
                if let Some(w) = split.slot(i) {
                    let next = split.run.failed(w);
                    effects = me.follow(next);
                }
            }
            effects.extend(me.helper_sent(i));
            effects.extend(me.backend_reply().map(Effect::Emit));
            effects.extend(me.memory_reply().map(Effect::Emit));
            (me.helpers[i].client.clone(), effects)
        };
        if let Some(why) = why {
            warn_stopped(i, &why);
        }
        EngineClient::terminate(&client);
        EnginePool::apply(this, effects);
    }

    pub(super) fn spawn_helpers(this: &Pool, n: usize) {
        let Some((name, files, blobs)) = this.borrow().model.clone() else { return };
        let generation = this.borrow().generation;
        for _ in 0..n {
            let i = this.borrow().helpers.len();
            let weak = Rc::downgrade(this);
            let client = EngineClient::new(Callback::from(move |r| {
                if let Some(pool) = weak.upgrade() {
                    EnginePool::on_helper(&pool, i, generation, r);
                }
            }));
            let weak = Rc::downgrade(this);
            EngineClient::on_rows(
                &client,
                Callback::from(move |(r, row)| {
                    if let Some(pool) = weak.upgrade() {
                        EnginePool::on_helper_row(&pool, i, generation, r, row);
                    }
                }),
            );
            this.borrow_mut().helpers.push(Helper {
                client: client.clone(),
                ready: false,
                alive: true,
                memory: 0.0,
                waiting: Vec::new(),
            });
            EngineClient::set_backend(&client, BackendChoice::Cpu);
            EngineClient::load(&client, name.clone(), files.clone(), blobs.clone());
        }
    }
}

fn warn_stopped(i: usize, why: &str) {
    web_sys::console::warn_1(&JsValue::from_str(&format!("labelcast: helper worker {} stopped: {why}", i + 1)));
}

/// How many helpers to start for a model that takes `worker_bytes` of a worker's memory
/// (`split::helpers_for`, or `?workers=N` in the page's address).
pub(super) fn helper_count(worker_bytes: f64) -> usize {
    if let Some(n) = crate::browser::page_query::number("workers") {
        return n.clamp(1, MAX_WORKERS) - 1;
    }
    let Some(window) = web_sys::window() else { return 0 };
    let device_gb = js_sys::Reflect::get(&window.navigator(), &"deviceMemory".into()).ok().and_then(|v| v.as_f64());
    helpers_for(window.navigator().hardware_concurrency() as usize, device_gb, worker_bytes)
}
