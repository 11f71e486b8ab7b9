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
    let sample = Scored { rows: vec![0, 2], scores: vec![ScoreRow::default(); 2], seconds: 2.0, cancelled_of: None };
    let w = Work::default().reduce(Action::Restore { scoring: Some(sample.clone()), coslow: None, extra: None });
    let w = w.reduce(Action::StartExtra { job: 7, rows: Rc::new(vec![5, 9]), now: 0.0 });
    assert_eq!(w.scoring.done().map(|s| s.rows.clone()), Some(vec![0, 2]), "the sample stays usable");
    let conf = |c| ScoreRow { stats: Scores { avg_confidence: Some(c), ..Scores::default() }, ..ScoreRow::default() };
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
