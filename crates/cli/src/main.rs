//! `labelcast`: the command line over labelcast-core and the model engine.
//!
//! Results go to stdout (`--json` for machine-readable output), progress and errors to
//! stderr. Any error exits with status 2; Ctrl-C exits with 130 and leaves no half-written
//! output file.

mod commands;
mod error;
mod io;
mod model;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::commands::{
    auc, calibrate, calibrate_suite, calibration_report, coslow, families, forecast, order, score, select,
};

#[derive(Parser)]
#[command(
    name = "labelcast",
    version,
    about = "Forecast how many labeled examples a fine-tuning task needs, pick what to annotate and order training data."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Data-efficiency AUC of a measured learning curve (METHOD.md 1a).
    Auc(auc::Args),
    /// Forecast the data-efficiency curve and label budgets from a CoS-Low value (METHOD.md 1e).
    // Boxed: its arguments are several times the others' (clap parses them once).
    Forecast(Box<forecast::Args>),
    /// Fit forecast coefficients (c, I) from tasks with measured CoS-Low and AUC.
    Calibrate(calibrate::Args),
    /// Run the paper's pipeline on every task of a calibration suite and record CoS-Low and side statistics per task.
    CalibrateSuite(calibrate_suite::Args),
    /// Write docs/calibration.md (tables, plots, fits, coverage) and the fit from a calibrate-suite results file.
    CalibrationReport(calibration_report::Args),
    /// Score a model's confidence on every prompt: greedy generation and uncertainty (METHOD.md 1b, 2).
    Score(score::Args),
    /// Choose rows to annotate from a scores file, or score a pool with --model first (METHOD.md 1c and 2).
    Select(select::Args),
    /// CoS-Low of labeled examples: median pairwise cosine of per-example LoRA gradients (METHOD.md 1d).
    Coslow(coslow::Args),
    /// Order labeled rows for training (METHOD.md 3).
    Order(order::Args),
    /// List the built-in coefficient sets and their provenance.
    Families(families::Args),
}

fn main() -> ExitCode {
    // candle's element-wise ops use a spin-waiting thread pool that, on small machines, costs
    // more than it saves (a third of the CPU time on 2 cores); matmuls still use every core.
    if std::env::var_os("CANDLE_NUM_THREADS").is_none() {
        std::env::set_var("CANDLE_NUM_THREADS", "1");
    }
    let cli = Cli::parse();
    // After parsing: `--help` and usage errors need no handler.
    io::on_interrupt();
    let result = match cli.command {
        Command::Auc(a) => auc::run(a),
        Command::Forecast(a) => forecast::run(*a),
        Command::Calibrate(a) => calibrate::run(a),
        Command::CalibrateSuite(a) => calibrate_suite::run(a),
        Command::CalibrationReport(a) => calibration_report::run(a),
        Command::Score(a) => score::run(a),
        Command::Select(a) => select::run(a),
        Command::Coslow(a) => coslow::run(a),
        Command::Order(a) => order::run(a),
        Command::Families(a) => families::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("labelcast: error: {e}");
            ExitCode::from(2)
        }
    }
}
