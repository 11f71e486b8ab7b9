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
mod tests {
    use super::*;
    use labelcast_protocol::{Scores, Stage};

    fn rows(n: usize) -> Rc<Vec<usize>> {
        Rc::new((0..n).collect())
    }

    fn reply(w: Work, reply: Reply, now: f64) -> Work {
        w.reduce(Action::Reply { reply, now })
    }

    #[test]
    fn scoring_progress_and_result() {
        let w = Work::default().reduce(Action::StartScoring { job: 3, rows: rows(4), now: 1000.0 });
        let w = reply(w, Reply::Progress { job: 3, stage: Stage::Scoring, done: 2, total: 4 }, 3000.0);
        let r = w.scoring.running().expect("running").clone();
        assert_eq!((r.done, r.total), (2, 4));
        assert_eq!(r.remaining_s(3000.0), Some(2.0));
        let w = reply(w, Reply::Scores { job: 3, rows: vec![ScoreRow::default(); 4] }, 5000.0);
        let done = w.scoring.done().expect("done");
        assert_eq!(done.rows, vec![0, 1, 2, 3]);
        assert_eq!(done.seconds, 4.0);
    }

    #[test]
    fn replies_of_an_older_job_are_ignored() {
        let w = Work::default().reduce(Action::StartScoring { job: 5, rows: rows(2), now: 0.0 });
        let w = reply(w, Reply::Scores { job: 4, rows: vec![] }, 1.0);
        assert!(w.scoring.running().is_some());
        let w = reply(w, Reply::Failed { job: Some(4), message: "old".into() }, 1.0);
        assert!(w.scoring.running().is_some());
    }

    #[test]
    fn cancel_marks_running_jobs_and_reloads_the_model() {
        let w = Work::default().reduce(Action::StartCosLow { job: 1, rows: rows(32), now: 0.0 });
        let w = w.reduce(Action::Cancelled { reloading: Some("m.gguf".into()) });
        assert_eq!(w.coslow, Job::Cancelled);
        assert!(matches!(w.model, ModelStatus::Loading { ref name, .. } if name == "m.gguf"));
        let w = reply(w, Reply::Failed { job: None, message: "not a GGUF".into() }, 0.0);
        assert!(matches!(w.model, ModelStatus::Failed { .. }));
    }

    #[test]
    fn a_cancel_answered_by_the_worker_keeps_the_model() {
        let model = ModelInfo {
            file: "m.gguf".into(),
            name: None,
            arch: "llama".into(),
            layers: 1,
            hidden: 8,
            vocab: 16,
            context: 64,
            bytes: 1.0,
            sha256: None,
        };
        let w = Work { model: ModelStatus::Ready { model, seconds: 1.0 }, ..Work::default() };
        let w = w.reduce(Action::StartScoring { job: 4, rows: rows(8), now: 0.0 });
        assert_eq!(w.running_job(), Some(4));
        let w = w.reduce(Action::Cancelling { job: 4 });
        assert!(w.scoring.running().expect("still running until the worker answers").stopping);
        let w = reply(w, Reply::Cancelled { job: 3 }, 1.0);
        assert!(w.scoring.running().is_some(), "an older job's answer changes nothing");
        let w = reply(w, Reply::Cancelled { job: 4 }, 1.0);
        assert_eq!(w.scoring, Job::Cancelled);
        assert!(w.model.ready(), "the model stays loaded");
        assert_eq!(w.running_job(), None);

        // A cancelled scoring job keeps the rows it finished; none finished is a plain cancel.
        let w = w.reduce(Action::StartScoring { job: 5, rows: Rc::new(vec![10, 11, 12]), now: 0.0 });
        let done = ScoreRow { stats: Scores { avg_confidence: Some(0.5), ..Scores::default() }, ..ScoreRow::default() };
        let w = reply(w, Reply::ScoresCancelled { job: 5, rows: vec![None, Some(done.clone()), None] }, 2000.0);
        let Job::Done(kept) = &w.scoring else { panic!("{:?}", w.scoring) };
        assert_eq!((kept.rows.clone(), kept.scores.clone(), kept.cancelled_of), (vec![11], vec![done], Some(3)));
        let w = w.reduce(Action::StartScoring { job: 6, rows: Rc::new(vec![10]), now: 0.0 });
        let w = reply(w, Reply::ScoresCancelled { job: 6, rows: vec![None] }, 1.0);
        assert_eq!(w.scoring, Job::Cancelled);
    }

    #[test]
    fn extra_scores_merge_and_leave_the_sample_alone() {
        let sample =
            Scored { rows: vec![0, 2], scores: vec![ScoreRow::default(); 2], seconds: 2.0, cancelled_of: None };
        let w = Work::default().reduce(Action::Restore { scoring: Some(sample.clone()), coslow: None, extra: None });
        let w = w.reduce(Action::StartExtra { job: 7, rows: Rc::new(vec![5, 9]), now: 0.0 });
        assert_eq!(w.scoring.done().map(|s| s.rows.clone()), Some(vec![0, 2]), "the sample stays usable");
        let conf =
            |c| ScoreRow { stats: Scores { avg_confidence: Some(c), ..Scores::default() }, ..ScoreRow::default() };
        let w = reply(w, Reply::Scores { job: 7, rows: vec![conf(0.1), conf(0.2)] }, 3000.0);
        let w = w.reduce(Action::StartExtra { job: 8, rows: Rc::new(vec![9, 11]), now: 0.0 });
        let w = reply(w, Reply::Scores { job: 8, rows: vec![conf(0.5), conf(0.6)] }, 1000.0);
        let extra = w.extra_scores.clone().expect("extra scores");
        assert_eq!(extra.rows, vec![5, 9, 11]);
        let got: Vec<_> = extra.scores.iter().map(|s| s.stats.avg_confidence).collect();
        assert_eq!(got, vec![Some(0.1), Some(0.5), Some(0.6)], "row 9 takes its newer score");
        assert_eq!(*w.scoring.done().expect("sample"), Rc::new(sample));
        // A new sample starts over.
        let w = w.reduce(Action::StartScoring { job: 9, rows: rows(3), now: 0.0 });
        assert!(w.extra_scores.is_none());
    }

    #[test]
    fn a_worker_failure_goes_to_the_running_job() {
        let w = Work::default().reduce(Action::StartScoring { job: 1, rows: rows(2), now: 0.0 });
        let w = reply(w, Reply::Failed { job: None, message: "trap".into() }, 0.0);
        assert_eq!(w.scoring, Job::Failed("trap".into()));
        let w = reply(w, Reply::Failed { job: None, message: "later".into() }, 0.0);
        assert_eq!(w.worker_error.as_deref(), Some("later"));
    }
}
