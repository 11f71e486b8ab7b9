//! `labelcast calibrate-suite`: the paper's pipeline, exactly as a user's run, on every task of
//! a calibration suite (../shared/tasks: `<task>.csv` with id,system,prompt,answer and
//! `manifest.json` with the paper's AUC per family). The results file is written after each
//! task, so an interrupted run resumes where it stopped; proxy coefficient sets are fitted
//! from it by labelcast-core (`labelcast families --calibration FILE`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use labelcast_core::select::low_confidence_decile;
use labelcast_core::suite::{
    centered_coslow, sample_rows, DrawRun, PoolStats, SuiteModel, SuiteResults, SuiteSettings, TaskRun, SUITE_FORMAT,
};
use labelcast_core::table::{ReadOptions, Table};
use labelcast_core::Error;
use labelcast_engine::grad::{AdapterInit, DEFAULT_ALPHA, DEFAULT_RANK};
use labelcast_engine::{AnyEngine, BackendChoice, Example, LoraOptions, PromptScores, ScoreOptions};
use serde_json::Value;

use crate::error::{CliError, CliResult};
use crate::io::{progress, read_bytes, read_table_file, write_atomic};
use crate::model;

#[derive(clap::Args)]
pub struct Args {
    /// A .gguf file, or a folder with *.safetensors, config.json and tokenizer.json.
    #[arg(long)]
    model: PathBuf,
    /// The suite: a folder with manifest.json and one <task>.csv per task.
    #[arg(long)]
    tasks: PathBuf,
    /// Results file (JSON). An existing one made with the same model and settings is resumed:
    /// its finished tasks are kept and skipped.
    #[arg(long)]
    out: PathBuf,
    /// Run only these tasks (repeatable); default every task of the manifest.
    #[arg(long = "task")]
    only: Vec<String>,
    /// Score a seeded sample of this many rows per task (as the page's "Prompts to score");
    /// default every row.
    #[arg(long)]
    pool_sample: Option<usize>,
    /// Seed of that sample.
    #[arg(long, default_value_t = 0)]
    sample_seed: u64,
    /// Draws of 32 from the bottom decile per task; draw d uses selection seed d and LoRA seed d.
    #[arg(long, default_value_t = 5)]
    draws: usize,
    /// Also run CoS-Low without each answer's first token in the loss (a candidate feature).
    #[arg(long)]
    skip_first: bool,
    /// Then compute CoS-Low by part (`coslow_parts`) for finished tasks recorded without it,
    /// on their recorded rows and seeds (no scoring); the whole CoS-Low must come out as
    /// recorded, to 1e-6.
    #[arg(long)]
    fill_parts: bool,
    /// Machine name of the model for the proxy sets (default: from the file name).
    #[arg(long)]
    name: Option<String>,
    /// Human label of the model (default: the file name without its extension).
    #[arg(long)]
    label: Option<String>,
    /// Prompts run together while scoring.
    #[arg(long, default_value_t = ScoreOptions::default().batch_size)]
    batch_size: usize,
    #[arg(long, value_parser = model::backend_values(), default_value_t = BackendChoice::Auto)]
    backend: BackendChoice,
    /// The most memory one pack of examples may keep for CoS-Low's backward pass, as for
    /// `coslow` (default there: on the CPU a quarter of the available memory, on a GPU 2 GiB):
    /// above it each layer is computed again (the same numbers); below even that, packs hold
    /// fewer tokens (float rounding may change).
    #[arg(long, value_parser = labelcast_core::words::parse_bytes)]
    activation_memory: Option<u64>,
}

/// Labeled examples drawn per task (METHOD.md 1c).
const K: usize = labelcast_core::method::EXAMPLES;

fn model_identity(a: &Args, sha256: String) -> CliResult<SuiteModel> {
    let file = a.model.file_name().map_or_else(|| a.model.display().to_string(), |f| f.to_string_lossy().into_owned());
    let stem = file.split('.').next().unwrap_or(&file).to_string();
    Ok(SuiteModel {
        name: a.name.clone().unwrap_or_else(|| stem.to_lowercase()),
        label: a.label.clone().unwrap_or(stem),
        file,
        sha256,
    })
}

/// One task of the suite's manifest.
struct ManifestTask {
    name: String,
    fidelity: String,
    /// The AUC the paper measured per family (`None` where it has no result).
    paper_auc: BTreeMap<String, Option<f64>>,
}

/// The manifest's tasks, in its order.
fn manifest(dir: &Path) -> CliResult<Vec<ManifestTask>> {
    let path = dir.join("manifest.json");
    let v: Value = serde_json::from_slice(&read_bytes(&path)?)
        .map_err(|e| Error::Invalid(format!("{}: not JSON: {e}", path.display())))?;
    let obj =
        v.as_object().ok_or_else(|| Error::Invalid(format!("{}: expected an object of tasks", path.display())))?;
    obj.iter()
        .map(|(task, t)| {
            let auc = serde_json::from_value(t.get("paper_auc").cloned().unwrap_or(Value::Null))
                .map_err(|e| Error::Invalid(format!("{}: task \"{task}\": paper_auc: {e}", path.display())))?;
            let fidelity = t.get("fidelity").and_then(Value::as_str).unwrap_or("unknown").to_string();
            Ok(ManifestTask { name: task.clone(), fidelity, paper_auc: auc })
        })
        .collect()
}

fn settings(a: &Args) -> SuiteSettings {
    SuiteSettings {
        pool_sample: a.pool_sample,
        sample_seed: a.sample_seed,
        draws: a.draws,
        k: K,
        rank: DEFAULT_RANK,
        alpha: DEFAULT_ALPHA,
        max_new_tokens: ScoreOptions::default().max_new_tokens,
        chat_template: true,
        skip_first: a.skip_first,
    }
}

/// The existing results file to resume, or a new one; refuses a file made differently.
fn start(a: &Args, model: SuiteModel) -> CliResult<SuiteResults> {
    let settings = settings(a);
    if a.out.exists() {
        let text = String::from_utf8_lossy(&read_bytes(&a.out)?).into_owned();
        let r = SuiteResults::from_json(&a.out.display().to_string(), &text)?;
        if r.model.sha256 != model.sha256 || r.settings != settings {
            return Err(CliError::Usage(format!(
                "{} was made with another model or other settings; resume with the same ones or write to a new --out",
                a.out.display()
            )));
        }
        progress(&format!("resuming {}: {} tasks done", a.out.display(), r.tasks.len()));
        return Ok(r);
    }
    let machine = format!("{} cores", std::thread::available_parallelism().map_or(0, |n| n.get()));
    Ok(SuiteResults { format: SUITE_FORMAT.into(), model, settings, machine, tasks: vec![] })
}

fn mean(xs: impl Iterator<Item = f64>) -> f64 {
    let v: Vec<f64> = xs.collect();
    labelcast_core::stats::mean(&v).unwrap_or(f64::NAN)
}

/// Draw `seed`'s LoRA: the suite's rank and alpha, CoS-Low by part as well, packs within
/// `pack_bytes` of activations.
fn lora_options(s: &SuiteSettings, seed: u64, pack_bytes: u64) -> LoraOptions {
    LoraOptions {
        init: AdapterInit::Seeded(seed),
        rank: s.rank,
        alpha: s.alpha,
        parts: true,
        pack_bytes: Some(pack_bytes),
        ..LoraOptions::default()
    }
}

fn save(results: &SuiteResults, out: &Path) -> CliResult<()> {
    let text = serde_json::to_string_pretty(results).map_err(|e| Error::Invalid(e.to_string()))?;
    write_atomic(out, text.as_bytes())
}

/// `--fill-parts`: CoS-Low again on each recorded draw that lacks its parts. A CoS-Low that
/// differs from the recorded one means another model or method: an error, the file kept.
fn fill_parts(engine: &AnyEngine, a: &Args, pack_bytes: u64, results: &mut SuiteResults) -> CliResult<()> {
    let s = settings(a);
    let todo: Vec<usize> =
        (0..results.tasks.len()).filter(|&i| results.tasks[i].draws.iter().any(|d| d.coslow_parts.is_none())).collect();
    for (n, &i) in todo.iter().enumerate() {
        let name = results.tasks[i].task.clone();
        let table = read_table_file(&a.tasks.join(format!("{name}.csv")), &ReadOptions::default())?;
        let examples = model::examples(&table, None)?;
        progress(&format!("parts {}/{}: {name}", n + 1, todo.len()));
        for d in results.tasks[i].draws.iter_mut().filter(|d| d.coslow_parts.is_none()) {
            let ex = d
                .rows
                .iter()
                .map(|&r| {
                    examples
                        .get(r)
                        .cloned()
                        .ok_or_else(|| Error::Invalid(format!("{name}: row {r} is not in the task file")))
                })
                .collect::<Result<Vec<Example>, Error>>()?;
            let r = pollster::block_on(engine.coslow(
                &ex,
                &lora_options(&s, d.seed, pack_bytes),
                model::progress_printer(),
            ))?;
            if (r.coslow - d.coslow).abs() > 1e-6 {
                return Err(CliError::Usage(format!(
                    "{name}: draw {}: CoS-Low came out {:.6} where {} records {:.6}: not the model or method of that run",
                    d.seed,
                    r.coslow,
                    a.out.display(),
                    d.coslow
                )));
            }
            d.coslow_parts = r.parts;
        }
        save(results, &a.out)?;
    }
    Ok(())
}

fn run_task(engine: &AnyEngine, a: &Args, pack_bytes: u64, table: &Table, m: &ManifestTask) -> CliResult<TaskRun> {
    let task = &m.name;
    let s = settings(a);
    let prompts = model::prompts(table, None)?;
    let examples = model::examples(table, None)?;
    let rows = sample_rows(prompts.len(), s.pool_sample.unwrap_or(prompts.len()), s.sample_seed);
    let sample: Vec<_> = rows.iter().map(|&r| prompts[r].clone()).collect();
    let opts = ScoreOptions { batch_size: a.batch_size.max(1), chat_template: true, ..ScoreOptions::default() };
    progress(&format!("{task}: scoring {} of {} prompts", rows.len(), prompts.len()));
    let t = Instant::now();
    let scores: Vec<PromptScores> = pollster::block_on(engine.score(&sample, &opts, model::progress_printer()))?;
    let seconds_scoring = t.elapsed().as_secs_f64();
    let conf: Vec<Option<f64>> = scores.iter().map(|s| s.stats.avg_confidence).collect();
    let counted: Vec<&PromptScores> = scores.iter().filter(|s| s.stats.avg_confidence.is_some()).collect();
    let mut answers: Vec<&str> = rows.iter().map(|&r| examples[r].answer.trim()).collect();
    answers.sort_unstable();
    answers.dedup();
    let pool = PoolStats {
        scored: rows.len(),
        counted: counted.len(),
        mean_avg_confidence: mean(counted.iter().filter_map(|s| s.stats.avg_confidence)),
        mean_entropy: mean(counted.iter().filter_map(|s| s.stats.mean_entropy)),
        mean_generated_tokens: mean(scores.iter().map(|s| s.generated_ids.len() as f64)),
        distinct_answers: answers.len(),
    };

    let t = Instant::now();
    let mut draws = Vec::with_capacity(s.draws);
    let mut notes = Vec::new();
    for d in 0..s.draws as u64 {
        let sel = low_confidence_decile(&conf, K, d)?;
        for n in sel.notes {
            if !notes.contains(&n) {
                notes.push(n);
            }
        }
        let picked: Vec<usize> = sel.indices.iter().map(|&i| rows[i]).collect();
        let ex: Vec<Example> = picked.iter().map(|&r| examples[r].clone()).collect();
        let lora = lora_options(&s, d, pack_bytes);
        progress(&format!("{task}: draw {}/{}: CoS-Low of {} examples", d + 1, s.draws, ex.len()));
        let r = pollster::block_on(engine.coslow(&ex, &lora, model::progress_printer()))?;
        // With one counted answer token each, leaving the first out changes nothing (the
        // engine keeps at least one): the same gradients, so the same number, without a rerun.
        let skip_first = if s.skip_first && r.answer_tokens.iter().all(|&n| n <= 1) {
            Some(r.coslow)
        } else if s.skip_first {
            let o = LoraOptions { skip_answer_tokens: 1, parts: false, ..lora };
            Some(pollster::block_on(engine.coslow(&ex, &o, model::progress_printer()))?.coslow)
        } else {
            None
        };
        let mut labels: Vec<&str> = ex.iter().map(|e| e.answer.trim()).collect();
        labels.sort_unstable();
        labels.dedup();
        draws.push(DrawRun {
            distinct_answers: labels.len(),
            seed: d,
            coslow: r.coslow,
            coslow_centered: centered_coslow(&r.gram)?,
            coslow_skip_first: skip_first,
            coslow_parts: r.parts,
            mean_loss: mean(r.losses.iter().copied()),
            mean_answer_tokens: mean(r.answer_tokens.iter().map(|&n| n as f64)),
            mean_avg_confidence: mean(sel.indices.iter().filter_map(|&i| conf[i])),
            rows: picked,
        });
    }
    Ok(TaskRun {
        task: task.clone(),
        fidelity: m.fidelity.clone(),
        rows: prompts.len(),
        paper_auc: m.paper_auc.clone(),
        pool,
        draws,
        notes,
        seconds_scoring,
        seconds_coslow: t.elapsed().as_secs_f64(),
    })
}

pub fn run(a: Args) -> CliResult<()> {
    if a.draws == 0 {
        return Err(CliError::Usage("--draws must be at least 1".into()));
    }
    let mut tasks = manifest(&a.tasks)?;
    if !a.only.is_empty() {
        if let Some(u) = a.only.iter().find(|t| !tasks.iter().any(|m| m.name == **t)) {
            return Err(CliError::Usage(format!("--task {u}: not in {}", a.tasks.join("manifest.json").display())));
        }
        tasks.retain(|m| a.only.contains(&m.name));
    }
    // The model is identified by the bytes that run, read once (a resumed run checks them).
    let (engine, sha256) = model::load_hashed(&a.model, a.backend)?;
    let available = super::coslow::available_memory();
    let pack_bytes =
        super::coslow::pack_bytes(&engine, a.activation_memory, available, LoraOptions::default().pack_tokens);
    let mut results = start(&a, model_identity(&a, sha256)?)?;
    tasks.retain(|m| results.task(&m.name).is_none());
    // Cheapest first (rows × characters): an interrupted run has as many tasks done as it can.
    let mut tables = Vec::with_capacity(tasks.len());
    for t in tasks {
        let table = read_table_file(&a.tasks.join(format!("{}.csv", t.name)), &ReadOptions::default())?;
        let chars: usize = (0..table.rows.len())
            .flat_map(|r| (0..table.headers.len()).map(move |c| (r, c)))
            .map(|(r, c)| table.get(r, c).len())
            .sum();
        tables.push((chars, t, table));
    }
    tables.sort_by_key(|(chars, t, _)| (*chars, t.name.clone()));
    if tables.is_empty() {
        progress("every task is done");
    }
    // A resumed run keeps the first run's description unless the backend changed.
    let backend = engine.describe();
    if !results.machine.contains(&backend) {
        results.machine = format!("{}; {backend}", results.machine);
    }
    let total = tables.len();
    let start = Instant::now();
    for (i, (_, t, table)) in tables.iter().enumerate() {
        progress(&format!("task {}/{total}: {} ({:.0}s so far)", i + 1, t.name, start.elapsed().as_secs_f64()));
        let run = run_task(&engine, &a, pack_bytes, table, t)?;
        let c: Vec<String> = run.draws.iter().map(|d| format!("{:.4}", d.coslow)).collect();
        progress(&format!(
            "{}: CoS-Low {} ({:.0}s scoring, {:.0}s CoS-Low)",
            t.name,
            c.join(" "),
            run.seconds_scoring,
            run.seconds_coslow
        ));
        results.tasks.push(run);
        save(&results, &a.out)?;
    }
    if total > 0 {
        progress(&format!("{total} tasks in {:.0}s; results in {}", start.elapsed().as_secs_f64(), a.out.display()));
    }
    if a.fill_parts {
        fill_parts(&engine, &a, pack_bytes, &mut results)?;
    }
    Ok(())
}
