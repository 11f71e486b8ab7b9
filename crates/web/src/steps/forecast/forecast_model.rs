//! What the forecast panel shows, computed with labelcast-core from the CoS-Low (measured on
//! the page or typed) and the coefficient set `coef_sets` chose. Kept out of the component so
//! every path (including every invalid input) is tested natively and none can panic in the
//! browser. The numbers are the CLI's (`labelcast forecast --json`) for the same CoS-Low and
//! set; only what is shown is rounded.

use std::collections::BTreeMap;
use std::rc::Rc;

use labelcast_core::band::{self, coslow_bootstrap, BandOptions, Interval};
use labelcast_core::forecast::{
    round_budget, Coefficients, Forecast, DEFAULT_CURVE_POINTS, DEFAULT_MAX_BUDGET, DEFAULT_TARGETS,
};
use labelcast_core::suite::fit::Feature;

use crate::steps::forecast::coef_sets::{message, Choice, Chosen};
pub use crate::steps::forecast::forecast_error::parse_number;
use crate::steps::forecast::forecast_error::{CoefError, InputError};

/// The end of core's band note for coefficients without standard errors.
use crate::format;

/// An example CoS-Low, offered as the input's placeholder only: it is no forecast of anything.
pub const EXAMPLE_COSLOW: &str = "0.65";

/// CoS-Low measured on the page, with what the band and a proxy set use from that run.
#[derive(Debug, Clone, PartialEq)]
pub struct MeasuredRun {
    pub coslow: f64,
    pub cosines: Rc<Vec<Vec<f64>>>,
    /// The run's features (`run_features::page_features`).
    pub features: Rc<BTreeMap<Feature, f64>>,
}

/// The panel's inputs. The CoS-Low is a string, so half-typed numbers ("0.", "-") stay in the
/// input while the panel explains what is wrong with them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Inputs {
    pub coslow: String,
    /// While the CoS-Low input shows this run's value (as the page writes it, 3 decimals), the
    /// forecast uses the run's exact value, its cosines for the band and its features.
    pub measured: Option<MeasuredRun>,
    pub choice: Choice,
}

/// Why there is no forecast.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NoForecast {
    /// No CoS-Low yet: nothing to forecast from (not an error).
    #[error("No forecast yet: compute CoS-Low in step 4, or enter a CoS-Low you measured.")]
    NoCoslow,
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Coef(#[from] CoefError),
    /// The set needs a feature of a run measured on this page (a proxy set).
    #[error("{}: compute CoS-Low on this page (step 4) so the page has them, or choose another set", message(.0))]
    NeedsRun(labelcast_core::Error),
    #[error(transparent)]
    Forecast(#[from] labelcast_core::Error),
}

impl NoForecast {
    pub fn message(&self) -> String {
        self.to_string()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct BudgetRow {
    pub target: f64,
    pub budget: f64,
    /// The band's interval for this target, when the band could be computed.
    pub band: Option<Interval>,
}

/// What a report says about the set.
#[derive(Debug, Clone, PartialEq)]
pub struct SetSummary {
    /// `proxy`, `published`, `baseline` or `custom`, as the CLI's `coefficient_set.kind`.
    pub kind: &'static str,
    pub name: String,
    pub sentence: String,
    pub warning: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The CoS-Low forecast from (exact), and whether it is the one measured on this page.
    pub coslow: f64,
    pub measured: bool,
    /// Examples behind a measured CoS-Low.
    pub examples: Option<usize>,
    pub coefficients: Coefficients,
    pub set: SetSummary,
    pub forecast: Forecast,
    /// (budget, share) of the central forecast.
    pub curve: Vec<(f64, f64)>,
    /// (budget, share lo, share hi); empty when there is no band.
    pub band_curve: Vec<(f64, f64, f64)>,
    pub auc_band: Option<Interval>,
    pub rows: Vec<BudgetRow>,
    /// Coverage of the band, e.g. 0.9.
    pub level: f64,
    /// What the band's width reflects, or why it is missing or has no width.
    pub band_notes: Vec<String>,
    /// The band is a fitted set's conformal interval (nothing resampled).
    pub band_conformal: bool,
}

/// CoS-Low as the page shows it: 3 decimals (its run-to-run spread is larger than that).
pub fn coslow_text(v: f64) -> String {
    format::fixed(v, 3)
}

/// The CoS-Low to forecast from: the measured run's exact value while the input shows it,
/// else the typed number.
pub fn coslow_value(i: &Inputs) -> Result<(f64, Option<&MeasuredRun>), NoForecast> {
    let t = i.coslow.trim();
    if t.is_empty() {
        return Err(NoForecast::NoCoslow);
    }
    if let Some(m) = i.measured.as_ref().filter(|m| t == coslow_text(m.coslow) || t == m.coslow.to_string()) {
        return Ok((m.coslow, Some(m)));
    }
    Ok((parse_number("CoS-Low", t)?, None))
}

/// The forecast for the inputs with the set `chosen`.
pub fn compute(i: &Inputs, chosen: &Chosen) -> Result<Outcome, NoForecast> {
    let (coslow, measured) = coslow_value(i)?;
    let mut features = measured.map(|m| (*m.features).clone()).unwrap_or_default();
    features.insert(Feature::Coslow, coslow);
    let c = chosen.coefficients(&features).map_err(NoForecast::NeedsRun)?;
    let max_budget = DEFAULT_MAX_BUDGET;
    let f = Forecast::from_coslow(coslow, &c, max_budget)?;
    let opts = BandOptions::default();
    let targets = &DEFAULT_TARGETS;
    let samples = match measured {
        Some(m) => Some(coslow_bootstrap(&m.cosines, opts.resamples, opts.seed)?),
        None => None,
    };
    // When the band fails (it should not for an input the point forecast accepts), the
    // central forecast is still valid and is shown with the reason the band is missing.
    let (band, band_notes) =
        match band::band_with(coslow, samples.as_deref(), &c, targets, max_budget, &opts, &chosen.band_extras()) {
            Ok(b) => {
                let notes = b.notes.clone();
                (Some(b), notes)
            }
            Err(e) => (None, vec![format!("No uncertainty band: {e}")]),
        };
    let mut rows = Vec::with_capacity(targets.len());
    for &t in targets {
        let budget = f.budget_for(t)?;
        let interval =
            band.as_ref().and_then(|b| b.budgets.iter().find(|(bt, _)| (bt - t).abs() < 1e-12).map(|(_, i)| *i));
        rows.push(BudgetRow { target: t, budget, band: interval });
    }
    Ok(Outcome {
        coslow,
        measured: measured.is_some(),
        examples: measured.map(|m| m.cosines.len()),
        set: SetSummary {
            kind: chosen.kind.name(),
            name: chosen.name(),
            sentence: chosen.sentence.clone(),
            warning: chosen.warning.clone(),
        },
        auc_band: band.as_ref().map(|b| b.auc),
        band_conformal: band.as_ref().is_some_and(|b| b.sources == [band::Source::TaskResiduals]),
        band_curve: band.map(|b| b.curve).unwrap_or_default(),
        curve: f.curve(DEFAULT_CURVE_POINTS),
        coefficients: c,
        forecast: f,
        rows,
        level: opts.level,
        band_notes,
    })
}

/// The row a one-line summary quotes: 90% (the paper's headline target), else the highest.
pub fn key_row(o: &Outcome) -> Option<&BudgetRow> {
    o.rows.iter().find(|r| r.target == 0.9).or_else(|| o.rows.last())
}

/// The one-line summary, e.g. "About 1,600 labeled examples to reach 90% of the performance
/// fine-tuning can attain (90% band 700 – 3,100)."
pub fn headline(o: &Outcome) -> Option<String> {
    let k = key_row(o)?;
    let band = k.band.map(|b| format!(" ({} band {})", format::percent(o.level), format::budget_range(b.lo, b.hi)));
    let what = if o.set.kind == "baseline" { " for an average task of the paper's suite (not your data)" } else { "" };
    Some(format!(
        "About {} labeled examples to reach {} of the performance fine-tuning can attain{what}{}.",
        format::budget(k.budget),
        format::percent(k.target),
        band.unwrap_or_default()
    ))
}

/// Whether a budget is more than the pool holds.
pub fn over_pool(budget: f64, pool_rows: Option<usize>) -> bool {
    pool_rows.is_some_and(|n| round_budget(budget) > n as u64)
}

/// What it means when the headline's budget exceeds the pool: labeling all of it is not
/// enough.
pub fn pool_note(o: &Outcome, pool_rows: Option<usize>) -> Option<String> {
    let k = key_row(o)?;
    labelcast_core::forecast::beyond_pool(k.target, k.budget, pool_rows?)
}

/// The forecast as a JSON report: the numbers (exact, as `labelcast forecast --json`, and as
/// shown) and where they come from, and no rows of the user's data (the report may be shared).
pub fn report_json(o: &Outcome, pool_rows: Option<usize>) -> String {
    let c = &o.coefficients;
    let budgets: serde_json::Map<String, serde_json::Value> = o
        .rows
        .iter()
        .map(|r| {
            let band = r.band.map(|b| {
                serde_json::json!({"lo": b.lo, "hi": b.hi, "lo_shown": round_budget(b.lo), "hi_shown": round_budget(b.hi)})
            });
            let v = serde_json::json!({"budget": r.budget, "shown": round_budget(r.budget), "band": band,
                "over_pool": over_pool(r.budget, pool_rows)});
            (r.target.to_string(), v)
        })
        .collect();
    let measured = o
        .examples
        .map(|n| serde_json::json!({"coslow": o.coslow, "examples": n, "pairs": n * n.saturating_sub(1) / 2}));
    let report = serde_json::json!({
        "generated_by": "labelcast (browser)",
        "coslow": o.coslow,
        "coslow_shown": coslow_text(o.coslow),
        "measured_on_this_page": measured,
        "coefficient_set": {
            "kind": o.set.kind, "name": o.set.name, "sentence": o.set.sentence, "warning": o.set.warning,
        },
        "coefficients": {
            "name": c.name, "label": c.label, "slope": c.slope, "intercept": c.intercept,
            "slope_se": c.slope_se, "intercept_se": c.intercept_se, "provenance": c.provenance,
        },
        "predicted_auc": o.forecast.auc,
        "predicted_auc_shown": format::fixed(o.forecast.auc, 2),
        "p": o.forecast.p,
        "max_budget": o.forecast.max_budget,
        "band_level": o.level,
        "band_notes": o.band_notes,
        "pool_rows": pool_rows,
        "pool_note": pool_note(o, pool_rows),
        "budgets": budgets,
    });
    serde_json::to_string_pretty(&report).unwrap_or_default()
}

#[cfg(test)]
#[path = "forecast_model_tests.rs"]
mod tests;
