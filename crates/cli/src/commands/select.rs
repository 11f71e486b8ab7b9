use std::path::PathBuf;

use labelcast_core::select::{choose, Measure, SelectStrategy, Selection};
use labelcast_core::table::{ReadOptions, Role, Table};
use labelcast_core::Error;
use serde_json::json;

use super::score::{score_table, with_scores, ScoreArgs, SKIPPED_COLUMN};
use crate::error::{CliError, CliResult};
use crate::io::{progress, read_table_file, write_table};

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("pool").required(true).args(["scores", "data"])))]
pub struct Args {
    /// Pool with score columns (avg_confidence, mean_entropy, least_confidence, mean_margin,
    /// min_margin, as `labelcast score` writes them) and, for diversity, an embedding column.
    #[arg(long)]
    scores: Option<PathBuf>,
    /// Unscored pool: score it with --model first (the output then carries the scores).
    #[arg(long, requires = "model")]
    data: Option<PathBuf>,
    #[command(flatten)]
    score: ScoreArgs,
    /// How many rows to choose.
    #[arg(long, default_value_t = labelcast_core::method::EXAMPLES)]
    k: usize,
    /// low-confidence-decile | avg-confidence | mean-entropy | least-confidence | mean-margin |
    /// min-margin | k-center | facility-location | uncertain-diverse
    #[arg(long, default_value = "low-confidence-decile")]
    strategy: SelectStrategy,
    /// Uncertainty measure used by uncertain-diverse.
    #[arg(long, default_value = "mean-entropy")]
    measure: Measure,
    /// Column holding each row's embedding as a JSON array of numbers.
    #[arg(long, default_value = "embedding")]
    embedding_column: String,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Choose only among rows without an answer (the next batch to annotate, as the page
    /// ranks it); needs an answer column. Without it every row is a candidate, as for the
    /// first 32, where answers already given are used as they are.
    #[arg(long)]
    exclude_labeled: bool,
    /// Output file with the chosen rows, every input column unchanged (.csv or .jsonl).
    #[arg(long)]
    out: PathBuf,
    /// Print a machine-readable summary on stdout.
    #[arg(long)]
    json: bool,
}

fn scores(table: &Table, m: Measure) -> CliResult<Vec<Option<f64>>> {
    let col = table.column(m.column())?;
    Ok(table.optional_numbers(col)?)
}

/// Parses the embedding column; every bad row is reported with its line.
fn embeddings(table: &Table, column: &str) -> CliResult<Vec<Vec<f32>>> {
    let col = table.column(column)?;
    let mut out = Vec::with_capacity(table.rows.len());
    let mut problems = Vec::new();
    for (r, row) in table.rows.iter().enumerate() {
        match serde_json::from_str::<Vec<f32>>(table.get(r, col)) {
            Ok(v) => out.push(v),
            Err(e) => problems.push(Error::Invalid(format!(
                "{}, line {} (row {}), column \"{column}\": not a JSON array of numbers: {e}",
                table.file,
                row.line,
                r + 1
            ))),
        }
    }
    match problems.len() {
        0 => Ok(out),
        1 => Err(problems.remove(0).into()),
        _ => Err(Error::Many(problems).into()),
    }
}

pub fn run(a: Args) -> CliResult<()> {
    let table = match (&a.scores, &a.data) {
        (Some(path), _) => read_table_file(path, &ReadOptions { require_prompt: false, ..Default::default() })?,
        (None, Some(path)) => {
            let pool = read_table_file(path, &ReadOptions::default())?;
            let scores = score_table(&a.score, &pool)?;
            with_scores(&pool, &scores, a.strategy.needs_embeddings())?
        }
        (None, None) => unreachable!("clap requires --scores or --data"),
    };
    // Candidates: every row, or the unlabeled ones, less the rows scoring skipped for their
    // length (they have no scores or embedding); `sel` indexes `cand`.
    let skipped: Vec<bool> = match table.column(SKIPPED_COLUMN) {
        Ok(col) => (0..table.rows.len()).map(|r| !table.get(r, col).trim().is_empty()).collect(),
        Err(_) => vec![false; table.rows.len()],
    };
    let left_out = skipped.iter().filter(|&&s| s).count();
    if left_out > 0 {
        progress(&format!(
            "{left_out} rows were skipped at scoring for being longer than the model's context \
             (column \"{SKIPPED_COLUMN}\"); they are left out of the choice"
        ));
    }
    let cand: Vec<usize> = match (a.exclude_labeled, super::labeled(&table)) {
        (false, _) => (0..table.rows.len()).filter(|&r| !skipped[r]).collect(),
        (true, Some(labeled)) => (0..table.rows.len()).filter(|&r| !labeled[r] && !skipped[r]).collect(),
        (true, None) => {
            return Err(CliError::Usage(format!(
                "--exclude-labeled: {} has no answer column (looked for {})",
                table.file,
                Role::Answer.aliases().join(", ")
            )))
        }
    };
    if cand.is_empty() {
        let why =
            if left_out > 0 { "every row has an answer or was skipped at scoring" } else { "every row has an answer" };
        return Err(CliError::Usage(format!("{}: {why}, so none is left to choose", table.file)));
    }
    let subset = (cand.len() < table.rows.len()).then(|| table.select_rows(&cand));
    let pool = subset.as_ref().unwrap_or(&table);
    let sel: Selection =
        choose(a.strategy, a.measure, a.k, a.seed, |m| scores(pool, m), || embeddings(pool, &a.embedding_column))?;
    for note in &sel.notes {
        progress(note);
    }
    let picked: Vec<usize> = sel.indices.iter().map(|&i| cand[i]).collect();
    write_table(&a.out, &table.select_rows(&picked))?;
    if a.json {
        super::print_json(&json!({
            "strategy": a.strategy.to_string(),
            "k": picked.len(),
            "rows": picked.iter().map(|i| i + 1).collect::<Vec<_>>(),
            "lines": picked.iter().map(|&i| table.rows[i].line).collect::<Vec<_>>(),
            "notes": sel.notes,
            "out": a.out.display().to_string(),
        }));
    }
    Ok(())
}
