use std::path::PathBuf;

use labelcast_core::calibrate::{calibrate, tasks_from_table};
use labelcast_core::table::ReadOptions;
use serde_json::json;

use super::coefsets::coefficients_json;
use crate::error::CliResult;
use crate::io::read_table_file;

#[derive(clap::Args)]
pub struct Args {
    /// CSV/JSONL with columns `task,coslow,auc`, one row per task with a measured learning curve.
    #[arg(long)]
    tasks: PathBuf,
    /// Largest budget of the forecast's normalized axis (for the budget errors).
    #[arg(long, default_value_t = 5000.0)]
    max_budget: f64,
    /// Print machine-readable JSON on stdout.
    #[arg(long)]
    json: bool,
}

pub fn run(a: Args) -> CliResult<()> {
    let table = read_table_file(&a.tasks, &ReadOptions { require_prompt: false, ..Default::default() })?;
    let tasks = tasks_from_table(&table)?;
    let cal = calibrate(&tasks, a.max_budget)?;
    if a.json {
        super::print_json(&json!({
            "coefficients": coefficients_json(&cal.coefficients),
            "slope": cal.coefficients.slope,
            "intercept": cal.coefficients.intercept,
            "r2": cal.r2,
            "tasks": cal.n,
            "loo_auc_mae": cal.loo_auc_mae,
            "loo_budget90_mae": cal.loo_budget90_mae,
            "loo_budget90_mape": cal.loo_budget90_mape,
            "loo": cal.loo.iter().map(|r| json!({
                "task": r.task, "auc": r.auc, "predicted_auc": r.predicted_auc,
                "budget90": r.budget90, "predicted_budget90": r.predicted_budget90,
            })).collect::<Vec<_>>(),
        }));
    } else {
        let c = &cal.coefficients;
        println!(
            "AUC' = {:.4} (± {:.4}) × CoS-Low + {:.4} (± {:.4})   R² = {:.4}, {} tasks",
            c.slope, c.slope_se, c.intercept, c.intercept_se, cal.r2, cal.n
        );
        println!(
            "leave-one-out: AUC mean abs error {:.4}; budget@90% mean abs error {:.0} examples ({:.1}%)",
            cal.loo_auc_mae,
            cal.loo_budget90_mae,
            cal.loo_budget90_mape * 100.0
        );
        println!("use it with: labelcast forecast --coefficients {},{} --coslow X", c.slope, c.intercept);
    }
    Ok(())
}
