use std::path::PathBuf;

use labelcast_core::order::{order, Buckets, OrderOptions, Strategy};
use labelcast_core::table::{ReadOptions, Role, Table};
use serde_json::json;

use crate::error::{CliError, CliResult};
use crate::io::{progress, read_table_file, write_table};

#[derive(clap::Args)]
pub struct Args {
    /// Labeled rows (CSV/JSONL). When it has an answer column, rows with an empty answer are
    /// left out (they cannot be trained on) and named on stderr.
    #[arg(long)]
    data: PathBuf,
    /// random | blocked | curriculum | curriculum-buckets | blocked-curriculum | interleaved | interleaved-curriculum
    #[arg(long)]
    strategy: Strategy,
    /// Category column (default: the detected `category` role; none = one category).
    #[arg(long)]
    category_column: Option<String>,
    /// Difficulty column, numbers, higher = harder (default: the detected `difficulty` role).
    #[arg(long)]
    difficulty_column: Option<String>,
    /// Easy/medium/hard split: `quantiles:A,B` (default quantiles:0.3333,0.6667) or `thresholds:A,B`.
    #[arg(long)]
    buckets: Option<String>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output file (.csv, or .jsonl for JSON Lines).
    #[arg(long)]
    out: PathBuf,
    /// Print a machine-readable summary on stdout.
    #[arg(long)]
    json: bool,
}

fn parse_buckets(s: &str) -> CliResult<Buckets> {
    let bad = || CliError::Usage(format!("--buckets: expected quantiles:A,B or thresholds:A,B, got \"{s}\""));
    let (kind, rest) = s.split_once(':').ok_or_else(bad)?;
    let (x, y) = rest.split_once(',').ok_or_else(bad)?;
    let x: f64 = x.trim().parse().map_err(|_| bad())?;
    let y: f64 = y.trim().parse().map_err(|_| bad())?;
    match kind {
        "quantiles" => Ok(Buckets::Quantiles(x, y)),
        "thresholds" => Ok(Buckets::Thresholds(x, y)),
        _ => Err(bad()),
    }
}

/// The column named on the command line, else the detected role's column.
fn column_for(table: &Table, named: &Option<String>, role: Role) -> CliResult<Option<usize>> {
    match named {
        Some(name) => Ok(Some(table.column(name)?)),
        None => Ok(match role {
            Role::Category => table.roles.category,
            Role::Difficulty => table.roles.difficulty,
            _ => None,
        }),
    }
}

pub fn run(a: Args) -> CliResult<()> {
    let read = read_table_file(&a.data, &ReadOptions::default())?;
    // Only labeled rows are training data: the page's training order takes the same rows.
    let (table, left_out) = match super::labeled(&read) {
        Some(labeled) if labeled.contains(&false) => {
            let keep: Vec<usize> = (0..read.rows.len()).filter(|&r| labeled[r]).collect();
            let lines: Vec<usize> = (0..read.rows.len()).filter(|&r| !labeled[r]).map(|r| read.rows[r].line).collect();
            progress(&format!(
                "left out {} row{} without an answer ({})",
                lines.len(),
                if lines.len() == 1 { "" } else { "s" },
                super::line_list(&lines)
            ));
            (read.select_rows(&keep), lines)
        }
        _ => (read, Vec::new()),
    };
    if table.rows.is_empty() {
        return Err(CliError::Usage(format!(
            "{}: no row has an answer, so there is nothing to order",
            a.data.display()
        )));
    }
    let cat_col = column_for(&table, &a.category_column, Role::Category)?;
    let diff_col = column_for(&table, &a.difficulty_column, Role::Difficulty)?;
    let categories: Option<Vec<String>> =
        cat_col.map(|c| (0..table.rows.len()).map(|r| table.get(r, c).to_string()).collect());
    let difficulty = diff_col.map(|c| table.numbers(c)).transpose()?;
    let buckets = match &a.buckets {
        Some(s) => parse_buckets(s)?,
        None => Buckets::default(),
    };
    let opts = OrderOptions { strategy: a.strategy, seed: a.seed, buckets };
    let perm = order(categories.as_deref(), difficulty.as_deref(), table.rows.len(), &opts)?;
    write_table(&a.out, &table.select_rows(&perm))?;
    if a.json {
        super::print_json(&json!({
            "strategy": a.strategy.name(),
            "rows": perm.len(),
            "left_out_lines": left_out,
            "category_column": cat_col.map(|c| table.headers[c].clone()),
            "difficulty_column": diff_col.map(|c| table.headers[c].clone()),
            "out": a.out.display().to_string(),
        }));
    }
    Ok(())
}
