use std::path::PathBuf;

use labelcast_core::scores::Scores;
use labelcast_core::table::{ReadOptions, Table};
use labelcast_engine::{BackendChoice, LongRows, PromptScores, ScoreOptions};
use serde_json::json;

use crate::error::{CliError, CliResult};
use crate::io::{progress, read_table_file, write_table};
use crate::model::{self, Template};

/// Arguments shared by `score` and the model form of `select`.
#[derive(clap::Args)]
pub struct ScoreArgs {
    /// A .gguf file, or a folder with *.safetensors, config.json and tokenizer.json.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// chat: wrap each prompt in the model's chat template; raw: use the prompt as written.
    #[arg(long, value_enum, default_value_t = Template::Chat)]
    pub template: Template,
    /// Greedy tokens generated per prompt (METHOD.md 1b: 30).
    #[arg(long, default_value_t = labelcast_core::method::MAX_NEW_TOKENS)]
    pub max_new_tokens: usize,
    /// Prompts run together (grouped by length).
    #[arg(long, default_value_t = ScoreOptions::default().batch_size)]
    pub batch_size: usize,
    /// gpu: WGSL kernels on wgpu (Vulkan/Metal); cpu: candle; auto: a hardware GPU if there is one.
    #[arg(long, value_parser = model::backend_values(), default_value_t = BackendChoice::Auto)]
    pub backend: BackendChoice,
    /// A prompt longer than the model's context: cut its text to fit (scored on its
    /// beginning; the `cut` column says so), skip it (no scores; the `skipped` column says
    /// so), or fail naming the row.
    #[arg(long, value_parser = model::long_rows_values(), default_value_t = LongRows::Cut)]
    pub long_prompts: LongRows,
    /// The task's instruction, the system message of every row whose file gives none (no system
    /// or instruction column, or an empty cell); with --template chat.
    #[arg(long)]
    pub instruction: Option<String>,
}

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    score: ScoreArgs,
    /// Prompts to score (CSV/JSONL with a prompt column; a system column is used with --template chat).
    #[arg(long)]
    data: PathBuf,
    /// Also write each prompt's embedding (mean-pooled last hidden state) as a JSON array column.
    #[arg(long)]
    embeddings: bool,
    /// Output: every input column unchanged plus the scores (.csv or .jsonl).
    #[arg(long)]
    out: PathBuf,
    /// Print a machine-readable summary on stdout.
    #[arg(long)]
    json: bool,
}

/// The column `score` adds when prompts were skipped for their length; `select` leaves its
/// non-empty rows out.
pub const SKIPPED_COLUMN: &str = "skipped";

fn skipped_note(tokens: usize) -> String {
    format!("{tokens} tokens, longer than the model's context")
}

fn cell(v: Option<f64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

/// Appends the score columns (and optionally embeddings) to a copy of the table.
pub fn with_scores(table: &Table, scores: &[PromptScores], embeddings: bool) -> CliResult<Table> {
    let mut out = table.clone();
    for (i, name) in Scores::COLUMNS.into_iter().enumerate() {
        out.push_column(name, scores.iter().map(|s| cell(s.stats.values()[i])).collect())?;
    }
    out.push_column("generated", scores.iter().map(|s| s.generated_text.clone()).collect())?;
    // Only when a prompt was cut, so that the usual output keeps its columns.
    if scores.iter().any(|s| s.cut.is_some()) {
        let cut = |s: &PromptScores| s.cut.map(|c| format!("cut from {} to {} tokens", c.tokens, c.kept));
        out.push_column("cut", scores.iter().map(|s| cut(s).unwrap_or_default()).collect())?;
    }
    if scores.iter().any(|s| s.skipped.is_some()) {
        let skipped = |s: &PromptScores| s.skipped.map(skipped_note).unwrap_or_default();
        out.push_column(SKIPPED_COLUMN, scores.iter().map(skipped).collect())?;
    }
    if embeddings {
        let emb = scores.iter().map(|s| serde_json::to_string(&s.embedding).unwrap_or_default()).collect();
        out.push_column("embedding", emb)?;
    }
    Ok(out)
}

/// Scores every row of `table` with the model in `a`.
pub fn score_table(a: &ScoreArgs, table: &Table) -> CliResult<Vec<PromptScores>> {
    let path = a.model.as_ref().ok_or_else(|| CliError::Usage("--model is required to score prompts".into()))?;
    let engine = model::load(path, a.backend)?;
    let prompts = model::prompts(table, a.instruction.as_deref())?;
    let opts = ScoreOptions {
        max_new_tokens: a.max_new_tokens,
        batch_size: a.batch_size.max(1),
        chat_template: a.template.is_chat(),
        long_prompts: a.long_prompts,
        ..ScoreOptions::default()
    };
    progress(&format!(
        "scoring {} prompts ({} new tokens at most each; the confidence ignores {})",
        prompts.len(),
        opts.max_new_tokens,
        engine.text().special.exclusion.describe()
    ));
    let scores = pollster::block_on(engine.score(&prompts, &opts, model::progress_printer()))
        .map_err(|e| model::named_row(table, e, " (--long-prompts cut scores its beginning)"))?;
    let ctx = engine.config().max_position_embeddings;
    let cut: Vec<String> = (0..scores.len()).filter(|&i| scores[i].cut.is_some()).map(|i| table.row_name(i)).collect();
    if !cut.is_empty() {
        progress(&format!(
            "{} prompts were longer than the model's context of {ctx} tokens and were cut to fit, so they are \
             scored on their beginning ({}; --long-prompts skip leaves them out, fail stops instead)",
            cut.len(),
            model::list_names(&cut)
        ));
    }
    let skipped: Vec<String> =
        (0..scores.len()).filter(|&i| scores[i].skipped.is_some()).map(|i| table.row_name(i)).collect();
    if !skipped.is_empty() {
        progress(&format!(
            "{} prompts were longer than the model's context of {ctx} tokens and were skipped: they have no \
             scores, and selection leaves them out ({}; --long-prompts cut scores their beginning)",
            skipped.len(),
            model::list_names(&skipped)
        ));
    }
    Ok(scores)
}

pub fn run(a: Args) -> CliResult<()> {
    let table = read_table_file(&a.data, &ReadOptions::default())?;
    let start = std::time::Instant::now();
    let scores = score_table(&a.score, &table)?;
    let seconds = start.elapsed().as_secs_f64();
    write_table(&a.out, &with_scores(&table, &scores, a.embeddings)?)?;
    if a.json {
        let conf: Vec<f64> = scores.iter().filter_map(|s| s.stats.avg_confidence).collect();
        super::print_json(&json!({
            "rows": scores.len(),
            "scored": conf.len(),
            "no_tokens": scores.iter().filter(|s| s.skipped.is_none() && s.stats.avg_confidence.is_none()).count(),
            "cut": scores.iter().filter(|s| s.cut.is_some()).count(),
            "skipped": scores.iter().filter(|s| s.skipped.is_some()).count(),
            "mean_avg_confidence": labelcast_core::stats::mean(&conf),
            "seconds": seconds,
            "out": a.out.display().to_string(),
        }));
    }
    Ok(())
}
