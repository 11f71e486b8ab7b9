//! METHOD 1c with the engine's own scores: SmolLM2 on the 200 prompts of tests/data/pool.csv
//! must pick exactly the 32 rows of tests/data/labeled.csv, which were drawn from PyTorch's
//! scores (tests/reference/out/smollm2-pool.json; boundary gap between ranks 32 and 33: 0.0076).
//! Skipped, with a message, when the SmolLM2 GGUF is not there.

mod common;
#[path = "common/reference.rs"]
mod reference;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Instant;

use common::block_on;
use labelcast_core::select::low_confidence_decile;
use labelcast_core::table::{read_table, ReadOptions, Table};
use labelcast_engine::{Engine, Prompt, ScoreOptions};
use reference::{json, read, repo, u32s};

fn table(rel: &str) -> Table {
    read_table(rel, &read(rel), &ReadOptions::default()).unwrap()
}

fn ids(t: &Table) -> Vec<String> {
    let c = t.column("id").unwrap();
    (0..t.rows.len()).map(|r| t.get(r, c).to_string()).collect()
}

/// Ignored by default for its run time: 82 s of CPU time (about 45 s on 2 idle cores, 140 s
/// measured while other builds shared them), over the ~60 s a default test may take. Run it
/// with `cargo test -p labelcast-engine --test pool_selection -- --ignored --nocapture`.
#[test]
#[ignore = "scores 200 prompts with SmolLM2 (~45-140 s on 2 cores); run with --ignored"]
fn engine_scores_select_the_committed_labeled_rows() {
    let path = std::env::var_os("LABELCAST_SMOLLM2_GGUF")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("models/SmolLM2-135M-Instruct.Q4_1.gguf"));
    let Ok(bytes) = std::fs::read(&path) else {
        eprintln!(
            "SKIPPED: SmolLM2 GGUF not found at {} (scripts/fetch-model.sh, or set LABELCAST_SMOLLM2_GGUF)",
            path.display()
        );
        return;
    };
    let engine = Engine::from_gguf(&path.display().to_string(), bytes).unwrap();
    let pool = table("tests/data/pool.csv");
    let p = pool.column("prompt").unwrap();
    let prompts: Vec<Prompt> = (0..pool.rows.len()).map(|r| Prompt::from(pool.get(r, p))).collect();
    let start = Instant::now();
    let opts = ScoreOptions { batch_size: 32, ..Default::default() };
    let scores = block_on(engine.score(&prompts, &opts, |_| {})).unwrap();
    let secs = start.elapsed().as_secs_f64();

    // How far the engine is from PyTorch on each prompt, for the report (prompts whose greedy
    // path diverges at a near-tie are counted, not compared).
    let torch = json("tests/reference/out/smollm2-pool.json");
    let (mut max_err, mut diverged) = (0.0f64, Vec::new());
    for (s, t) in scores.iter().zip(torch["items"].as_array().unwrap()) {
        if s.generated_ids != u32s(&t["generated_ids"]) {
            diverged.push(t["id"].as_str().unwrap().to_string());
        } else if let (Some(a), Some(b)) = (s.stats.avg_confidence, t["avg_confidence"].as_f64()) {
            max_err = max_err.max((a - b).abs());
        }
    }
    eprintln!(
        "scored {} prompts in {secs:.1}s; avg_confidence vs PyTorch max diff {max_err:.2e}; \
         greedy paths differing: {diverged:?}",
        scores.len()
    );

    let conf: Vec<Option<f64>> = scores.iter().map(|s| s.stats.avg_confidence).collect();
    let sel = low_confidence_decile(&conf, 32, 0).unwrap();
    let pool_ids = ids(&pool);
    let got: BTreeSet<String> = sel.indices.iter().map(|&i| pool_ids[i].clone()).collect();
    let want: BTreeSet<String> = ids(&table("tests/data/labeled.csv")).into_iter().collect();
    assert_eq!(want.len(), 32);
    assert_eq!(
        got,
        want,
        "the engine selects {:?} instead of {:?}",
        got.difference(&want).collect::<Vec<_>>(),
        want.difference(&got).collect::<Vec<_>>()
    );
}
