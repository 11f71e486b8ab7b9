//! A scoring run split into parts (`ScoreOptions::part`), as the page's workers split it: each
//! part runs its own batches of the whole run's, and the parts together are the whole run,
//! row for row and bit for bit.

mod common;

use common::*;
use labelcast_engine::backend::CpuBackend;
use labelcast_engine::infer::{generate, generate_partial, Part, ScoreOptions};
use labelcast_engine::model::Weights;
use labelcast_engine::{EngineError, Progress};

fn opts(part: Part) -> ScoreOptions {
    ScoreOptions { max_new_tokens: 5, batch_size: 2, chat_template: false, part, ..ScoreOptions::default() }
}

#[test]
fn the_parts_of_a_run_are_the_run() {
    let c = llama();
    let b = CpuBackend::new(Weights::random(&c, 5).unwrap());
    // Lengths out of order, so the batches (shortest first) are not the input order.
    let lens = [9, 3, 7, 4, 11, 5, 6];
    let p: Vec<Vec<u32>> = lens.iter().enumerate().map(|(i, &n)| ids(90 + i as u64, n, c.vocab_size)).collect();
    let whole = block_on(generate(&b, &p, &[], &opts(Part::WHOLE), &mut |_| {})).unwrap();
    // Sorted by length: rows 1, 3 | 5, 6 | 2, 0 | 4: four batches.
    let batch_of = |row: usize| [2, 0, 2, 0, 3, 1, 1][row];
    for count in [2, 3, 5] {
        let mut merged: Vec<Option<_>> = vec![None; p.len()];
        for index in 0..count {
            let mut seen = Vec::new();
            let part = Part { index, count };
            let rows = block_on(generate_partial(&b, &p, &[], &opts(part), &mut |pr| seen.push(pr))).unwrap();
            let mine: Vec<usize> = (0..p.len()).filter(|&r| batch_of(r) % count == index).collect();
            let got: Vec<usize> = (0..p.len()).filter(|&r| rows[r].is_some()).collect();
            assert_eq!(got, mine, "part {index} of {count}");
            // Progress counts the part's prompts only.
            assert_eq!(seen.first(), Some(&Progress::Scoring { done: 0, total: mine.len() }));
            assert_eq!(seen.last(), Some(&Progress::Scoring { done: mine.len(), total: mine.len() }));
            for (r, g) in rows.into_iter().enumerate() {
                if let Some(g) = g {
                    assert!(merged[r].replace(g).is_none(), "row {r} came from two parts");
                }
            }
        }
        let merged: Vec<_> = merged.into_iter().map(|g| g.expect("every row in some part")).collect();
        assert_eq!(merged, whole, "{count} parts");
    }
}

#[test]
fn a_part_that_does_not_exist_is_refused() {
    let c = llama();
    let b = CpuBackend::new(Weights::random(&c, 5).unwrap());
    let p = vec![ids(1, 3, c.vocab_size)];
    for part in [Part { index: 2, count: 2 }, Part { index: 0, count: 0 }] {
        let e = block_on(generate_partial(&b, &p, &[], &opts(part), &mut |_| {})).unwrap_err();
        assert!(matches!(&e, EngineError::Invalid(m) if m.contains("does not exist")), "{e}");
    }
}
