//! A CoS-Low run split between the pool's workers. The main worker keeps every example's
//! gradient row and computes the Gram (`Share::Keep`); each ready helper computes its part of
//! the packs and posts each row as its pack finishes (`Share::Send`), which the pool hands on
//! to the main worker, moving the row's memory rather than copying it. Once every helper has
//! sent its rows, failed or been cancelled, the main worker hears `GradsSent`, computes any
//! pack whose rows never came, and answers `CosLow` as a whole run would, to the bit.

use js_sys::Float32Array;
use labelcast_protocol::{Part, Reply, Request, Share};

use super::{Effect, EnginePool, Pool};
use crate::browser::engine_client::EngineClient;

/// The run split now: its job and the helpers still computing their part.
pub(super) struct GradSplit {
    job: u32,
    sending: Vec<usize>,
}

impl GradSplit {
    /// The run `request` (a `CosLow`) split between the main worker and `helpers`, and what
    /// each worker is sent (None: the main worker, which keeps the rows).
    fn new(job: u32, request: &Request, helpers: Vec<usize>) -> (GradSplit, Vec<(Option<usize>, Request)>) {
        let count = 1 + helpers.len();
        let mut sends = vec![(None, with_share(request, Share::Keep { part: Part { index: 0, count } }))];
        for (w, &i) in helpers.iter().enumerate() {
            sends.push((Some(i), with_share(request, Share::Send { part: Part { index: w + 1, count } })));
        }
        (GradSplit { job, sending: helpers }, sends)
    }

    pub(super) fn job(&self) -> u32 {
        self.job
    }

    /// Helper `i` will send no more rows: once none is left sending, the main worker is told
    /// (once).
    fn sent(&mut self, i: usize) -> Option<Request> {
        let before = self.sending.len();
        self.sending.retain(|&h| h != i);
        (before > 0 && self.sending.is_empty()).then_some(Request::GradsSent { job: self.job })
    }
}

/// `request` (a `CosLow`) as worker `share` runs it.
fn with_share(request: &Request, share: Share) -> Request {
    let mut r = request.clone();
    if let Request::CosLow { share: s, .. } = &mut r {
        *s = Some(share);
    }
    r
}

impl EnginePool {
    /// Splits a CoS-Low run between the main worker and the `helpers` that have loaded the model.
    pub(super) fn split_coslow(this: &Pool, job: u32, request: &Request, helpers: Vec<usize>) {
        let (split, sends) = GradSplit::new(job, request, helpers);
        this.borrow_mut().grads = Some(split);
        EnginePool::apply(this, sends.into_iter().map(|(w, r)| Effect::Send(w, r)).collect());
    }

    pub(super) fn grads_job(&self, job: u32) -> bool {
        self.grads.as_ref().is_some_and(|g| g.job == job)
    }

    /// Helper `i` will send no more rows for the split run: the last one to finish tells the
    /// main worker.
    pub(super) fn helper_sent(&mut self, i: usize) -> Vec<Effect> {
        let sent = self.grads.as_mut().and_then(|g| g.sent(i));
        sent.map(|r| Effect::Send(None, r)).into_iter().collect()
    }

    /// The main worker answered the split run (`CosLow`, `Cancelled` or `Failed`): helpers
    /// still computing are stopped.
    pub(super) fn grads_ended(&mut self) -> Vec<Effect> {
        let Some(g) = self.grads.take() else { return Vec::new() };
        g.sending.into_iter().map(|i| Effect::Cancel(i, g.job)).collect()
    }

    /// Cancels the split run `job` on its helpers (the main worker is cancelled by the caller).
    pub(super) fn cancel_grads(&mut self, job: u32) -> Vec<Effect> {
        match &self.grads {
            Some(g) if g.job == job => g.sending.iter().map(|&i| Effect::Cancel(i, job)).collect(),
            _ => Vec::new(),
        }
    }

    /// A row from helper `i`, handed on to the main worker.
    pub(super) fn on_helper_row(this: &Pool, i: usize, generation: u32, reply: Reply, row: Float32Array) {
        let Reply::GradRow { job, index, loss } = reply else { return };
        let main = {
            let me = this.borrow();
            let sending = me.grads.as_ref().is_some_and(|g| g.job == job && g.sending.contains(&i));
            if me.generation != generation || !sending {
                return;
            }
            me.main.clone()
        };
        EngineClient::request_with_row(&main, &Request::GradRow { job, index, loss }, &row);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use labelcast_protocol::LongRows;

    fn coslow(share: Option<Share>) -> Request {
        Request::CosLow {
            job: 7,
            examples: vec![],
            chat_template: true,
            rank: 64,
            alpha: 32.0,
            seed: 0,
            long_examples: LongRows::Cut,
            share,
        }
    }

    #[test]
    fn the_main_worker_keeps_part_one_and_each_helper_sends_its_own() {
        let (_, sends) = GradSplit::new(7, &coslow(None), vec![2, 0]);
        let keep = |index| Some(Share::Keep { part: Part { index, count: 3 } });
        let send = |index| Some(Share::Send { part: Part { index, count: 3 } });
        assert_eq!(sends, vec![(None, coslow(keep(0))), (Some(2), coslow(send(1))), (Some(0), coslow(send(2)))]);
    }

    #[test]
    fn the_main_worker_hears_once_that_every_helper_is_done() {
        let (mut g, _) = GradSplit::new(7, &coslow(None), vec![1, 3]);
        assert_eq!(g.sent(3), None);
        assert_eq!(g.sent(3), None, "the same helper twice (rows sent, then lost)");
        assert_eq!(g.sent(5), None, "a helper not in the run");
        assert_eq!(g.sent(1), Some(Request::GradsSent { job: 7 }));
        assert_eq!(g.sent(1), None, "told once");
    }
}
