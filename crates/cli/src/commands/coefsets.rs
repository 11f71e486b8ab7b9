//! Which coefficient set a forecast uses: the model's calibrated proxy set (shipped, or from a
//! `--calibration` results file), a published family, custom numbers, or — for a model with
//! no set at all — the average task of the suite. The rules of choice live in labelcast-core;
//! this only reads the files and the flags.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use labelcast_core::band::PAPER_PREDICTION_ERROR;
use labelcast_core::forecast::{family, Coefficients};
use labelcast_core::suite::fit::Feature;
use labelcast_core::suite::proxy::{baseline_set, ProxySet};
use labelcast_core::suite::published::{published_match, PublishedMatch};
use labelcast_core::suite::shipped::{default_target, proxies_for, shipped, ModelMatch};
use labelcast_core::suite::SuiteResults;
use serde_json::{json, Value};

use super::forecast::coefficients_json;
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

/// The chosen set and what the page or a report must say about it.
pub struct Chosen {
    pub coefficients: Coefficients,
    /// `published`, `proxy`, `baseline` or `custom`.
    pub kind: &'static str,
    pub proxy: Option<ProxySet>,
    /// Residuals for the band (proxy and baseline sets).
    pub residuals: Vec<f64>,
    /// The between-task error the band adds for a published set.
    pub task_error: Option<f64>,
    pub sentence: String,
    pub warning: Option<String>,
}

fn read_runs(files: &[PathBuf]) -> CliResult<Vec<SuiteResults>> {
    let mut runs = Vec::new();
    for f in files {
        let text = String::from_utf8_lossy(&read_bytes(f)?).into_owned();
        runs.push(SuiteResults::from_json(&f.display().to_string(), &text)?);
    }
    runs.extend(shipped()?);
    Ok(runs)
}

fn target(sets: &[ProxySet], wanted: Option<&str>) -> CliResult<ProxySet> {
    match wanted {
        Some(w) => {
            let fam = family(w)?;
            sets.iter().find(|s| s.family == fam.name).cloned().ok_or_else(|| {
                CliError::Usage(format!(
                    "no calibrated set for fine-tuning {}: the calibration has too few of its tasks",
                    fam.label
                ))
            })
        }
        None => default_target(sets).cloned().ok_or_else(|| CliError::Usage("the calibration yields no proxy set".into())),
    }
}

fn from_proxy(p: ProxySet, features: &BTreeMap<Feature, f64>, kind: &'static str) -> CliResult<Chosen> {
    Ok(Chosen {
        coefficients: p.coefficients(features)?,
        kind,
        residuals: p.residuals.clone(),
        task_error: None,
        sentence: p.trust_sentence(),
        warning: None,
        proxy: Some(p),
    })
}

fn model_identity_name(path: &Path) -> String {
    path.file_name().map_or_else(|| path.display().to_string(), |f| f.to_string_lossy().into_owned())
}

/// The model's file name and SHA-256, for matching it to a calibration run.
pub fn model_identity(path: &Path) -> CliResult<(String, Option<String>)> {
    let file = model_identity_name(path);
    let sha = if path.is_file() { Some(super::calibrate_suite::sha256_of(path)?) } else { None };
    Ok((file, sha))
}

fn published_set(c: Coefficients, with_task_error: bool, warning: Option<String>) -> Chosen {
    Chosen {
        sentence: format!(
            "Published coefficients for {}: the paper reports {:.1}% error between tasks, which the band includes.",
            c.label,
            PAPER_PREDICTION_ERROR * 100.0
        ),
        coefficients: c,
        kind: "published",
        proxy: None,
        residuals: vec![],
        task_error: with_task_error.then_some(PAPER_PREDICTION_ERROR),
        warning,
    }
}

/// Chooses the coefficients from the flags. `model` is the model that computed CoS-Low, when
/// known; `published`/`custom` come from --family/--coefficients.
pub fn choose(
    a: &SetArgs,
    model: Option<&Path>,
    published: Option<&str>,
    custom: Option<Coefficients>,
    with_task_error: bool,
    features: &BTreeMap<Feature, f64>,
) -> CliResult<Chosen> {
    // Read only when a model or proxy asks: a published or custom forecast needs no file.
    let needs_runs = model.is_some() || a.proxy.is_some() || !a.calibrations.is_empty();
    let runs = if needs_runs { read_runs(&a.calibrations)? } else { vec![] };
    let model_sets = match model {
        Some(m) => {
            let (file, sha) = model_identity(m)?;
            proxies_for(&runs, None, &file, sha.as_deref()).map(|(how, sets)| (file, how, sets))
        }
        None => None,
    };
    if let Some(c) = custom {
        return Ok(Chosen {
            sentence: "Custom coefficients: their error between tasks is unknown, so the band leaves it out.".into(),
            coefficients: c,
            kind: "custom",
            proxy: None,
            residuals: vec![],
            task_error: None,
            warning: None,
        });
    }
    if let Some(f) = published {
        let c = family(f)?;
        let warning = model_sets.as_ref().map(|(file, _, _)| {
            format!(
                "{} were fitted on CoS-Low computed by {} itself; {file} computes CoS-Low on another \
                 scale, so this forecast is not calibrated (its own proxy sets are: leave out --family)",
                c.label, c.label
            )
        });
        return Ok(published_set(c, with_task_error, warning));
    }
    // The paper's own model (or its kin) gets the published set without being asked.
    let published_kin = model.map(|m| published_match(None, &model_identity_name(m)));
    if let Some(PublishedMatch::Exact { family: f } | PublishedMatch::SameFamily { family: f, .. }) = &published_kin {
        if model_sets.is_none() {
            let c = family(f)?;
            let warning = match &published_kin {
                Some(PublishedMatch::SameFamily { why, .. }) => {
                    Some(format!("no coefficients were published for this model; {why}"))
                }
                _ => None,
            };
            return Ok(published_set(c, with_task_error, warning));
        }
    }
    if let Some((_, how, sets)) = model_sets {
        let mut c = from_proxy(target(&sets, a.target_family.as_deref())?, features, "proxy")?;
        if how == ModelMatch::SameModel {
            c.warning = Some(format!(
                "calibrated on {} (sha256 {}), not this very file: another quantization moves CoS-Low a little",
                c.proxy.as_ref().map_or("", |p| p.model.file.as_str()),
                c.proxy.as_ref().map_or("", |p| p.model.sha256.as_str()),
            ));
        }
        return Ok(c);
    }
    if let Some(name) = &a.proxy {
        let run = runs.iter().find(|r| r.model.name == *name).ok_or_else(|| {
            let known: Vec<&str> = runs.iter().map(|r| r.model.name.as_str()).collect();
            CliError::Usage(format!("--proxy {name}: no calibration of that model (known: {})", known.join(", ")))
        })?;
        let sets = labelcast_core::suite::proxy::proxy_sets(run);
        return from_proxy(target(&sets, a.target_family.as_deref())?, features, "proxy");
    }
    let Some(m) = model else {
        return Err(CliError::Usage(
            "choose the coefficients: --model (its calibrated set), --proxy MODEL, --family or --coefficients".into(),
        ));
    };
    // A model with no set at all: the average task of the suite, plainly labelled.
    let run = runs.first().ok_or_else(|| CliError::Usage("no calibration suite to take a baseline from".into()))?;
    let fam = family(a.target_family.as_deref().unwrap_or("llama-3.1-8b-instruct"))?;
    let b = baseline_set(run, &fam.name)?;
    let mut c = from_proxy(b, features, "baseline")?;
    c.sentence = format!(
        "No coefficients exist for {} (neither published nor calibrated with labelcast calibrate-suite): \
         this is the budget of an average task of the paper's suite for {}, with their spread, not a \
         forecast for your data. Its CoS-Low is still shown.",
        m.display(),
        fam.label
    );
    Ok(c)
}

/// The set as JSON for `forecast --json` and `families --json`.
pub fn chosen_json(c: &Chosen) -> Value {
    json!({
        "kind": c.kind,
        "coefficients": coefficients_json(&c.coefficients),
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
        "nested_loo_auc_mae": p.nested_loo_auc_mae, "loo_budget90_factor": p.loo_budget90_factor,
        "beats_baseline": p.beats_baseline, "band90": [p.band.0, p.band.1], "coverage90": p.coverage,
        "provenance": p.provenance,
    })
}

/// Every proxy set of the shipped runs and of `--calibration` files.
pub fn all_proxies(a: &SetArgs) -> CliResult<Vec<ProxySet>> {
    Ok(read_runs(&a.calibrations)?.iter().flat_map(labelcast_core::suite::proxy::proxy_sets).collect())
}
