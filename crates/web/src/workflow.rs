//! What the model work is doing: the model's status, the scoring job, the CoS-Low job, and
//! the scoring of labeled rows outside the scored sample (for their training difficulty).
//! A pure reducer over the worker's replies and the page's actions, so every transition
//! (including stale replies of a cancelled job) is tested natively.

use std::rc::Rc;

use labelcast_protocol::{BackendInfo, CosLowOut, ModelInfo, Reply, ScoreRow};
use serde::{Deserialize, Serialize};

/// Labels typed on the page, by pool row index.
pub type Labels = std::collections::BTreeMap<usize, String>;

#[derive(Clone, Debug, PartialEq)]
pub enum ModelStatus {
    None,
    Downloading { name: String, read: f64, total: Option<f64> },
    Loading { name: String, stage: String },
    Ready { model: ModelInfo, seconds: f64 },
    Failed { message: String },
}

impl ModelStatus {
    pub fn ready(&self) -> bool {
        matches!(self, ModelStatus::Ready { .. })
    }
    pub fn busy(&self) -> bool {
        matches!(self, ModelStatus::Downloading { .. } | ModelStatus::Loading { .. })
    }
}

/// A job in flight. `rows` are the pool rows it works on, in the order sent.
#[derive(Clone, Debug, PartialEq)]
pub struct Running {
    pub job: u32,
    pub done: usize,
    pub total: usize,
    pub started_ms: f64,
    pub rows: Rc<Vec<usize>>,
    /// A cancel was sent; the worker stops the job at its next item.
    pub stopping: bool,
}

impl Running {
    pub fn elapsed_s(&self, now_ms: f64) -> f64 {
        ((now_ms - self.started_ms) / 1000.0).max(0.0)
    }

    /// Seconds left at the pace so far; None before the first item is done.
    pub fn remaining_s(&self, now_ms: f64) -> Option<f64> {
        (self.done > 0 && self.total >= self.done)
            .then(|| self.elapsed_s(now_ms) / self.done as f64 * (self.total - self.done) as f64)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Job<T> {
    Idle,
    Running(Running),
    Done(Rc<T>),
    Failed(String),
    Cancelled,
}

impl<T> Job<T> {
    pub fn running(&self) -> Option<&Running> {
        match self {
            Job::Running(r) => Some(r),
            _ => None,
        }
    }
    pub fn running_mut(&mut self) -> Option<&mut Running> {
        match self {
            Job::Running(r) => Some(r),
            _ => None,
        }
    }
    pub fn done(&self) -> Option<&Rc<T>> {
        match self {
            Job::Done(d) => Some(d),
            _ => None,
        }
    }
}

/// Scores of some pool rows (all of them, or a seeded sample).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scored {
    pub rows: Vec<usize>,
    pub scores: Vec<ScoreRow>,
    pub seconds: f64,
    /// Some(rows asked for) when the job was cancelled: `rows` are those it finished.
    #[serde(default)]
    pub cancelled_of: Option<usize>,
}

/// CoS-Low of labeled pool rows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Measured {
    pub rows: Vec<usize>,
    pub result: CosLowOut,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Work {
    pub backend: Option<BackendInfo>,
    pub model: ModelStatus,
    pub scoring: Job<Scored>,
    pub coslow: Job<Measured>,
    /// Scoring labeled rows that `scoring` left out (a sample): `Done` holds that run's rows.
    pub extra: Job<Scored>,
    /// Every labeled row scored that way so far. Kept apart from `scoring`, whose rows alone
    /// decide the 32 rows to annotate (METHOD.md 1c) and the histogram.
    pub extra_scores: Option<Rc<Scored>>,
    /// A worker failure that belongs to no job.
    pub worker_error: Option<String>,
    /// The worker's WebAssembly memory (its peak so far), when reported.
    pub worker_memory: Option<f64>,
    /// The pool's helper workers' memory together (0 without helpers).
    pub helper_memory: f64,
}

impl Default for Work {
    fn default() -> Self {
        Work {
            backend: None,
            model: ModelStatus::None,
            scoring: Job::Idle,
            coslow: Job::Idle,
            extra: Job::Idle,
            extra_scores: None,
            worker_error: None,
            worker_memory: None,
            helper_memory: 0.0,
        }
    }
}

#[derive(Clone, Debug)]
pub enum Action {
    Reply {
        reply: Reply,
        now: f64,
    },
    Download {
        name: String,
        read: f64,
        total: Option<f64>,
    },
    DownloadFailed(String),
    Loading {
        name: String,
        stage: String,
    },
    StartScoring {
        job: u32,
        rows: Rc<Vec<usize>>,
        now: f64,
    },
    StartCosLow {
        job: u32,
        rows: Rc<Vec<usize>>,
        now: f64,
    },
    /// Scoring labeled rows outside the scored sample.
    StartExtra {
        job: u32,
        rows: Rc<Vec<usize>>,
        now: f64,
    },
    /// A cancel was sent for `job`; the worker answers `Reply::Cancelled` and keeps the model.
    Cancelling {
        job: u32,
    },
    /// The worker was terminated (it did not answer a cancel, or the backend changed):
    /// running jobs are cancelled; `reloading` names the model loaded again in the fresh worker.
    Cancelled {
        reloading: Option<String>,
    },
    /// The pool changed: its scores and CoS-Low no longer apply.
    ResetData,
    ResetCosLow,
    Restore {
        scoring: Option<Scored>,
        coslow: Option<Measured>,
        extra: Option<Scored>,
    },
}

fn start<T>(job: u32, rows: Rc<Vec<usize>>, now: f64) -> Job<T> {
    Job::Running(Running { job, done: 0, total: rows.len(), started_ms: now, rows, stopping: false })
}

/// `base` with `more` added; a row in both takes its newer score.
pub fn merge(base: Option<&Scored>, more: Scored) -> Scored {
    let Some(base) = base else { return more };
    let newer: std::collections::HashSet<usize> = more.rows.iter().copied().collect();
    let mut out =
        Scored { rows: Vec::new(), scores: Vec::new(), seconds: base.seconds + more.seconds, cancelled_of: None };
    for (r, s) in base.rows.iter().zip(&base.scores).filter(|(r, _)| !newer.contains(r)) {
        out.rows.push(*r);
        out.scores.push(s.clone());
    }
    out.rows.extend(more.rows);
    out.scores.extend(more.scores);
    out
}

impl Work {
    pub fn reduce(mut self, action: Action) -> Work {
        match action {
            Action::Reply { reply, now } => self.reply(reply, now),
            Action::Download { name, read, total } => {
                self.model = ModelStatus::Downloading { name, read, total };
            }
            Action::DownloadFailed(message) => self.model = ModelStatus::Failed { message },
            Action::Loading { name, stage } => self.model = ModelStatus::Loading { name, stage },
            Action::StartScoring { job, rows, now } => {
                // A new sample (maybe with another prompt format): earlier extra scores may
                // not match it.
                self.extra = Job::Idle;
                self.extra_scores = None;
                self.scoring = start(job, rows, now);
            }
            Action::StartCosLow { job, rows, now } => self.coslow = start(job, rows, now),
            Action::StartExtra { job, rows, now } => self.extra = start(job, rows, now),
            Action::Cancelling { job } => {
                for r in self.jobs_mut().into_iter().flatten().filter(|r| r.job == job) {
                    r.stopping = true;
                }
            }
            Action::Cancelled { reloading } => {
                if self.scoring.running().is_some() {
                    self.scoring = Job::Cancelled;
                }
                if self.coslow.running().is_some() {
                    self.coslow = Job::Cancelled;
                }
                if self.extra.running().is_some() {
                    self.extra = Job::Cancelled;
                }
                if let Some(name) = reloading {
                    self.model = ModelStatus::Loading { name, stage: "starting a fresh worker".into() };
                }
            }
            Action::ResetData => {
                self.scoring = Job::Idle;
                self.coslow = Job::Idle;
                self.extra = Job::Idle;
                self.extra_scores = None;
            }
            Action::ResetCosLow => self.coslow = Job::Idle,
            Action::Restore { scoring, coslow, extra } => {
                self.extra_scores = extra.map(Rc::new);
                if let Some(s) = scoring {
                    self.scoring = Job::Done(Rc::new(s));
                }
                if let Some(c) = coslow {
                    self.coslow = Job::Done(Rc::new(c));
                }
            }
        }
        self
    }

    fn jobs_mut(&mut self) -> [Option<&mut Running>; 3] {
        [self.scoring.running_mut(), self.coslow.running_mut(), self.extra.running_mut()]
    }

    /// The job number of the job running, if any (one runs at a time).
    pub fn running_job(&self) -> Option<u32> {
        [self.scoring.running(), self.coslow.running(), self.extra.running()].into_iter().flatten().map(|r| r.job).max()
    }

    fn model_name(&self) -> String {
        match &self.model {
            ModelStatus::Downloading { name, .. } | ModelStatus::Loading { name, .. } => name.clone(),
            ModelStatus::Ready { model, .. } => model.file.clone(),
            _ => "the model".into(),
        }
    }

    fn reply(&mut self, reply: Reply, now: f64) {
        match reply {
            Reply::Ready { backend } => {
                self.backend = Some(backend);
                // A fresh worker starts with a fresh memory.
                self.worker_memory = None;
            }
            Reply::Memory { bytes, helpers } => {
                self.worker_memory = Some(bytes);
                self.helper_memory = helpers;
            }
            Reply::Backend { backend } => self.backend = Some(backend),
            Reply::Loading { stage } => self.model = ModelStatus::Loading { name: self.model_name(), stage },
            Reply::Loaded { model, seconds } => self.model = ModelStatus::Ready { model, seconds },
            Reply::Progress { job, done, total, .. } => {
                for r in self.jobs_mut().into_iter().flatten().filter(|r| r.job == job) {
                    r.done = done;
                    r.total = total;
                }
            }
            // The pool merges the parts of a split run into `Scores` or `CosLow`; none reaches the page.
            Reply::ScoresPart { .. } | Reply::GradRow { .. } | Reply::GradsSent { .. } => {}
            Reply::Scores { job, rows } => {
                if let Job::Running(r) = &self.scoring {
                    if r.job == job {
                        self.scoring = Job::Done(Rc::new(Scored {
                            rows: r.rows.to_vec(),
                            scores: rows,
                            seconds: r.elapsed_s(now),
                            cancelled_of: None,
                        }));
                    }
                } else if let Job::Running(r) = &self.extra {
                    if r.job == job {
                        let new = Scored {
                            rows: r.rows.to_vec(),
                            scores: rows,
                            seconds: r.elapsed_s(now),
                            cancelled_of: None,
                        };
                        self.extra_scores = Some(Rc::new(merge(self.extra_scores.as_deref(), new.clone())));
                        self.extra = Job::Done(Rc::new(new));
                    }
                }
            }
            Reply::ScoresCancelled { job, rows } => {
                // What was finished before Cancel is kept, as if that many rows had been asked for.
                let kept = |r: &Running| {
                    let (rows, scores): (Vec<usize>, Vec<ScoreRow>) =
                        r.rows.iter().zip(rows.clone()).filter_map(|(&i, s)| Some((i, s?))).unzip();
                    let seconds = r.elapsed_s(now);
                    (!rows.is_empty()).then(|| Scored { rows, scores, seconds, cancelled_of: Some(r.rows.len()) })
                };
                if let Some(r) = self.scoring.running().filter(|r| r.job == job) {
                    self.scoring = kept(r).map_or(Job::Cancelled, |s| Job::Done(Rc::new(s)));
                } else if let Some(r) = self.extra.running().filter(|r| r.job == job) {
                    let new = kept(r);
                    if let Some(new) = &new {
                        self.extra_scores = Some(Rc::new(merge(self.extra_scores.as_deref(), new.clone())));
                    }
                    self.extra = new.map_or(Job::Cancelled, |s| Job::Done(Rc::new(s)));
                }
            }
            Reply::Cancelled { job } => {
                if self.scoring.running().is_some_and(|r| r.job == job) {
                    self.scoring = Job::Cancelled;
                }
                if self.coslow.running().is_some_and(|r| r.job == job) {
                    self.coslow = Job::Cancelled;
                }
                if self.extra.running().is_some_and(|r| r.job == job) {
                    self.extra = Job::Cancelled;
                }
            }
            Reply::CosLow { job, result } => {
                if let Job::Running(r) = &self.coslow {
                    if r.job == job {
                        self.coslow = Job::Done(Rc::new(Measured { rows: r.rows.to_vec(), result }));
                    }
                }
            }
            Reply::Failed { job: Some(job), message } => {
                if self.scoring.running().is_some_and(|r| r.job == job) {
                    self.scoring = Job::Failed(message);
                } else if self.coslow.running().is_some_and(|r| r.job == job) {
                    self.coslow = Job::Failed(message);
                } else if self.extra.running().is_some_and(|r| r.job == job) {
                    self.extra = Job::Failed(message);
                }
            }
            Reply::Failed { job: None, message } => {
                if self.model.busy() {
                    self.model = ModelStatus::Failed { message };
                } else if self.scoring.running().is_some() {
                    self.scoring = Job::Failed(message);
                } else if self.coslow.running().is_some() {
                    self.coslow = Job::Failed(message);
                } else if self.extra.running().is_some() {
                    self.extra = Job::Failed(message);
                } else {
                    self.worker_error = Some(message);
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "workflow_tests.rs"]
mod tests;
