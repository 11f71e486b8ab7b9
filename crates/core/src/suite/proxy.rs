//! Proxy coefficient sets: for a model that is not one of the paper's (SmolLM2 in a tab), a
//! fit of each family's measured AUC on that model's own suite run, with its out-of-sample
//! error. Derived by code from a committed results file, never typed in.

use std::collections::BTreeMap;

use super::fit::{self, Feature, Held, Linear, Signs};
use super::permutation::{self, Permutation};
use super::SuiteResults;
use crate::band::PAPER_PREDICTION_ERROR;
use crate::error::{Error, Result};
use crate::forecast::{families, Coefficients, DEFAULT_MAX_BUDGET};

/// Tasks needed per fitted parameter (intercept included) before a fit may be chosen.
pub const MIN_TASKS_PER_PARAMETER: usize = 4;

/// The central share of the band a proxy set reports and checks.
pub const BAND_LEVEL: f64 = 0.9;

/// A candidate's leave-one-out error, for the report of what was tried.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Tried {
    pub features: Vec<Feature>,
    pub loo_auc_mae: f64,
    /// The candidate fitted on every task (its signs say which way each feature runs).
    pub fit: Option<Linear>,
}

/// One task as the calibration chart draws it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ChartPoint {
    pub task: String,
    /// CoS-Low averaged over the task's draws, and its range over them.
    pub coslow: f64,
    pub coslow_min: f64,
    pub coslow_max: f64,
    pub auc: f64,
}

/// A fitted stand-in for a family's published coefficients, for CoS-Low computed by another
/// model, with everything a reader needs to judge it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ProxySet {
    /// e.g. `smollm2-135m-instruct → llama-3.1-8b-instruct`.
    pub name: String,
    pub label: String,
    /// The model whose CoS-Low it takes (name, file, sha256 from the results file).
    pub model: super::SuiteModel,
    /// The family whose AUC it predicts (a published family's name and label).
    pub family: String,
    pub family_label: String,
    pub tasks: Vec<String>,
    pub n: usize,
    /// What it predicts with: CoS-Low alone, a richer fit, or no feature at all (the mean AUC)
    /// when nothing beat that constant out of sample.
    pub model_fit: Linear,
    /// CoS-Low alone, fitted on every task (the chart's line), with its R² and errors.
    pub coslow_fit: Linear,
    pub coslow_r2: f64,
    pub coslow_loo_mae: f64,
    pub r2: f64,
    /// Leave-one-out mean absolute error of AUC of `model_fit` (per draw, tasks weighed equally).
    pub loo_auc_mae: f64,
    /// Typical factor between predicted and measured budgets for 90%, leave-one-out.
    pub loo_budget90_factor: f64,
    /// The constant predictor (mean AUC of the other tasks): the error any fit must beat.
    pub baseline_loo_auc_mae: f64,
    /// Nested leave-one-out error of choosing among `tried` (what a richer fit really gives).
    pub nested_loo_auc_mae: f64,
    /// Nested leave-one-out error of choosing between the constant and CoS-Low alone (what
    /// shipping CoS-Low really gives); `None` where CoS-Low is not a candidate.
    pub coslow_choice_nested_loo_mae: Option<f64>,
    /// Whether `model_fit` uses the model's run at all (false: the mean AUC is shown).
    pub beats_baseline: bool,
    /// CoS-Low's fitted slope is not positive (higher CoS-Low, less data-efficient): the
    /// opposite of the paper, so CoS-Low is not used however small its error.
    pub coslow_opposite: bool,
    /// The permutation test of CoS-Low alone (`permutation::test`): whether its out-of-sample
    /// error beats shuffled AUCs, either sign. A fit running against the paper is used only
    /// when `p` passes `permutation_level`.
    pub coslow_permutation: Option<Permutation>,
    /// `permutation::level` for the published families.
    pub permutation_level: f64,
    /// Leave-one-out residuals (measured − predicted AUC) of `model_fit`: the band's width.
    pub residuals: Vec<f64>,
    /// The `BAND_LEVEL` band as offsets to the predicted AUC (conformal: ± the
    /// ⌈(n+1)·level⌉-th smallest absolute residual).
    pub band: (f64, f64),
    /// Share of tasks whose measured AUC fell in the band built without them.
    pub coverage: f64,
    pub tried: Vec<Tried>,
    pub points: Vec<ChartPoint>,
    pub provenance: String,
}

fn flat(held: &[Held]) -> Vec<f64> {
    held.iter().flat_map(|h| h.residuals().collect::<Vec<_>>()).collect()
}

/// Fits the proxy set of `family` (a published family's name) from a results file.
pub fn proxy_set(results: &SuiteResults, family: &str) -> Result<ProxySet> {
    fit_set(results, family, false)
}

/// The constant predictor (the suite's mean AUC for `family`, with its leave-one-out spread):
/// what a model with no coefficients at all is shown, plainly labelled. It uses only the
/// paper's AUCs, so any results file gives the same one.
pub fn baseline_set(results: &SuiteResults, family: &str) -> Result<ProxySet> {
    fit_set(results, family, true)
}

fn fit_set(results: &SuiteResults, family: &str, baseline_only: bool) -> Result<ProxySet> {
    let fam = families()
        .into_iter()
        .find(|f| f.name == family)
        .ok_or_else(|| Error::Invalid(format!("no published family \"{family}\"")))?;
    let obs = fit::observations(results, family);
    let n = obs.len();
    let err = |what: &str| Error::Invalid(format!("{}: {what} for {} ({n} tasks)", results.model.name, fam.label));
    if n < 5 {
        return Err(err("too few tasks with a measured AUC to fit and check a proxy"));
    }
    // A fit may have at most one parameter per MIN_TASKS_PER_PARAMETER tasks: with fewer, the
    // leave-one-out choice among candidates is itself mostly noise.
    let cands: Vec<Vec<Feature>> = fit::candidates()
        .into_iter()
        .filter(|c| n >= MIN_TASKS_PER_PARAMETER * (c.len() + 1) && fit::loo(&obs, c).is_some())
        .collect();
    let tried: Vec<Tried> = fit::all_candidates()
        .iter()
        .filter(|c| fit::loo(&obs, c).is_some())
        .map(|c| Tried {
            features: c.clone(),
            loo_auc_mae: fit::mae(&fit::loo(&obs, c).expect("filtered")),
            fit: fit::fit(&obs.iter().collect::<Vec<_>>(), c),
        })
        .collect();
    let mae_of = |f: &[Feature]| tried.iter().find(|t| t.features == f).map(|t| t.loo_auc_mae);
    let baseline = mae_of(&[]).ok_or_else(|| err("the constant cannot be fitted"))?;
    let coslow = mae_of(&[Feature::Coslow]).ok_or_else(|| err("CoS-Low cannot be fitted"))?;
    let (nested_held, _) = fit::nested_loo(&obs, &cands).ok_or_else(|| err("nested leave-one-out failed"))?;
    let nested = fit::mae(&nested_held);
    let all: Vec<&fit::Obs> = obs.iter().collect();
    let opposite = !fit::agrees_with_paper(&all, &[Feature::Coslow]);
    // A CoS-Low that runs against the paper's reading is used only if it predicts better than
    // chance (permutation test, the level shared among the families); then its sign is free.
    let permutation = permutation::test(&obs, Feature::Coslow);
    let level = permutation::level(families().len());
    let significant = permutation.is_some_and(|t| t.p < level);
    let signs = if opposite && significant { Signs::Any } else { Signs::Paper };
    // Choosing between the constant and CoS-Low is itself judged out of sample: with a dozen
    // tasks, CoS-Low can beat the constant's leave-one-out error by chance.
    let simple = [vec![], vec![Feature::Coslow]];
    let coslow_choice = if cands.iter().any(|c| c == &[Feature::Coslow]) {
        fit::nested_loo_with(&obs, &simple, signs).map(|(h, _)| fit::mae(&h))
    } else {
        None
    };

    // A richer fit only when choosing among the candidates beats CoS-Low alone out of sample
    // (choice included); CoS-Low only when choosing it beats the constant out of sample (and,
    // against the paper's sign, passes the permutation test); else the constant.
    let chosen: Vec<Feature> = if baseline_only {
        vec![]
    } else if nested < coslow && nested < baseline {
        fit::select(&obs, &cands).expect("candidates fit")
    } else if coslow < baseline && coslow_choice.is_some_and(|c| c < baseline) && (!opposite || significant) {
        vec![Feature::Coslow]
    } else {
        vec![]
    };
    let model_fit = fit::fit(&all, &chosen).ok_or_else(|| err("the chosen fit failed"))?;
    let coslow_fit = fit::fit(&all, &[Feature::Coslow]).ok_or_else(|| err("CoS-Low cannot be fitted"))?;
    let held = fit::loo(&obs, &chosen).expect("chosen among fitted candidates");
    let residuals = flat(&held);
    let band = fit::residual_interval(&residuals, BAND_LEVEL).ok_or_else(|| err("no residuals"))?;
    let coverage = fit::band_coverage(&obs, &chosen, BAND_LEVEL).ok_or_else(|| err("band check failed"))?;
    let (factor, _) = fit::budget90_factor(&held, DEFAULT_MAX_BUDGET);
    let loo_auc_mae = fit::mae(&held);
    let points = obs
        .iter()
        .map(|o| {
            let c: Vec<f64> = o.draws.iter().map(|d| d[0]).collect();
            ChartPoint {
                task: o.task.clone(),
                coslow: c.iter().sum::<f64>() / c.len() as f64,
                coslow_min: c.iter().copied().fold(f64::INFINITY, f64::min),
                coslow_max: c.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                auc: o.auc,
            }
        })
        .collect();
    let m = &results.model;
    Ok(ProxySet {
        name: format!("{} → {}", m.name, fam.name),
        label: format!("{} CoS-Low → {} (fitted on {n} of the paper's tasks)", m.label, fam.label),
        model: m.clone(),
        family: fam.name.clone(),
        family_label: fam.label.clone(),
        tasks: obs.iter().map(|o| o.task.clone()).collect(),
        n,
        r2: fit::r2(&all, &model_fit),
        coslow_r2: fit::r2(&all, &coslow_fit),
        coslow_loo_mae: coslow,
        model_fit,
        coslow_fit,
        loo_auc_mae,
        loo_budget90_factor: factor,
        baseline_loo_auc_mae: baseline,
        nested_loo_auc_mae: nested,
        coslow_choice_nested_loo_mae: coslow_choice,
        beats_baseline: !chosen.is_empty(),
        coslow_opposite: opposite,
        coslow_permutation: permutation,
        permutation_level: level,
        residuals,
        band,
        coverage,
        tried,
        points,
        provenance: format!(
            "fitted by labelcast on {}'s CoS-Low (file {}, sha256 {}) over {n} tasks of the paper \
             (Je & Raffel, arXiv 2512.24991) against the AUC the paper measured fine-tuning {}; \
             errors leave one task out",
            m.label, m.file, m.sha256, fam.label
        ),
    })
}

/// Every family's proxy set the results file supports (families with too few tasks skipped).
pub fn proxy_sets(results: &SuiteResults) -> Vec<ProxySet> {
    families().iter().filter_map(|f| proxy_set(results, &f.name).ok()).collect()
}

impl ProxySet {
    /// The features the forecast needs from the user's own run.
    pub fn needs(&self) -> &[Feature] {
        &self.model_fit.features
    }

    /// Coefficients for the forecast: affine in CoS-Low with the other features of the user's
    /// run folded into the intercept (slope 0 when the set does not use CoS-Low). Errors name
    /// a feature the run lacks.
    pub fn coefficients(&self, run: &BTreeMap<Feature, f64>) -> Result<Coefficients> {
        let mut slope = 0.0;
        let mut intercept = self.model_fit.intercept;
        for (&f, &w) in self.model_fit.features.iter().zip(&self.model_fit.weights) {
            if f == Feature::Coslow {
                slope = w;
            } else {
                let v = run.get(&f).ok_or_else(|| {
                    Error::Invalid(format!("{} needs the run's {} as well as CoS-Low", self.name, f.name()))
                })?;
                intercept += w * v;
            }
        }
        Ok(Coefficients {
            name: self.name.clone(),
            label: self.label.clone(),
            slope,
            intercept,
            slope_se: 0.0,
            intercept_se: 0.0,
            provenance: self.provenance.clone(),
        })
    }

    /// What the number means and how far to trust it, with the band's measured coverage.
    pub fn trust_sentence(&self) -> String {
        format!(
            "{} Its 90% band held the measured value for {:.0}% of those tasks, each left out of its own band.",
            self.verdict(),
            self.coverage * 100.0
        )
    }

    fn verdict(&self) -> String {
        let fam = &self.family_label;
        if self.beats_baseline {
            format!(
                "Fitted on {n} of the paper's tasks: predicting a task it had not seen, this fit \
                 missed {fam}'s measured data efficiency (AUC) by {e:.2} on average (the average \
                 task alone: {b:.2}); budgets were typically off by a factor of {f:.1}.",
                n = self.n,
                e = self.loo_auc_mae,
                b = self.baseline_loo_auc_mae,
                f = self.loo_budget90_factor,
            ) + if self.coslow_opposite && self.model_fit.features.contains(&Feature::Coslow) {
                " For this model a higher CoS-Low means a less data-efficient task, the opposite of the paper's models."
            } else {
                ""
            }
        } else if self.n < MIN_TASKS_PER_PARAMETER * 2 {
            format!(
                "Only {n} of the paper's tasks have {fam}'s measured data efficiency in {m}'s \
                 calibration so far, too few to trust any fit over their average: this is the budget \
                 of an average task, with the spread of those tasks, not one about your data.",
                m = self.model.label,
                n = self.n,
            )
        } else if self.coslow_opposite && self.coslow_loo_mae < self.baseline_loo_auc_mae {
            format!(
                "On {n} of the paper's tasks, {m}'s CoS-Low ran against {fam}'s data efficiency \
                 (the higher it was, the less efficient the task), the opposite of what CoS-Low \
                 means, and no more closely than chance would give{p}, so it is not used: this is \
                 the budget of an average task, with the spread of those tasks (error {b:.2} out of \
                 sample): a wide answer, not one about your data.",
                m = self.model.label,
                n = self.n,
                b = self.baseline_loo_auc_mae,
                p = self
                    .coslow_permutation
                    .map_or(String::new(), |t| format!(" (shuffled, it did as well {:.0}% of the time)", t.p * 100.0)),
            )
        } else {
            format!(
                "{m}'s CoS-Low did not predict {fam}'s data efficiency on {n} of the paper's tasks \
                 better than their average (error {c:.2} against {b:.2} out of sample), so this is \
                 the budget of an average task, with the spread of those tasks: a wide answer, \
                 not one about your data.",
                m = self.model.label,
                n = self.n,
                c = self.coslow_loo_mae,
                b = self.baseline_loo_auc_mae,
            )
        }
    }
}

/// The band for a published family's own CoS-Low: the paper's reported error.
pub const PUBLISHED_BAND_ERROR: f64 = PAPER_PREDICTION_ERROR;
