//! One scoring run split between the page's CPU workers. Worker `i` of `n` runs part `i` (the
//! run's batches `i`, `i + n`, …: labelcast-core's `method::Part`), so every row is computed
//! in the same batch as a single worker computes it and the merged rows are that worker's,
//! bit for bit. The parts' replies are merged here into the replies of one run, so the rest
//! of the page never sees the split.
//!
//! A helper that fails (a crash, running out of memory) hands its part to the next worker to
//! finish its own, so the run still ends with every row; a Cancel drops the parts not started.

use labelcast_protocol::{Part, Reply, Request, ScoreRow, Stage};

/// Workers at most, whatever the cores: each holds the model.
pub const MAX_WORKERS: usize = 8;

/// How many helper workers to start beside the main one: one worker per core (leaving one core
/// to the page where there are more than two: on two, the page's thread only draws progress),
/// and only as many as a quarter of the device's memory holds besides the main worker, each
/// taking `worker_bytes` (the main worker's memory after its load). `device_gb` is Chrome's
/// `navigator.deviceMemory`, in GB and at most 8; 4 where the browser does not say.
pub fn helpers_for(cores: usize, device_gb: Option<f64>, worker_bytes: f64) -> usize {
    let workers = if cores > 2 { cores - 1 } else { cores }.clamp(1, MAX_WORKERS);
    let device_gb = device_gb.filter(|g| g.is_finite() && *g > 0.0).unwrap_or(4.0);
    let room = device_gb * 1e9 / 4.0;
    let fits = if worker_bytes > 0.0 { (room / worker_bytes).floor() as usize } else { 0 };
    (workers - 1).min(fits)
}

/// `request` (a `Score`) for one part of its run.
pub fn with_part(request: &Request, part: Part) -> Request {
    let mut r = request.clone();
    if let Request::Score { part: p, .. } = &mut r {
        *p = Some(part);
    }
    r
}

#[derive(Debug, Clone, PartialEq)]
struct PartState {
    done: usize,
    /// The part's prompt count, from its worker's first progress report.
    total: Option<usize>,
    /// Its rows once its worker answered (`None` for the other parts' rows).
    rows: Option<Vec<Option<ScoreRow>>>,
}

/// What the pool does next.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    /// Nothing until more replies come.
    Wait,
    /// Send `part` of the run to `worker` (a part whose worker failed).
    Send { worker: usize, part: Part },
    /// The run is over: this reply goes to the page.
    Done(Reply),
}

#[derive(Debug, Clone, PartialEq)]
pub struct SplitRun {
    pub job: u32,
    len: usize,
    parts: Vec<PartState>,
    /// Per worker (0 is the page's main model worker): the part it runs now, if any.
    running: Vec<Option<usize>>,
    /// Workers that failed during the run.
    dead: Vec<bool>,
    /// Parts whose worker failed, for the next worker that is free.
    orphans: Vec<usize>,
    cancelling: bool,
}

impl SplitRun {
    /// A run of `len` prompts split between `workers` workers, worker `i` running part `i`.
    pub fn new(job: u32, len: usize, workers: usize) -> SplitRun {
        assert!(workers >= 1);
        let part = PartState { done: 0, total: None, rows: None };
        SplitRun {
            job,
            len,
            parts: vec![part; workers],
            running: (0..workers).map(Some).collect(),
            dead: vec![false; workers],
            orphans: Vec::new(),
            cancelling: false,
        }
    }

    pub fn workers(&self) -> usize {
        self.running.len()
    }

    fn part(&self, index: usize) -> Part {
        Part { index, count: self.parts.len() }
    }

    /// Worker `worker`'s progress through its part, as the run's progress. Until every part
    /// has reported its size (a helper still loading the model has not) the run's total is
    /// its prompt count; then the parts' (which leave out prompts skipped as too long).
    pub fn progress(&mut self, worker: usize, done: usize, total: usize) -> Option<Reply> {
        let p = self.running.get(worker).copied().flatten()?;
        self.parts[p].done = done;
        self.parts[p].total = Some(total);
        let total = self.parts.iter().map(|p| p.total).sum::<Option<usize>>().unwrap_or(self.len);
        let done = self.parts.iter().map(|p| if p.rows.is_some() { p.total.unwrap_or(0) } else { p.done }).sum();
        Some(Reply::Progress { job: self.job, stage: Stage::Scoring, done, total })
    }

    /// Worker `worker` answered its part with `rows` (all of the run's rows, `None` outside it).
    pub fn finished(&mut self, worker: usize, rows: Vec<Option<ScoreRow>>) -> Next {
        let Some(p) = self.running.get_mut(worker).and_then(Option::take) else { return Next::Wait };
        self.parts[p].rows = Some(rows);
        self.next_for(worker)
    }

    /// Worker `worker` failed (or was stopped): its part goes to the next free worker. The
    /// main worker's failure is the run's, which the pool reports as it is.
    pub fn failed(&mut self, worker: usize) -> Next {
        let Some(slot) = self.running.get_mut(worker) else { return Next::Wait };
        self.dead[worker] = true;
        if let Some(p) = slot.take() {
            self.parts[p].done = 0;
            if !self.cancelling {
                self.orphans.push(p);
            }
        }
        match (0..self.workers()).find(|&w| !self.dead[w] && self.running[w].is_none()) {
            Some(free) => self.next_for(free),
            None => self.end(),
        }
    }

    /// Stops handing out parts; the workers' own Cancel answers end the run.
    pub fn cancel(&mut self) -> Next {
        self.cancelling = true;
        self.orphans.clear();
        self.end()
    }

    /// The free worker `worker` takes an orphaned part, or the run ends if nothing runs.
    fn next_for(&mut self, worker: usize) -> Next {
        if let Some(p) = self.orphans.pop() {
            self.running[worker] = Some(p);
            return Next::Send { worker, part: self.part(p) };
        }
        self.end()
    }

    fn end(&self) -> Next {
        if self.running.iter().any(Option::is_some) || !self.orphans.is_empty() {
            return Next::Wait;
        }
        let mut rows: Vec<Option<ScoreRow>> = vec![None; self.len];
        for part in self.parts.iter().filter_map(|p| p.rows.as_ref()) {
            for (slot, row) in rows.iter_mut().zip(part) {
                if slot.is_none() {
                    slot.clone_from(row);
                }
            }
        }
        Next::Done(if rows.iter().all(Option::is_some) {
            Reply::Scores { job: self.job, rows: rows.into_iter().flatten().collect() }
        } else {
            Reply::ScoresCancelled { job: self.job, rows }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use labelcast_protocol::Scores;

    fn row(c: f64) -> Option<ScoreRow> {
        Some(ScoreRow { stats: Scores { avg_confidence: Some(c), ..Scores::default() }, ..ScoreRow::default() })
    }

    /// Part `p` of a 6-row run: rows `p` and `p + 3`'s worth, as a worker's `ScoresPart` gives them.
    fn part_rows(own: &[usize]) -> Vec<Option<ScoreRow>> {
        (0..6).map(|r| if own.contains(&r) { row(r as f64) } else { None }).collect()
    }

    fn all_rows() -> Vec<ScoreRow> {
        (0..6).map(|r| row(r as f64).unwrap()).collect()
    }

    #[test]
    fn helpers_follow_the_cores_and_the_memory() {
        let smollm2 = 532.0 * 1024.0 * 1024.0;
        assert_eq!(helpers_for(2, Some(8.0), smollm2), 1, "both cores on a 2-core machine");
        assert_eq!(helpers_for(1, Some(8.0), smollm2), 0);
        assert_eq!(helpers_for(4, Some(8.0), smollm2), 2, "one core left to the page");
        assert_eq!(helpers_for(16, Some(8.0), smollm2), 3, "2 GB of room holds 3 copies");
        assert_eq!(helpers_for(16, None, smollm2), 1, "4 GB assumed where the browser does not say");
        assert_eq!(helpers_for(16, Some(2.0), smollm2), 0);
        assert_eq!(helpers_for(64, Some(64.0), 1e6), MAX_WORKERS - 1);
        assert_eq!(helpers_for(4, Some(f64::NAN), smollm2), 1);
        assert_eq!(helpers_for(4, Some(8.0), 0.0), 0, "no memory report, no helpers");
    }

    #[test]
    fn the_parts_merge_into_one_run_with_one_progress() {
        let mut s = SplitRun::new(7, 6, 2);
        let p = s.progress(0, 0, 4);
        assert_eq!(p, Some(Reply::Progress { job: 7, stage: Stage::Scoring, done: 0, total: 6 }), "the run's size");
        let p = s.progress(1, 0, 2);
        assert_eq!(p, Some(Reply::Progress { job: 7, stage: Stage::Scoring, done: 0, total: 6 }));
        assert!(matches!(s.progress(0, 2, 4), Some(Reply::Progress { done: 2, total: 6, .. })));
        assert_eq!(s.finished(1, part_rows(&[4, 5])), Next::Wait);
        assert!(matches!(s.progress(0, 4, 4), Some(Reply::Progress { done: 6, total: 6, .. })));
        let n = s.finished(0, part_rows(&[0, 1, 2, 3]));
        assert_eq!(n, Next::Done(Reply::Scores { job: 7, rows: all_rows() }));
    }

    #[test]
    fn a_failed_helpers_part_goes_to_the_next_free_worker() {
        let mut s = SplitRun::new(3, 6, 3);
        // Helper 2 fails while the others run: nobody is free yet.
        assert_eq!(s.failed(2), Next::Wait);
        // The main worker finishes its own part and takes the orphan.
        let n = s.finished(0, part_rows(&[0, 3]));
        assert_eq!(n, Next::Send { worker: 0, part: Part { index: 2, count: 3 } });
        // Its progress now counts against part 2.
        s.progress(1, 0, 2);
        s.progress(0, 1, 2);
        assert_eq!(s.finished(1, part_rows(&[1, 4])), Next::Wait);
        let n = s.finished(0, part_rows(&[2, 5]));
        assert_eq!(n, Next::Done(Reply::Scores { job: 3, rows: all_rows() }));
        // A late answer of the dead helper changes nothing.
        assert_eq!(s.finished(2, part_rows(&[2, 5])), Next::Wait);
    }

    #[test]
    fn a_helper_failing_after_the_others_finished_hands_over_at_once() {
        let mut s = SplitRun::new(3, 6, 2);
        assert_eq!(s.finished(0, part_rows(&[0, 1, 2])), Next::Wait);
        assert_eq!(s.failed(1), Next::Send { worker: 0, part: Part { index: 1, count: 2 } });
        let n = s.finished(0, part_rows(&[3, 4, 5]));
        assert_eq!(n, Next::Done(Reply::Scores { job: 3, rows: all_rows() }));
    }

    #[test]
    fn a_cancel_keeps_what_every_part_finished() {
        let mut s = SplitRun::new(9, 6, 2);
        assert_eq!(s.cancel(), Next::Wait, "the workers answer their own Cancel");
        assert_eq!(s.finished(1, part_rows(&[4])), Next::Wait);
        let n = s.finished(0, part_rows(&[0, 1]));
        let want = vec![row(0.0), row(1.0), None, None, row(4.0), None];
        assert_eq!(n, Next::Done(Reply::ScoresCancelled { job: 9, rows: want }));
    }

    #[test]
    fn a_helper_stopped_while_cancelling_ends_the_run_with_the_rest() {
        let mut s = SplitRun::new(9, 6, 2);
        s.cancel();
        assert_eq!(s.finished(0, part_rows(&[0])), Next::Wait);
        // The helper did not answer in time and was terminated: its part is lost, not redone.
        let want = vec![row(0.0), None, None, None, None, None];
        assert_eq!(s.failed(1), Next::Done(Reply::ScoresCancelled { job: 9, rows: want }));
    }
}
