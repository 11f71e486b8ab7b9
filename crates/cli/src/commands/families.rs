use labelcast_core::forecast::families;
use serde_json::json;

use super::forecast::coefficients_json;
use crate::error::CliResult;

#[derive(clap::Args)]
pub struct Args {
    /// Print machine-readable JSON on stdout.
    #[arg(long)]
    json: bool,
}

pub fn run(a: Args) -> CliResult<()> {
    let all = families();
    if a.json {
        super::print_json(&json!(all.iter().map(coefficients_json).collect::<Vec<_>>()));
    } else {
        for c in &all {
            println!(
                "{:<26} c = {} ± {}, I = {} ± {}  ({})\n    {}",
                c.name, c.slope, c.slope_se, c.intercept, c.intercept_se, c.label, c.provenance
            );
        }
    }
    Ok(())
}
