use labelcast_core::forecast::families;
use serde_json::json;

use super::coefsets::{all_proxies, coefficients_json, proxy_json, SetArgs};
use crate::error::CliResult;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    sets: SetArgs,
    /// Print machine-readable JSON on stdout.
    #[arg(long)]
    json: bool,
}

pub fn run(a: Args) -> CliResult<()> {
    let all = families();
    let proxies = all_proxies(&a.sets)?;
    if a.json {
        super::print_json(&json!({
            "published": all.iter().map(coefficients_json).collect::<Vec<_>>(),
            "proxy": proxies.iter().map(proxy_json).collect::<Vec<_>>(),
        }));
        return Ok(());
    }
    println!("Published (for CoS-Low computed by that model itself):");
    for c in &all {
        println!(
            "  {:<26} c = {} ± {}, I = {} ± {}  ({})\n      {}",
            c.name, c.slope, c.slope_se, c.intercept, c.intercept_se, c.label, c.provenance
        );
    }
    println!("\nCalibrated proxy sets (CoS-Low of one model → a family's AUC; errors leave one task out):");
    for p in &proxies {
        let mut verdict = if p.beats_baseline {
            format!("AUC' = {}", p.model_fit.formula())
        } else {
            "does not beat the average task: the forecast shows the average task's budget".to_string()
        };
        if let (true, Some(t)) = (p.coslow_opposite, p.coslow_permutation) {
            verdict += &format!(
                " (CoS-Low runs against the paper's sign; permutation test p = {}, needed < {:.4})",
                super::calibration_report::p_value(t.p, t.permutations),
                p.permutation_level
            );
        }
        println!(
            "  {}\n      {verdict}\n      n = {}, R² (CoS-Low) = {:.2}, LOO error of AUC {:.3} (CoS-Low alone {:.3}, \
             average task {:.3}), 90% budget off by ×{:.1}, 90% band covered {:.0}% of tasks\n      {}",
            p.name,
            p.n,
            p.coslow_r2,
            p.loo_auc_mae,
            p.coslow_loo_mae,
            p.baseline_loo_auc_mae,
            p.loo_budget90_factor,
            p.coverage * 100.0,
            p.provenance
        );
    }
    Ok(())
}
