//! The page's model workers: the main one, which runs every job, and, when the model computes
//! on the CPU, helpers that load the same model and each take a share of a scoring run
//! (`split`) or of a CoS-Low run's gradients (`grads`: the main worker keeps every row and
//! computes the Gram). WebAssembly runs one thread per worker, so two workers on two cores
//! compute about twice as much at once.
//!
//! The page talks to the pool as it would to one worker: the same requests, the same replies.
//! Helpers are started after the main worker has loaded the model on the CPU, and as many as
//! the cores and the memory allow (`helpers::helper_count`); `?workers=N` in the page's address sets the
//! number of workers (1 turns the pool off), for measuring.

mod grads;
mod helpers;
pub mod split;

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use labelcast_protocol::{BackendChoice, BackendInfo, BackendKind, ModelFiles, Part, Reply, Request};
use web_sys::Blob;
use yew::Callback;

use crate::browser::engine_client::{Client, EngineClient};
use helpers::{helper_count, Helper};
use split::{with_part, Next, SplitRun};

pub struct EnginePool {
    main: Client,
    helpers: Vec<Helper>,
    on_reply: Callback<Reply>,
    model: Option<(String, ModelFiles, Vec<Blob>)>,
    /// The main worker's latest backend report, sent again with the worker count.
    backend: Option<BackendInfo>,
    /// The main worker loaded a model and its memory report, which sizes the helpers, is next.
    sizing: bool,
    /// The main worker's latest memory report, sent again with the helpers' beside it.
    memory: Option<f64>,
    /// Replies from helpers of an older generation (an earlier model) are dropped.
    generation: u32,
    split: Option<Split>,
    grads: Option<grads::GradSplit>,
}

/// A scoring run split between workers: the run, the request each part is sent as, and which
/// worker each of the run's worker slots is (None: the main one; Some(i): helper i).
struct Split {
    run: SplitRun,
    request: Request,
    members: Vec<Option<usize>>,
}

impl Split {
    /// The run's worker slot of helper `i`, if it has one.
    fn slot(&self, helper: usize) -> Option<usize> {
        self.members.iter().position(|m| *m == Some(helper))
    }
}

pub type Pool = Rc<RefCell<EnginePool>>;

/// What the pool does once its borrow is released (a reply may start new requests).
enum Effect {
    Emit(Reply),
    Send(Option<usize>, Request),
    SpawnHelpers(usize),
    /// Cancel a job on helper `i`; one that does not answer in time is stopped.
    Cancel(usize, u32),
}

impl EnginePool {
    pub fn new(on_reply: Callback<Reply>) -> Pool {
        let pool = Rc::new_cyclic(|weak: &Weak<RefCell<EnginePool>>| {
            let weak = weak.clone();
            // Started below, once the pool exists: a worker that fails to start says so at once.
            let main = EngineClient::unstarted(Callback::from(move |r| {
                if let Some(pool) = weak.upgrade() {
                    EnginePool::on_main(&pool, r);
                }
            }));
            RefCell::new(EnginePool {
                main,
                helpers: Vec::new(),
                on_reply,
                model: None,
                backend: None,
                sizing: false,
                memory: None,
                generation: 0,
                split: None,
                grads: None,
            })
        });
        let main = pool.borrow().main.clone();
        EngineClient::start(&main);
        pool
    }

    pub fn load(this: &Pool, name: String, files: ModelFiles, blobs: Vec<Blob>) {
        EnginePool::stop_helpers(this);
        let main = {
            let mut me = this.borrow_mut();
            me.model = Some((name.clone(), files.clone(), blobs.clone()));
            me.main.clone()
        };
        EngineClient::load(&main, name, files, blobs);
    }

    pub fn set_backend(this: &Pool, backend: BackendChoice) -> bool {
        let main = this.borrow().main.clone();
        EngineClient::set_backend(&main, backend)
    }

    pub fn job(this: &Pool) -> u32 {
        let main = this.borrow().main.clone();
        EngineClient::job(&main)
    }

    /// Sends a request; a scoring run is split between the helpers (those still loading the
    /// model get their part once they have) and the main worker, a CoS-Low run between the
    /// main worker and the helpers that have loaded it.
    pub fn request(this: &Pool, request: &Request) {
        let (alive, ready): (Vec<usize>, Vec<usize>) = {
            let me = this.borrow();
            let alive = (0..me.helpers.len()).filter(|&i| me.helpers[i].alive);
            (alive.clone().collect(), alive.filter(|&i| me.helpers[i].ready).collect())
        };
        if let Request::CosLow { job, share: None, .. } = request {
            if !ready.is_empty() {
                return EnginePool::split_coslow(this, *job, request, ready);
            }
        }
        let (job, len) = match request {
            Request::Score { job, prompts, part: None, .. } if !alive.is_empty() => (*job, prompts.len()),
            _ => {
                let main = this.borrow().main.clone();
                return EngineClient::request(&main, request);
            }
        };
        let members: Vec<Option<usize>> = std::iter::once(None).chain(alive.into_iter().map(Some)).collect();
        let effects: Vec<Effect> = (0..members.len())
            .map(|w| Effect::Send(members[w], with_part(request, Part { index: w, count: members.len() })))
            .collect();
        this.borrow_mut().split =
            Some(Split { run: SplitRun::new(job, len, members.len()), request: request.clone(), members });
        EnginePool::apply(this, effects);
    }

    /// Cancels `job` on every worker running a part of it. The main worker's missed answer
    /// runs `on_timeout` (the page restarts everything); a helper's stops that helper.
    pub fn cancel(this: &Pool, job: u32, on_timeout: impl FnOnce() + 'static) {
        let (main, effects) = {
            let mut me = this.borrow_mut();
            let mut effects = Vec::new();
            if let Some(split) = me.split.as_mut().filter(|s| s.run.job == job) {
                effects.extend(split.members.iter().flatten().map(|&i| Effect::Cancel(i, job)));
                let next = split.run.cancel();
                effects.extend(me.follow(next));
            }
            effects.extend(me.cancel_grads(job));
            (me.main.clone(), effects)
        };
        EngineClient::cancel(&main, job, on_timeout);
        EnginePool::apply(this, effects);
    }

    /// Stops every worker and starts the main one again with the same model; helpers follow
    /// once it has loaded. Returns whether a model is being loaded again.
    pub fn restart(this: &Pool) -> bool {
        EnginePool::stop_helpers(this);
        let main = this.borrow().main.clone();
        EngineClient::restart(&main)
    }

    fn on_main(this: &Pool, reply: Reply) {
        let effects = {
            let mut me = this.borrow_mut();
            me.main_reply(reply)
        };
        EnginePool::apply(this, effects);
    }

    fn main_reply(&mut self, reply: Reply) -> Vec<Effect> {
        match reply {
            Reply::Backend { backend } => {
                self.backend = Some(backend);
                self.backend_reply().map(Effect::Emit).into_iter().collect()
            }
            Reply::Loaded { .. } => {
                self.sizing = self.backend.as_ref().is_some_and(|b| b.backend == BackendKind::Cpu);
                vec![Effect::Emit(reply)]
            }
            Reply::Memory { bytes, .. } => {
                self.memory = Some(bytes);
                let mut effects: Vec<Effect> = self.memory_reply().map(Effect::Emit).into_iter().collect();
                if std::mem::take(&mut self.sizing) {
                    let n = helper_count(bytes);
                    if n > 0 {
                        effects.push(Effect::SpawnHelpers(n));
                    }
                }
                effects
            }
            Reply::Progress { job, done, total, .. } if self.splits(job) => {
                let split = self.split.as_mut().expect("a split run");
                split.run.progress(0, done, total).map(Effect::Emit).into_iter().collect()
            }
            Reply::ScoresPart { job, rows, .. } if self.splits(job) => {
                let split = self.split.as_mut().expect("a split run");
                let next = split.run.finished(0, rows);
                self.follow(next)
            }
            // The main worker's failure is the run's: the helpers stop, and the page hears it.
            Reply::Failed { job, .. } if job.is_none_or(|j| self.splits(j)) && self.split.is_some() => {
                let split = self.split.take().expect("a split run");
                let mut effects: Vec<Effect> =
                    split.members.iter().flatten().map(|&i| Effect::Cancel(i, split.run.job)).collect();
                effects.push(Effect::Emit(reply));
                effects
            }
            Reply::CosLow { job, .. } | Reply::Cancelled { job } | Reply::Failed { job: Some(job), .. }
                if self.grads_job(job) =>
            {
                let mut effects = self.grads_ended();
                effects.push(Effect::Emit(reply));
                effects
            }
            Reply::ScoresPart { .. } => Vec::new(),
            reply => vec![Effect::Emit(reply)],
        }
    }

    fn splits(&self, job: u32) -> bool {
        self.split.as_ref().is_some_and(|s| s.run.job == job)
    }

    /// The effects of a split run's next step; its end removes the split.
    fn follow(&mut self, next: Next) -> Vec<Effect> {
        let Some(split) = self.split.as_ref() else { return Vec::new() };
        let done = matches!(next, Next::Done(_));
        let effects = next_effects(next, split);
        if done {
            self.split = None;
        }
        effects
    }

    /// The main worker's memory with the live helpers' beside it.
    fn memory_reply(&self) -> Option<Reply> {
        let helpers = self.helpers.iter().filter(|h| h.alive).map(|h| h.memory).sum();
        Some(Reply::Memory { bytes: self.memory?, helpers })
    }

    /// The main worker's backend with the number of workers that score now.
    fn backend_reply(&self) -> Option<Reply> {
        let mut backend = self.backend.clone()?;
        backend.workers = 1 + self.helpers.iter().filter(|h| h.ready && h.alive).count() as u32;
        Some(Reply::Backend { backend })
    }

    fn apply(this: &Pool, effects: Vec<Effect>) {
        for effect in effects {
            match effect {
                Effect::Emit(reply) => {
                    let cb = this.borrow().on_reply.clone();
                    cb.emit(reply);
                }
                Effect::Send(Some(i), request) if this.borrow().helpers.get(i).is_some_and(|h| !h.ready) => {
                    this.borrow_mut().helpers[i].waiting.push(request);
                }
                Effect::Send(worker, request) => {
                    if let Some(c) = EnginePool::client(this, worker) {
                        EngineClient::request(&c, &request);
                    }
                }
                Effect::Cancel(helper, job) => {
                    if let Some(c) = EnginePool::client(this, Some(helper)) {
                        let (weak, generation) = (Rc::downgrade(this), this.borrow().generation);
                        EngineClient::cancel(&c, job, move || {
                            if let Some(pool) = weak.upgrade() {
                                EnginePool::helper_lost(&pool, helper, generation, None);
                            }
                        });
                    }
                }
                Effect::SpawnHelpers(n) => EnginePool::spawn_helpers(this, n),
            }
        }
    }

    fn client(this: &Pool, worker: Option<usize>) -> Option<Client> {
        let me = this.borrow();
        match worker {
            None => Some(me.main.clone()),
            Some(i) => me.helpers.get(i).filter(|h| h.alive).map(|h| h.client.clone()),
        }
    }
}

/// The requests a split run's next step sends, or the reply that ends it.
fn next_effects(next: Next, split: &Split) -> Vec<Effect> {
    match next {
        Next::Wait => Vec::new(),
        Next::Send { worker, part } => vec![Effect::Send(split.members[worker], with_part(&split.request, part))],
        Next::Done(reply) => vec![Effect::Emit(reply)],
    }
}
