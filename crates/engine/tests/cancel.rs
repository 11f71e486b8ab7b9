//! A progress callback that answers `Flow::Stop` ends scoring and CoS-Low early with
//! `EngineError::Cancelled`, and the backend serves the next job as before.

mod common;

use std::future::Future;
use std::pin::Pin;

use common::*;
use labelcast_engine::backend::CpuBackend;
use labelcast_engine::coslow::coslow;
use labelcast_engine::grad::{AdapterInit, TokenExample};
use labelcast_engine::infer::{generate, generate_partial, ScoreOptions};
use labelcast_engine::model::Weights;
use labelcast_engine::{EngineError, Flow, LoraOptions, Progress};

fn prompts(vocab: usize) -> Vec<Vec<u32>> {
    (0..6).map(|i| ids(50 + i, 3 + i as usize, vocab)).collect()
}

fn opts() -> ScoreOptions {
    ScoreOptions { max_new_tokens: 4, batch_size: 2, chat_template: false, ..ScoreOptions::default() }
}

fn examples(vocab: usize) -> Vec<TokenExample> {
    (0..5).map(|i| TokenExample { ids: ids(70 + i, 7, vocab), n_prompt: 3 }).collect()
}

fn lora() -> LoraOptions {
    // One example per pack, so there is a point to stop between every two.
    LoraOptions { rank: 4, alpha: 8.0, init: AdapterInit::Seeded(1), pack_tokens: 1, ..Default::default() }
}

#[test]
fn scoring_stops_after_the_batch_in_progress_and_the_backend_scores_again() {
    let c = llama();
    let b = CpuBackend::new(Weights::random(&c, 3).unwrap());
    let p = prompts(c.vocab_size);
    let mut seen = Vec::new();
    let e = block_on(generate(&b, &p, &[], &opts(), &mut |pr| {
        seen.push(pr);
        if matches!(pr, Progress::Scoring { done, .. } if done >= 2) {
            Flow::Stop
        } else {
            Flow::Continue
        }
    }))
    .unwrap_err();
    assert!(matches!(e, EngineError::Cancelled), "{e}");
    // Between decode steps the batch reports the rows it has finished: none before its end here
    // (no stop token), so the same count comes again.
    assert_eq!(seen.len(), 5, "{seen:?}: the start, 3 decode steps, the batch's end");
    seen.dedup();
    // 0 of 6, then 2 of 6 (one batch of two): three batches were to come.
    assert_eq!(seen, vec![Progress::Scoring { done: 0, total: 6 }, Progress::Scoring { done: 2, total: 6 }]);
    let all = block_on(generate(&b, &p, &[], &opts(), &mut |_| {})).unwrap();
    assert_eq!(all.len(), 6);

    // The same stop with generate_partial keeps the batch finished: the two shortest prompts
    // (batches run shortest first), exactly as the full run generated them.
    let stop = |pr: Progress| {
        if matches!(pr, Progress::Scoring { done, .. } if done >= 2) {
            Flow::Stop
        } else {
            Flow::Continue
        }
    };
    let part = block_on(generate_partial(&b, &p, &[], &opts(), &mut |pr| stop(pr))).unwrap();
    let kept: Vec<usize> = (0..6).filter(|&i| part[i].is_some()).collect();
    assert_eq!(kept, vec![0, 1]);
    for i in kept {
        assert_eq!(part[i].as_ref(), Some(&all[i]), "row {i}");
    }
}

#[test]
fn a_stop_inside_a_batch_keeps_its_rows_that_had_finished() {
    let c = llama();
    let b = CpuBackend::new(Weights::random(&c, 3).unwrap());
    let p = prompts(c.vocab_size);
    let opts = ScoreOptions { max_new_tokens: 6, batch_size: 3, ..opts() };
    let free = block_on(generate(&b, &p, &[], &opts, &mut |_| {})).unwrap();
    // A stop token that ends row 0 (in the first batch: rows 0, 1, 2) after 2 tokens, and no
    // other row of that batch as early.
    let token = free[0].steps[1].token;
    let early = |r: usize| free[r].steps.iter().take(2).any(|s| s.token == token);
    assert!(!early(1) && !early(2), "the random model repeats a token; pick another seed");
    let all = block_on(generate(&b, &p, &[token], &opts, &mut |_| {})).unwrap();
    assert_eq!(all[0].steps.len(), 2);
    // Stop at the first report that counts a finished row: inside the first batch.
    let mut seen = Vec::new();
    let stop = |pr: Progress| {
        seen.push(pr);
        if matches!(pr, Progress::Scoring { done, .. } if done >= 1) {
            Flow::Stop
        } else {
            Flow::Continue
        }
    };
    let part = block_on(generate_partial(&b, &p, &[token], &opts, &mut { stop })).unwrap();
    assert_eq!(seen.last(), Some(&Progress::Scoring { done: 1, total: 6 }));
    let kept: Vec<usize> = (0..6).filter(|&i| part[i].is_some()).collect();
    assert_eq!(kept, vec![0], "only the finished row of the batch in progress");
    assert_eq!(part[0].as_ref(), Some(&all[0]), "exactly as the full run generated it");
}

#[test]
fn coslow_stops_between_packs_through_an_awaited_answer() {
    let c = qwen2();
    let b = CpuBackend::new(Weights::random(&c, 4).unwrap());
    let ex = examples(c.vocab_size);
    let mut calls = 0;
    // A future answer, as the browser's worker gives one after yielding to its event loop.
    let e = block_on(coslow(&b, &ex, &[], &lora(), &mut |pr| -> Pin<Box<dyn Future<Output = Flow>>> {
        calls += 1;
        let stop = matches!(pr, Progress::Gradients { done: 2, .. });
        Box::pin(async move {
            if stop {
                Flow::Stop
            } else {
                Flow::Continue
            }
        })
    }))
    .unwrap_err();
    assert!(matches!(e, EngineError::Cancelled), "{e}");
    assert_eq!(calls, 3, "asked before examples 1, 2 and 3; stopped before the third");
    let r = block_on(coslow(&b, &ex, &[], &lora(), &mut |_| {})).unwrap();
    assert_eq!(r.examples, 5);
}

#[test]
fn a_stop_before_the_first_item_does_no_work() {
    let c = llama();
    let b = CpuBackend::new(Weights::random(&c, 5).unwrap());
    let e = block_on(generate(&b, &prompts(c.vocab_size), &[], &opts(), &mut |_| Flow::Stop)).unwrap_err();
    assert!(matches!(e, EngineError::Cancelled));
    assert_eq!(e.to_string(), "cancelled");
}
