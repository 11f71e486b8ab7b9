use std::path::{Path, PathBuf};

use labelcast_core::band::{band_with, coslow_bootstrap, BandExtras, BandOptions};
use labelcast_core::forecast::{coslow_from_matrix, Coefficients, Forecast, DEFAULT_TARGETS};
use labelcast_core::Error;
use serde_json::{json, Map, Value};

use std::collections::BTreeMap;

use labelcast_core::suite::fit::{run_features, Feature, RunInputs};
use labelcast_core::table::{ReadOptions, Table};

use super::coefsets::{choose, chosen_json, coefficients_json, SetArgs};
use super::coslow::{result_json, CosLowArgs};
use crate::error::{CliError, CliResult};
use crate::io::{read_bytes, read_table_file};

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("coef").args(["coefficients", "family"])))]
#[command(group(clap::ArgGroup::new("input").required(true).args(["coslow", "cosines", "data"])))]
pub struct Args {
    /// Compute CoS-Low from labeled examples with a model (`--model M --data LABELED`), then forecast.
    #[command(flatten)]
    lora: CosLowArgs,
    /// CoS-Low of the task (median pairwise gradient cosine), in [-1, 1].
    #[arg(long, allow_hyphen_values = true)]
    coslow: Option<f64>,
    /// A JSON file holding the square matrix of pairwise cosines (e.g. from `labelcast coslow`);
    /// gives CoS-Low and a bootstrap band over examples.
    #[arg(long)]
    cosines: Option<PathBuf>,
    /// Custom coefficients `C,I` for AUC' = C * CoS-Low + I.
    #[arg(long, value_name = "C,I", allow_hyphen_values = true)]
    coefficients: Option<String>,
    /// A published coefficient set (see `labelcast families`). Without it (and without
    /// --coefficients), --model picks its calibrated proxy set.
    #[arg(long)]
    family: Option<String>,
    #[command(flatten)]
    sets: SetArgs,
    /// The scored pool (`labelcast score` output): its avg_confidence and mean_entropy feed a
    /// proxy set that needs them, and its size is compared with the budgets.
    #[arg(long)]
    scores: Option<PathBuf>,
    /// Leave the error between tasks (a published set's 8.6%, a proxy set's residuals) out of
    /// the band, so it shows only CoS-Low's and the coefficients' uncertainty.
    #[arg(long)]
    without_task_error: bool,
    /// Target shares of attainable performance (repeatable); default 0.5 0.7 0.8 0.9 0.95.
    #[arg(long = "target", num_args = 1..)]
    targets: Vec<f64>,
    /// Largest budget of the forecast's normalized axis.
    #[arg(long, default_value_t = 5000.0)]
    max_budget: f64,
    /// Resamples for the uncertainty band.
    #[arg(long, default_value_t = 2000)]
    resamples: usize,
    /// Seed of the uncertainty band's resampling.
    #[arg(long, default_value_t = 0)]
    band_seed: u64,
    /// Central probability of the band (0.9 = 5th to 95th percentile).
    #[arg(long, default_value_t = 0.9)]
    level: f64,
    /// Print machine-readable JSON on stdout.
    #[arg(long)]
    json: bool,
}

fn parse_coefficients(s: &str) -> CliResult<Coefficients> {
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    let parse = |p: &str| p.parse::<f64>().ok().filter(|v| v.is_finite());
    match parts.as_slice() {
        [c, i] => match (parse(c), parse(i)) {
            (Some(c), Some(i)) => Ok(Coefficients::custom(c, i)),
            _ => Err(CliError::Usage(format!("--coefficients: \"{s}\" is not two numbers C,I"))),
        },
        _ => Err(CliError::Usage(format!("--coefficients: expected C,I (two numbers), got \"{s}\""))),
    }
}

fn read_matrix(path: &Path) -> CliResult<Vec<Vec<f64>>> {
    let bytes = read_bytes(path)?;
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|e| Error::Invalid(format!("{}: not a JSON matrix of cosines: {e}", path.display())))?;
    // Accept either a bare matrix or the object `labelcast coslow --json` prints.
    let m = value.get("cosines").cloned().unwrap_or(value);
    serde_json::from_value(m).map_err(|e| {
        CliError::Core(Error::Invalid(format!("{}: expected a list of lists of numbers: {e}", path.display())))
    })
}

/// The numbers of a column, blank and unparsable cells left out; `None` without the column.
fn column_numbers(t: &Table, name: &str) -> Option<Vec<f64>> {
    let c = t.column(name).ok()?;
    Some((0..t.rows.len()).filter_map(|r| t.get(r, c).trim().parse::<f64>().ok()).filter(|v| v.is_finite()).collect())
}

pub fn run(a: Args) -> CliResult<()> {
    let custom = a.coefficients.as_deref().map(parse_coefficients).transpose()?;
    let targets: Vec<f64> = if a.targets.is_empty() { DEFAULT_TARGETS.to_vec() } else { a.targets.clone() };
    let opts = BandOptions { resamples: a.resamples, seed: a.band_seed, level: a.level };
    let pool = a.scores.as_ref().map(|p| read_table_file(p, &ReadOptions::default())).transpose()?;

    let mut measured = None;
    let mut model_sha = None;
    let mut features = BTreeMap::new();
    let (coslow, samples) = if let Some(path) = &a.cosines {
        let m = read_matrix(path)?;
        (coslow_from_matrix(&m)?, Some(coslow_bootstrap(&m, a.resamples, a.band_seed)?))
    } else if a.lora.data.is_some() {
        let (r, seconds, table, sha256) = a.lora.run_with_table()?;
        model_sha = Some(sha256);
        let samples = coslow_bootstrap(&r.cosines, a.resamples, a.band_seed)?;
        measured = Some(result_json(&r, seconds));
        // Examples skipped for their length have no gradient: the features are of the others.
        let ran: Vec<usize> = (0..table.rows.len()).filter(|&i| r.skipped.get(i).is_none_or(Option::is_none)).collect();
        let table = if ran.len() < table.rows.len() { table.select_rows(&ran) } else { table };
        let labels: Vec<String> = (0..table.rows.len()).filter_map(|i| table.answer(i).map(str::to_string)).collect();
        let sample_conf = column_numbers(&table, "avg_confidence");
        let pool_conf = pool.as_ref().and_then(|t| column_numbers(t, "avg_confidence"));
        let pool_ent = pool.as_ref().and_then(|t| column_numbers(t, "mean_entropy"));
        features = run_features(&RunInputs {
            coslow: r.coslow,
            gram: Some(&r.gram),
            losses: Some(&r.losses),
            answer_tokens: Some(&r.answer_tokens),
            labels: Some(&labels),
            sample_confidence: sample_conf.as_deref(),
            pool_confidence: pool_conf.as_deref(),
            pool_entropy: pool_ent.as_deref(),
        });
        (r.coslow, Some(samples))
    } else {
        (a.coslow.expect("clap requires --coslow, --cosines or --data"), None)
    };
    features.insert(Feature::Coslow, coslow);
    let model = a.lora.model.as_deref().map(|p| (p, model_sha.take()));
    let chosen = choose(&a.sets, model, a.family.as_deref(), custom)?;
    let coef = chosen.coefficients(&features)?;
    let extras = if a.without_task_error { BandExtras::default() } else { chosen.band_extras() };
    let forecast = Forecast::from_coslow(coslow, &coef, a.max_budget)?;
    let budgets = targets.iter().map(|&t| Ok((t, forecast.budget_for(t)?))).collect::<Result<Vec<_>, Error>>()?;
    let band = band_with(coslow, samples.as_deref(), &coef, &targets, a.max_budget, &opts, &extras)?;
    let pool_rows = pool.as_ref().map(|t| t.rows.len());
    let pool_notes: Vec<String> = match pool_rows {
        Some(n) => budgets.iter().filter_map(|&(t, b)| labelcast_core::forecast::beyond_pool(t, b, n)).collect(),
        None => vec![],
    };

    if a.json {
        let mut b = Map::new();
        let mut bb = Map::new();
        for ((t, budget), (_, iv)) in budgets.iter().zip(&band.budgets) {
            b.insert(t.to_string(), json!(budget));
            bb.insert(t.to_string(), json!({"lo": iv.lo, "mid": iv.mid, "hi": iv.hi}));
        }
        super::print_json(&json!({
            "coslow": coslow,
            "coefficients": coefficients_json(&coef),
            "coefficient_set": chosen_json(&chosen, &coef),
            "predicted_auc": forecast.auc,
            "p": forecast.p,
            "max_budget": forecast.max_budget,
            "budgets": b,
            "band": {
                "level": a.level,
                "coslow": {"lo": band.coslow.lo, "mid": band.coslow.mid, "hi": band.coslow.hi},
                "predicted_auc": {"lo": band.auc.lo, "mid": band.auc.mid, "hi": band.auc.hi},
                "budgets": bb,
                "sources": band.sources.iter().map(|s| s.name()).collect::<Vec<_>>(),
                "notes": band.notes,
            },
            "measured": measured,
            "pool_rows": pool_rows,
            "pool_notes": pool_notes,
        }));
    } else {
        if let Some(w) = &chosen.warning {
            eprintln!("labelcast: warning: {w}");
        }
        println!(
            "CoS-Low {coslow:.3} with {} → predicted AUC' {:.2} (p = {:.2})",
            coef.label, forecast.auc, forecast.p
        );
        println!("{}", chosen.sentence);
        println!("{:>8}  {:>10}  {:>24}", "target", "budget", format!("{:.0}% band", a.level * 100.0));
        for ((t, budget), (_, iv)) in budgets.iter().zip(&band.budgets) {
            println!(
                "{:>7.0}%  {:>10}  {:>11} – {:<11}",
                t * 100.0,
                labelcast_core::forecast::round_budget(*budget),
                labelcast_core::forecast::round_budget(iv.lo),
                labelcast_core::forecast::round_budget(iv.hi)
            );
        }
        for n in &pool_notes {
            println!("note: {n}");
        }
    }
    Ok(())
}
