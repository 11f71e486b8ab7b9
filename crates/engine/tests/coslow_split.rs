//! A CoS-Low run split between workers (`coslow_keep`, `coslow_send`), as the page's pool
//! splits it: the workers that send hand on the rows of their packs, the one that keeps them
//! computes its own packs and any pack whose rows never came, and the result is the whole
//! run's, bit for bit.

mod common;

use std::collections::VecDeque;

use common::*;
use labelcast_core::method::Part;
use labelcast_engine::backend::CpuBackend;
use labelcast_engine::coslow::{coslow, coslow_keep, coslow_send, Exchange, KeptRow};
use labelcast_engine::grad::{AdapterInit, GradVariant, LoraOptions, Reduction, TokenExample};
use labelcast_engine::model::Weights;
use labelcast_engine::{CosLowResult, EngineError, Flow, Progress, Result};

const EXCLUDED: [u32; 1] = [0];

fn examples(vocab: usize) -> Vec<TokenExample> {
    (0..7)
        .map(|i| {
            let n = 5 + (i * 3) % 7;
            TokenExample { ids: ids(40 + i as u64, n, vocab), n_prompt: 2 + i % 3 }
        })
        .collect()
}

/// Packs of up to 20 tokens: examples 0 and 1, 2 and 3, 4 and 5, then 6 alone.
fn opts(budget: usize) -> LoraOptions {
    LoraOptions { rank: 4, alpha: 8.0, init: AdapterInit::Seeded(3), pack_tokens: 20, budget, ..Default::default() }
}

/// Rows as one worker sent them, and the queue another receives from: `early` rows have come
/// before the keeping worker looks (between its packs), the rest come while it waits.
#[derive(Default)]
struct Queue {
    sent: Vec<KeptRow>,
    incoming: VecDeque<KeptRow>,
    early: usize,
}

impl Exchange for Queue {
    async fn send(&mut self, row: KeptRow) -> Result<()> {
        self.sent.push(row);
        Ok(())
    }

    async fn receive(&mut self, wait: bool) -> Result<Option<KeptRow>> {
        if !wait && self.early == 0 {
            return Ok(None);
        }
        self.early = self.early.saturating_sub(1);
        Ok(self.incoming.pop_front())
    }
}

struct Run {
    backend: CpuBackend,
    examples: Vec<TokenExample>,
}

impl Run {
    fn new() -> Self {
        let c = llama();
        Run { examples: examples(c.vocab_size), backend: CpuBackend::new(Weights::random(&c, 8).unwrap()) }
    }

    fn whole(&self, o: &LoraOptions) -> CosLowResult {
        block_on(coslow(&self.backend, &self.examples, &EXCLUDED, o, &mut |_| {})).unwrap()
    }

    /// The rows parts 1.. of `count` send, and the progress each reported.
    fn sent(&self, o: &LoraOptions, count: usize) -> (Vec<KeptRow>, Vec<Vec<Progress>>) {
        let (mut rows, mut seen) = (Vec::new(), Vec::new());
        for index in 1..count {
            let mut q = Queue::default();
            let mut s = Vec::new();
            let part = Part { index, count };
            let n =
                block_on(coslow_send(&self.backend, &self.examples, &EXCLUDED, o, part, &mut q, &mut |p| s.push(p)))
                    .unwrap();
            assert_eq!(n, q.sent.len());
            rows.extend(q.sent);
            seen.push(s);
        }
        (rows, seen)
    }

    fn keep(&self, o: &LoraOptions, count: usize, rows: Vec<KeptRow>, early: usize) -> (CosLowResult, Vec<Progress>) {
        let mut q = Queue { incoming: rows.into(), early, ..Default::default() };
        let mut seen = Vec::new();
        let part = Part { index: 0, count };
        let r = block_on(coslow_keep(&self.backend, &self.examples, &EXCLUDED, o, part, &mut q, &mut |p| seen.push(p)))
            .unwrap();
        (r, seen)
    }
}

#[test]
fn the_parts_of_a_split_run_give_the_whole_result() {
    let run = Run::new();
    for budget in [usize::MAX, 300] {
        let o = opts(budget);
        let whole = run.whole(&o);
        let sketched = matches!(whole.reduction, Some(Reduction::Sketch { .. }));
        assert_eq!(sketched, budget == 300, "{:?}", whole.reduction);
        for count in [2, 3] {
            let (rows, seen) = run.sent(&o, count);
            let mut sent: Vec<usize> = rows.iter().map(|r| r.index).collect();
            sent.sort();
            sent.dedup();
            assert_eq!(sent.len(), rows.len(), "a row sent twice");
            assert!(!rows.is_empty() && rows.len() < 7, "{count} parts sent {} rows", rows.len());
            // Each sender counts its own examples.
            for s in &seen {
                let Some(&Progress::Gradients { done, total }) = s.last() else { panic!("{s:?}") };
                assert_eq!(done, total);
            }
            for early in [0, 2, rows.len()] {
                let (r, seen) = run.keep(&o, count, rows.clone(), early);
                assert_eq!(r, whole, "{count} parts, {early} rows early, budget {budget}");
                assert_eq!(seen.last(), Some(&Progress::Gradients { done: 7, total: 7 }));
                assert!(seen.windows(2).all(|w| match (w[0], w[1]) {
                    (Progress::Gradients { done: a, .. }, Progress::Gradients { done: b, .. }) => a <= b,
                    _ => false,
                }));
            }
        }
    }
}

/// An exchange nobody may use.
struct Unused;

impl Exchange for Unused {
    async fn send(&mut self, _row: KeptRow) -> Result<()> {
        panic!("a whole run sent a row")
    }

    async fn receive(&mut self, _wait: bool) -> Result<Option<KeptRow>> {
        panic!("a whole run waited for rows")
    }
}

#[test]
fn a_run_of_one_part_never_waits_for_rows() {
    let run = Run::new();
    let o = opts(usize::MAX);
    let r = block_on(coslow_keep(&run.backend, &run.examples, &EXCLUDED, &o, Part::WHOLE, &mut Unused, &mut |_| {}));
    assert_eq!(r.unwrap(), run.whole(&o));
}

#[test]
fn rows_that_never_came_are_computed_by_the_worker_that_keeps_them() {
    let run = Run::new();
    for budget in [usize::MAX, 300] {
        let o = opts(budget);
        let whole = run.whole(&o);
        let (rows, _) = run.sent(&o, 2);
        // A sender that failed at once; one that failed halfway through a pack (the
        // sketch adds into a row, so its pack's rows must start again from zero); a row
        // kept another way (another width) and a row sent twice.
        let mut bad = rows[0].clone();
        bad.values.pop();
        assert_eq!(rows.iter().map(|r| r.index).collect::<Vec<_>>(), [2, 3, 6]);
        let cases = [vec![], vec![rows[0].clone(), rows[2].clone()], [vec![bad], rows.clone()].concat(), {
            let mut twice = rows.clone();
            twice.insert(1, rows[0].clone());
            twice
        }];
        for (i, sent) in cases.into_iter().enumerate() {
            let (r, _) = run.keep(&o, 2, sent, 1);
            assert_eq!(r, whole, "case {i}, budget {budget}");
        }
    }
}

#[test]
fn a_split_run_refuses_parts_that_do_not_exist_and_the_exact_variant() {
    let run = Run::new();
    let o = opts(usize::MAX);
    for part in [Part { index: 2, count: 2 }, Part { index: 0, count: 0 }] {
        let e =
            block_on(coslow_send(&run.backend, &run.examples, &EXCLUDED, &o, part, &mut Queue::default(), &mut |_| {}))
                .unwrap_err();
        assert!(matches!(&e, EngineError::Invalid(m) if m.contains("does not exist")), "{e}");
        let e =
            block_on(coslow_keep(&run.backend, &run.examples, &EXCLUDED, &o, part, &mut Queue::default(), &mut |_| {}))
                .unwrap_err();
        assert!(matches!(&e, EngineError::Invalid(m) if m.contains("does not exist")), "{e}");
    }
    let exact = LoraOptions { variant: GradVariant::Exact, ..o };
    let part = Part { index: 1, count: 2 };
    let e =
        block_on(coslow_send(&run.backend, &run.examples, &EXCLUDED, &exact, part, &mut Queue::default(), &mut |_| {}))
            .unwrap_err();
    assert!(matches!(&e, EngineError::Invalid(m) if m.contains("exact variant")), "{e}");
}

#[test]
fn a_stop_while_taking_rows_cancels_the_run() {
    let run = Run::new();
    let o = opts(usize::MAX);
    let (rows, _) = run.sent(&o, 2);
    let mut q = Queue { incoming: rows.into(), ..Default::default() };
    let part = Part { index: 0, count: 2 };
    // Reports come before each own pack and after each row taken while waiting: the last
    // one before the final count is while rows come in.
    let mut reports = Vec::new();
    let e = block_on(coslow_keep(&run.backend, &run.examples, &EXCLUDED, &o, part, &mut q, &mut |p| {
        reports.push(p);
        if p == (Progress::Gradients { done: 6, total: 7 }) {
            Flow::Stop
        } else {
            Flow::Continue
        }
    }))
    .unwrap_err();
    assert!(matches!(e, EngineError::Cancelled), "{e}");
    assert_eq!(reports.last(), Some(&Progress::Gradients { done: 6, total: 7 }));
}
