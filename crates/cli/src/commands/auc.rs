use std::path::PathBuf;

use labelcast_core::auc::{auc, curve_from_table, AucOptions};
use labelcast_core::table::ReadOptions;
use serde_json::json;

use crate::error::CliResult;
use crate::io::read_table_file;

#[derive(clap::Args)]
pub struct Args {
    /// CSV/JSONL with columns `budget,score` (budget 0 = zero-shot).
    #[arg(long)]
    curve: PathBuf,
    /// Best attainable score (e.g. human performance); the best measured score when absent or lower.
    #[arg(long)]
    ceiling: Option<f64>,
    /// Largest budget kept on the curve.
    #[arg(long, default_value_t = 5000)]
    max_budget: u64,
    /// Print machine-readable JSON on stdout.
    #[arg(long)]
    json: bool,
}

pub fn run(a: Args) -> CliResult<()> {
    let table = read_table_file(&a.curve, &ReadOptions { require_prompt: false, ..Default::default() })?;
    let points = curve_from_table(&table)?;
    let report = auc(&points, &AucOptions { ceiling: a.ceiling, max_budget: a.max_budget })?;
    if a.json {
        super::print_json(&json!({
            "auc": report.auc,
            "ceiling": report.ceiling,
            "min_score": report.min_score,
            "dropped_budgets": report.dropped,
            "filled_budgets": report.filled,
            "points": report.points.iter().map(|p| json!({
                "budget": p.budget, "score": p.score, "x": p.x, "y": p.y,
            })).collect::<Vec<_>>(),
        }));
    } else {
        println!("AUC = {:.6}  (ceiling {}, min score {})", report.auc, report.ceiling, report.min_score);
        if !report.dropped.is_empty() {
            println!("dropped budgets (outside 0 and 50..={}): {:?}", a.max_budget, report.dropped);
        }
        if !report.filled.is_empty() {
            println!("missing standard budgets filled (score 0, then carried forward): {:?}", report.filled);
        }
    }
    Ok(())
}
