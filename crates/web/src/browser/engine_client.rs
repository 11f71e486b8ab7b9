//! The page's side of the model worker: starts it, queues requests until it is ready, turns
//! its messages into `Reply`s, and cancels a job with a message, which the worker answers
//! between two items and keeps its model. A worker that does not answer in time (stuck in a
//! long GPU submission, say) is terminated, and a fresh one loads the same model again.
//!
//! The model is kept as `Blob`s (the `File`s from disk, or the bytes downloaded once): posting
//! a Blob hands the worker a reference, not a copy, and a restarted worker can read it again
//! without a second download.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use js_sys::{Array, Float32Array, Object, Reflect};
use labelcast_protocol::{BackendChoice, ModelFiles, Reply, Request};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use web_sys::{Blob, ErrorEvent, MessageEvent, Worker};
use yew::Callback;

/// Trunk copies this loader next to the worker's JS and wasm (index.html).
pub const WORKER_URL: &str = "worker-loader.js";

/// The least time a job gets to answer a cancel before its worker is terminated.
const CANCEL_GRACE_MS: f64 = 5_000.0;

pub struct EngineClient {
    worker: Option<Worker>,
    ready: bool,
    /// Messages for a worker not ready yet, with what each transfers.
    queue: Vec<(JsValue, Option<Array>)>,
    on_reply: Callback<Reply>,
    /// Where replies that carry a gradient row go (`on_rows`), instead of `on_reply`.
    on_row: Option<Callback<(Reply, Float32Array)>>,
    /// The model's name, what its files are, and the files, for a restarted worker.
    model: Option<(String, ModelFiles, Vec<Blob>)>,
    /// The page's backend choice, sent with every load (a restarted worker's too).
    backend: BackendChoice,
    next_job: u32,
    /// The job a cancel was sent for and not yet answered.
    cancelling: Option<u32>,
    /// The running job's pace: (job, time of its last progress report, longest gap between
    /// two reports so far), in ms. A cancel is answered at the next report, so the wait for
    /// it scales with the gap.
    pace: Option<(u32, f64, f64)>,
    // Kept alive as long as the worker they are attached to.
    _handlers: Vec<Closure<dyn FnMut(JsValue)>>,
}

pub type Client = Rc<RefCell<EngineClient>>;

/// A request that could not be made a message for the worker (a bug, not the person's input).
#[derive(Debug, thiserror::Error)]
enum EnvelopeError {
    #[error("internal error: could not encode a request: {0}")]
    Encode(#[from] serde_wasm_bindgen::Error),
    #[error("internal error: could not build a message")]
    Build,
}

fn to_js<T: Serialize>(value: &T) -> Result<JsValue, EnvelopeError> {
    Ok(value.serialize(&serde_wasm_bindgen::Serializer::json_compatible())?)
}

fn post(worker: &Worker, msg: &JsValue, transfer: Option<&Array>) -> Result<(), JsValue> {
    match transfer {
        Some(t) => worker.post_message_with_transfer(msg, t),
        None => worker.post_message(msg),
    }
}

fn envelope(request: &Request, blobs: &[Blob], row: Option<&Float32Array>) -> Result<JsValue, EnvelopeError> {
    let obj = Object::new();
    let set = |k: &str, v: &JsValue| {
        Reflect::set(&obj, &JsValue::from_str(k), v).map(|_| ()).map_err(|_| EnvelopeError::Build)
    };
    set("msg", &to_js(request)?)?;
    if !blobs.is_empty() {
        set("blobs", &blobs.iter().collect::<Array>())?;
    }
    if let Some(row) = row {
        set("row", row)?;
    }
    Ok(obj.into())
}

impl EngineClient {
    /// A client whose worker starts at once (it detects the backend while the page loads).
    pub fn new(on_reply: Callback<Reply>) -> Client {
        let client = EngineClient::unstarted(on_reply);
        EngineClient::start(&client);
        client
    }

    /// A client whose worker starts with [`EngineClient::start`]: for an owner that must exist
    /// before the first reply (a failed start is reported at once).
    pub fn unstarted(on_reply: Callback<Reply>) -> Client {
        Rc::new(RefCell::new(EngineClient {
            worker: None,
            ready: false,
            queue: Vec::new(),
            on_reply,
            on_row: None,
            model: None,
            backend: BackendChoice::default(),
            next_job: 1,
            cancelling: None,
            pace: None,
            _handlers: Vec::new(),
        }))
    }

    pub fn start(this: &Client) {
        EngineClient::spawn(this);
    }

    /// Reports a failure without holding a borrow: the reply may start new requests.
    fn fail(this: &Client, message: String) {
        let cb = this.borrow().on_reply.clone();
        cb.emit(Reply::Failed { job: None, message });
    }

    fn spawn(this: &Client) {
        let worker = match Worker::new(WORKER_URL) {
            Ok(w) => w,
            Err(e) => {
                EngineClient::fail(this, format!("the browser refused to start the model worker: {e:?}"));
                return;
            }
        };
        let weak: Weak<RefCell<EngineClient>> = Rc::downgrade(this);
        let on_message = Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| {
            let Some(this) = weak.upgrade() else { return };
            let data = e.unchecked_into::<MessageEvent>().data();
            // A gradient row (`Reply::GradRow`) travels beside the reply's fields: taken off
            // before decoding, which would otherwise walk its millions of floats.
            let row = Reflect::get(&data, &"row".into()).ok().and_then(|r| r.dyn_into::<Float32Array>().ok());
            if row.is_some() {
                let _ = Reflect::delete_property(data.unchecked_ref::<Object>(), &"row".into());
            }
            let reply = serde_wasm_bindgen::from_value::<Reply>(data).unwrap_or_else(|e| Reply::Failed {
                job: None,
                message: format!("internal error: unreadable message from the worker: {e}"),
            });
            if let Some(row) = row {
                let on_row = this.borrow().on_row.clone();
                if let Some(cb) = on_row {
                    cb.emit((reply, row));
                }
                return;
            }
            if matches!(reply, Reply::Ready { .. }) {
                EngineClient::flush(&this);
            }
            this.borrow_mut().observe(&reply);
            let cb = this.borrow().on_reply.clone();
            cb.emit(reply);
        });
        let weak: Weak<RefCell<EngineClient>> = Rc::downgrade(this);
        let on_error = Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| {
            let Some(this) = weak.upgrade() else { return };
            let why = e.dyn_ref::<ErrorEvent>().map(|e| e.message()).unwrap_or_else(|| "unknown error".into());
            EngineClient::fail(&this, format!("the model worker stopped: {why}"));
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        let mut me = this.borrow_mut();
        me.worker = Some(worker);
        me.ready = false;
        me._handlers = vec![on_message, on_error];
    }

    /// Keeps the pace of the running job, and forgets a cancel once its job has ended.
    fn observe(&mut self, reply: &Reply) {
        let ended = match reply {
            Reply::Progress { job, .. } => {
                let now = js_sys::Date::now();
                self.pace = Some(match self.pace {
                    Some((j, last, gap)) if j == *job => (j, now, gap.max(now - last)),
                    _ => (*job, now, 0.0),
                });
                None
            }
            Reply::Scores { job, .. }
            | Reply::ScoresCancelled { job, .. }
            | Reply::ScoresPart { job, .. }
            | Reply::CosLow { job, .. }
            | Reply::GradsSent { job, .. }
            | Reply::Cancelled { job } => Some(*job),
            Reply::Failed { job: Some(job), .. } => Some(*job),
            _ => None,
        };
        // A cancel of job c is answered once c, or a later job, has ended.
        if let (Some(c), Some(e)) = (self.cancelling, ended) {
            if c <= e {
                self.cancelling = None;
            }
        }
    }

    /// How long a cancel of `job` may take: a few seconds, or longer when the job's own
    /// items take longer (a decode step of a large model on the CPU can take seconds), within a minute.
    fn cancel_grace_ms(&self, job: u32) -> f64 {
        let gap = self.pace.filter(|p| p.0 == job).map_or(0.0, |p| p.2);
        (1.5 * gap).clamp(CANCEL_GRACE_MS, 60_000.0)
    }

    fn flush(this: &Client) {
        let (worker, queue) = {
            let mut me = this.borrow_mut();
            me.ready = true;
            (me.worker.clone(), std::mem::take(&mut me.queue))
        };
        if let Some(w) = worker {
            for (m, transfer) in queue {
                if let Err(e) = post(&w, &m, transfer.as_ref()) {
                    EngineClient::fail(this, format!("could not send a request to the model worker: {e:?}"));
                }
            }
        }
    }

    fn send(this: &Client, request: &Request, blobs: &[Blob]) {
        EngineClient::send_with(this, request, blobs, None);
    }

    fn send_with(this: &Client, request: &Request, blobs: &[Blob], row: Option<&Float32Array>) {
        let msg = match envelope(request, blobs, row) {
            Ok(m) => m,
            Err(e) => return EngineClient::fail(this, e.to_string()),
        };
        let worker = {
            let me = this.borrow();
            me.worker.clone().filter(|_| me.ready)
        };
        let transfer = row.map(|r| Array::of1(&r.buffer()));
        match worker {
            Some(w) => {
                if let Err(e) = post(&w, &msg, transfer.as_ref()) {
                    EngineClient::fail(this, format!("could not send a request to the model worker: {e:?}"));
                }
            }
            None => this.borrow_mut().queue.push((msg, transfer)),
        }
    }

    /// Loads a model from its files (`files` says what `blobs` are); they are kept so a
    /// restarted worker can load it again.
    pub fn load(this: &Client, name: String, files: ModelFiles, blobs: Vec<Blob>) {
        this.borrow_mut().model = Some((name.clone(), files.clone(), blobs.clone()));
        let backend = this.borrow().backend;
        EngineClient::send(this, &Request::Load { name, backend, files }, &blobs);
    }

    /// The backend for the next load. Returns whether a model is loaded (or loading), which
    /// the caller reloads on the new backend.
    pub fn set_backend(this: &Client, backend: BackendChoice) -> bool {
        let mut me = this.borrow_mut();
        me.backend = backend;
        me.model.is_some()
    }

    /// A fresh job number; replies carrying an older one are ignored by the page.
    pub fn job(this: &Client) -> u32 {
        let mut me = this.borrow_mut();
        me.next_job += 1;
        me.next_job
    }

    pub fn request(this: &Client, request: &Request) {
        EngineClient::send(this, request, &[]);
    }

    /// Sends a request with a gradient row beside it (`Request::GradRow`), handing the row's
    /// memory to the worker.
    pub fn request_with_row(this: &Client, request: &Request, row: &Float32Array) {
        EngineClient::send_with(this, request, &[], Some(row));
    }

    /// Replies that carry a gradient row (`Reply::GradRow`) go to `on_row` with it.
    pub fn on_rows(this: &Client, on_row: Callback<(Reply, Float32Array)>) {
        this.borrow_mut().on_row = Some(on_row);
    }

    /// Asks the worker to stop `job` before its next item, keeping its model. When it has
    /// not answered within the grace time, `on_timeout` runs (the caller restarts the worker).
    pub fn cancel(this: &Client, job: u32, on_timeout: impl FnOnce() + 'static) {
        let grace = {
            let mut me = this.borrow_mut();
            me.cancelling = Some(job);
            me.cancel_grace_ms(job)
        };
        EngineClient::send(this, &Request::Cancel { job }, &[]);
        let weak = Rc::downgrade(this);
        wasm_bindgen_futures::spawn_local(async move {
            gloo_timers::future::TimeoutFuture::new(grace as u32).await;
            let Some(this) = weak.upgrade() else { return };
            let unanswered = this.borrow_mut().cancelling.take_if(|j| *j == job).is_some();
            if unanswered {
                on_timeout();
            }
        });
    }

    /// Stops the worker for good (its late messages are dropped with it).
    pub fn terminate(this: &Client) {
        let mut me = this.borrow_mut();
        if let Some(w) = me.worker.take() {
            w.terminate();
        }
        me.queue.clear();
        me.cancelling = None;
        me.model = None;
    }

    /// Stops whatever the worker is doing and starts a fresh one with the same model.
    /// Returns whether a model is being loaded again.
    pub fn restart(this: &Client) -> bool {
        if let Some(w) = this.borrow_mut().worker.take() {
            w.terminate();
        }
        {
            let mut me = this.borrow_mut();
            me.queue.clear();
            me.cancelling = None;
            me.pace = None;
        }
        EngineClient::spawn(this);
        let model = this.borrow().model.clone();
        match model {
            Some((name, files, blobs)) => {
                let backend = this.borrow().backend;
                EngineClient::send(this, &Request::Load { name, backend, files }, &blobs);
                true
            }
            None => false,
        }
    }
}
