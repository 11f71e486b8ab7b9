//! Which coefficient set a forecast uses: the model's calibrated proxy set (shipped, or from a
//! `--calibration` results file), a published family, custom numbers, or — for a model with
//! no set at all — the average task of the suite. The rules of choice live in labelcast-core;
//! this only reads the files and the flags.

use std::path::{Path, PathBuf};

use labelcast_core::forecast::Coefficients;
use labelcast_core::suite::choice::{resolve, with_shipped, Calibration, Chosen, Coef, ModelId};
use labelcast_core::suite::proxy::ProxySet;
use serde_json::{json, Value};

use crate::error::{CliError, CliResult};
use crate::io::read_bytes;

/// Flags that choose the coefficients, shared by `forecast` and `families`.
#[derive(clap::Args, Default)]
pub struct SetArgs {
    /// Which model will be fine-tuned, for a calibrated model's proxy set (llama, mistral, qwen;
    /// default: the first family with a set, Llama 3.1 8B-Instruct).
    #[arg(long)]
    pub target_family: Option<String>,
    /// A results file of `labelcast calibrate-suite` for your own model (repeatable): its proxy
    /// sets apply to that model, before the shipped ones.
    #[arg(long = "calibration")]
    pub calibrations: Vec<PathBuf>,
    /// The proxy sets of this calibrated model (its name in the results file, e.g.
    /// smollm2-135m-instruct), for a CoS-Low given without --model.
    #[arg(long)]
    pub proxy: Option<String>,
}

fn read_calibrations(files: &[PathBuf]) -> CliResult<Vec<Calibration>> {
    let mut given = Vec::new();
    for f in files {
        let text = String::from_utf8_lossy(&read_bytes(f)?).into_owned();
        given.push(Calibration::from_file(&f.display().to_string(), &text)?);
    }
    Ok(with_shipped(given)?)
}

/// The model's file name and SHA-256, for matching it to a calibration run: `sha256` as the
/// load computed it, else read from the file (a folder's is not matched by hash).
pub fn model_id(path: &Path, sha256: Option<String>) -> CliResult<ModelId> {
    let file = path.file_name().map_or_else(|| path.display().to_string(), |f| f.to_string_lossy().into_owned());
    let sha256 = match sha256 {
        Some(h) => Some(h),
        None if path.is_file() => Some(crate::model::sha256_of(path)?),
        None => None,
    };
    Ok(ModelId { title: file.clone(), name: None, file, sha256 })
}

/// Chooses the set by labelcast-core's rules (`suite::choice`, the page's too) from the flags.
/// `model` is the model that computed CoS-Low, when known; `published`/`custom` come from
/// --family/--coefficients.
/// `model` with the SHA-256 its load computed, if it was loaded.
pub fn choose(
    a: &SetArgs,
    model: Option<(&Path, Option<String>)>,
    published: Option<&str>,
    custom: Option<Coefficients>,
) -> CliResult<Chosen> {
    let coef = match (custom, published, &a.proxy) {
        (Some(c), _, _) => Coef::Custom { slope: c.slope, intercept: c.intercept },
        (None, Some(f), _) => Coef::Published(f.to_string()),
        (None, None, Some(p)) => Coef::Proxy(p.clone()),
        (None, None, None) if model.is_none() => {
            return Err(CliError::Usage(
                "choose the coefficients: --model (its calibrated set), --proxy MODEL, --family or --coefficients"
                    .into(),
            ))
        }
        (None, None, None) => Coef::Auto,
    };
    let m = model.map(|(p, h)| model_id(p, h)).transpose()?;
    let cals = read_calibrations(&a.calibrations)?;
    Ok(resolve(m.as_ref(), &cals, a.target_family.as_deref(), &coef)?)
}

/// The set as JSON for `forecast --json` (`coefficients` are the ones the forecast used).
/// A coefficient set as every command's JSON writes it.
pub fn coefficients_json(c: &Coefficients) -> Value {
    json!({
        "name": c.name, "label": c.label, "slope": c.slope, "intercept": c.intercept,
        "slope_se": c.slope_se, "intercept_se": c.intercept_se, "provenance": c.provenance,
    })
}

pub fn chosen_json(c: &Chosen, coefficients: &Coefficients) -> Value {
    json!({
        "kind": c.kind.name(),
        "name": c.name(),
        "coefficients": coefficients_json(coefficients),
        "sentence": c.sentence,
        "warning": c.warning,
        "proxy": c.proxy.as_ref().map(proxy_json),
    })
}

pub fn proxy_json(p: &ProxySet) -> Value {
    json!({
        "name": p.name, "label": p.label, "family": p.family, "model": p.model,
        "n": p.n, "tasks": p.tasks, "fit": p.model_fit, "formula": p.model_fit.formula(), "r2": p.r2,
        "loo_auc_mae": p.loo_auc_mae, "baseline_loo_auc_mae": p.baseline_loo_auc_mae,
        "coslow_r2": p.coslow_r2, "coslow_loo_auc_mae": p.coslow_loo_mae,
        "nested_loo_auc_mae": p.nested_loo_auc_mae, "coslow_choice_nested_loo_mae": p.coslow_choice_nested_loo_mae,
        "loo_budget90_factor": p.loo_budget90_factor,
        "beats_baseline": p.beats_baseline, "coslow_opposite": p.coslow_opposite,
        "coslow_permutation": p.coslow_permutation, "permutation_level": p.permutation_level,
        "band90": [p.band.0, p.band.1], "coverage90": p.coverage,
        "provenance": p.provenance,
    })
}

/// Every proxy set of the shipped runs and of `--calibration` files.
pub fn all_proxies(a: &SetArgs) -> CliResult<Vec<ProxySet>> {
    Ok(read_calibrations(&a.calibrations)?.into_iter().flat_map(|c| c.sets).collect())
}
