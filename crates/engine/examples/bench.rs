//! SmolLM2 timings on this machine (release build):
//!
//! ```sh
//! cargo run --release -p labelcast-engine --example bench -- [score|coslow|exact]... \
//!     [--backend cpu|gpu|auto] [--quantized] [--batch N] [--prompts N] [--examples N]
//! ```
//!
//! Each timed step also prints its nominal work (`labelcast_engine::flops`: 2 FLOPs per
//! multiply-add, matrix products and attention only) and the rate that makes; the exact
//! variant's work is not counted.
//!
//! score: greedy scoring of tests/data/pool.csv (200 prompts, 30 new tokens, chat template),
//! compared with the PyTorch batch-1 scores when tests/reference/out/smollm2-pool.json is there;
//! coslow / exact: CoS-Low (LoRA r=64, seeded A) / the exact variant on tests/data/labeled.csv.
//! Threads: candle's matmuls use RAYON_NUM_THREADS (default: all cores). Unless
//! CANDLE_NUM_THREADS is set, this sets it to 1: candle's spin-waiting pool for element-wise
//! ops costs far more than it saves on a machine with few (or busy) cores.

use std::time::Instant;

use labelcast_core::table::{read_table, ReadOptions, Role};
use labelcast_engine::grad::DEFAULT_RANK;
use labelcast_engine::model::CpuWeights;
use labelcast_engine::{
    flops, infer, AnyEngine, BackendChoice, Example, GradVariant, LoraOptions, Prompt, ScoreOptions,
};
use pollster::block_on;

/// "12.3 GFLOP in 4.5 s = 2.7 GFLOP/s".
fn rate(flops: u64, secs: f64) -> String {
    let g = flops as f64 / 1e9;
    format!("{g:.1} GFLOP, {:.2} GFLOP/s", g / secs)
}

fn main() {
    if std::env::var_os("CANDLE_NUM_THREADS").is_none() {
        // SAFETY: no other thread exists yet.
        unsafe { std::env::set_var("CANDLE_NUM_THREADS", "1") };
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str, default: usize| {
        args.iter().position(|a| a == name).map_or(default, |i| args[i + 1].parse().expect("a number"))
    };
    let (batch, n_prompts, n_examples) =
        (flag("--batch", infer::DEFAULT_BATCH_SIZE), flag("--prompts", 200), flag("--examples", 32));
    let choice = match args.iter().position(|a| a == "--backend").map(|i| args[i + 1].as_str()) {
        None => BackendChoice::Cpu,
        Some(name) => name.parse().unwrap_or_else(|e| panic!("--backend cpu|gpu|auto: {e}")),
    };
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let gguf = std::env::var("LABELCAST_SMOLLM2_GGUF")
        .unwrap_or_else(|_| root.join("models/SmolLM2-135M-Instruct.Q4_1.gguf").display().to_string());
    let t = Instant::now();
    let bytes = std::fs::read(&gguf).expect("run scripts/fetch-model.sh");
    // --quantized: the CPU backend with its matrices kept in the file's blocks.
    let engine = if args.iter().any(|a| a == "--quantized") {
        let (file, text) = labelcast_engine::model::parse_gguf(&gguf, bytes).unwrap();
        let w = labelcast_engine::model::Weights::from_model_file_with(&file, CpuWeights::Quantized).unwrap();
        AnyEngine::from(labelcast_engine::Engine::cpu(w, text).unwrap())
    } else {
        block_on(AnyEngine::from_gguf(&gguf, bytes, choice, &mut |n| println!("{n}"))).unwrap()
    };
    println!("load: {:.2}s on {}", t.elapsed().as_secs_f64(), engine.describe());
    let table = |name: &str| {
        let bytes = std::fs::read(root.join("tests/data").join(name)).unwrap();
        read_table(name, &bytes, &ReadOptions::default()).unwrap()
    };
    let wants = |p: &str| {
        args.iter().any(|a| a == p) || !args.iter().any(|a| ["score", "coslow", "exact"].contains(&a.as_str()))
    };

    if wants("score") {
        let pool = table("pool.csv");
        let prompts: Vec<Prompt> = (0..pool.rows.len().min(n_prompts))
            .map(|r| Prompt::from(pool.role_value(r, Role::Prompt).unwrap()))
            .collect();
        let opts = ScoreOptions { batch_size: batch, ..Default::default() };
        let t = Instant::now();
        let scores = block_on(engine.score(&prompts, &opts, |_| {})).unwrap();
        let secs = t.elapsed().as_secs_f64();
        let tokens: usize = scores.iter().map(|s| s.generated_ids.len()).sum();
        let work: u64 =
            scores.iter().map(|s| flops::score_flops(engine.config(), s.prompt_tokens, s.generated_ids.len())).sum();
        println!(
            "score {} prompts, batch {batch}: {secs:.2}s ({tokens} generated tokens; {})",
            prompts.len(),
            rate(work, secs)
        );
        if let Ok(bytes) = std::fs::read(root.join("tests/reference/out/smollm2-pool.json")) {
            let r: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            let (mut same, mut max_diff) = (0, 0f64);
            for (s, it) in scores.iter().zip(r["items"].as_array().unwrap()) {
                let ids: Vec<u32> =
                    it["generated_ids"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u32).collect();
                same += (ids == s.generated_ids) as usize;
                if let (Some(a), Some(b)) = (s.stats.avg_confidence, it["avg_confidence"].as_f64()) {
                    if ids == s.generated_ids {
                        max_diff = max_diff.max((a - b).abs());
                    }
                }
            }
            println!("  vs PyTorch batch 1: {same}/{} identical generations, max avg_confidence diff {max_diff:.2e} on those", scores.len());
        }
    }
    for (name, variant) in [("coslow", GradVariant::Lora), ("exact", GradVariant::Exact)] {
        if !wants(name) {
            continue;
        }
        let lab = table("labeled.csv");
        let exs: Vec<Example> = (0..lab.rows.len().min(n_examples))
            .map(|r| Example {
                system: None,
                prompt: lab.role_value(r, Role::Prompt).unwrap().into(),
                answer: lab.role_value(r, Role::Answer).unwrap().into(),
            })
            .collect();
        let opts = LoraOptions {
            variant,
            pack_tokens: flag("--pack", labelcast_engine::grad::DEFAULT_PACK_TOKENS),
            ..Default::default()
        };
        let work: u64 = exs
            .iter()
            .map(|ex| {
                let prompt = engine.text().render_prompt(None, &ex.prompt).unwrap();
                let e = engine.text().encode_example(&prompt, &ex.answer).unwrap();
                let ex = labelcast_engine::grad::TokenExample { ids: e.ids, n_prompt: e.n_prompt };
                flops::coslow_flops(engine.config(), &ex, &engine.text().special.exclusion_ids, DEFAULT_RANK)
            })
            .sum();
        let t = Instant::now();
        let r = block_on(engine.coslow(&exs, &opts, |_| {})).unwrap();
        let secs = t.elapsed().as_secs_f64();
        let work = match variant {
            GradVariant::Lora => format!(" ({})", rate(work, secs)),
            GradVariant::Exact => String::new(),
        };
        println!("{name} on {} examples: {secs:.2}s, CoS-Low {:.6}{work}", exs.len(), r.coslow);
    }
}
