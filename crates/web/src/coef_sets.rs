//! Which coefficient set the forecast uses, by the CLI's rules (crates/cli/src/commands/
//! coefsets.rs), all taken from labelcast-core: a calibrated model gets its proxy set for the
//! model to be fine-tuned; a model the paper fitted gets its published set; a model with no set
//! at all gets the average task of the suite (the baseline), plainly labelled. Anything else (a
//! published set or custom numbers on another model's CoS-Low) is the person's choice and
//! carries a warning. Pure, so every rule is tested natively (`coef_sets_tests`).

use labelcast_core::band::{BandExtras, PAPER_PREDICTION_ERROR};
use labelcast_core::forecast::{self, families, Coefficients};
use labelcast_core::suite::fit::Feature;
use labelcast_core::suite::proxy::{baseline_set, ProxySet};
use labelcast_core::suite::shipped::default_target;
use serde::{Deserialize, Serialize};

#[cfg(test)]
pub(crate) use crate::calibrations::fixture_calibrations;
pub use crate::calibrations::{
    calibration_for, calibrations, parse_calibration, Calibration, ModelId,
};
use crate::coef_match::CoefMatch;

/// The coefficient choice that follows the loaded model (the recommended one).
pub const AUTO: &str = "auto";
/// Custom slope and intercept.
pub const CUSTOM: &str = "custom";
/// Prefix of a calibrated model's proxy sets in the choice (`proxy:smollm2-135m-instruct`).
pub const PROXY: &str = "proxy:";

/// The person's choice, saved with their work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Choice {
    /// The published family that will be fine-tuned; `None`: the model's default target.
    pub target: Option<String>,
    /// `AUTO`, `PROXY` + a calibrated model's name, a published family's name, or `CUSTOM`.
    pub coef: String,
    /// Custom slope and intercept as typed.
    pub slope: String,
    pub intercept: String,
}

impl Default for Choice {
    fn default() -> Self {
        Choice {
            target: None,
            coef: AUTO.into(),
            slope: String::new(),
            intercept: String::new(),
        }
    }
}

/// What a set is, named as the CLI's `coefficient_set.kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Proxy,
    Published,
    Baseline,
    Custom,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Proxy => "proxy",
            Kind::Published => "published",
            Kind::Baseline => "baseline",
            Kind::Custom => "custom",
        }
    }
}

/// The set the forecast uses, and what the page says about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Chosen {
    pub kind: Kind,
    /// The published family whose data efficiency it predicts (`None` for custom numbers).
    pub target: Option<String>,
    /// Whether "Fine-tuning which model?" changes the set (a published set fixes its family).
    pub target_free: bool,
    /// A proxy or baseline set.
    pub proxy: Option<ProxySet>,
    /// Published or custom coefficients.
    fixed: Option<Coefficients>,
    pub sentence: String,
    pub warning: Option<String>,
    /// Whether the calibration chart describes this set for this model: a proxy set (its
    /// tasks' CoS-Low are on the scale of the CoS-Low being forecast).
    pub chart: bool,
}

impl Chosen {
    /// The set's machine name, e.g. `smollm2-135m-instruct → llama-3.1-8b-instruct`.
    pub fn name(&self) -> String {
        self.proxy
            .as_ref()
            .map(|p| p.name.clone())
            .or_else(|| self.fixed.as_ref().map(|c| c.name.clone()))
            .unwrap_or_default()
    }

    /// The coefficients for a run with these features (a proxy set may need more than
    /// CoS-Low; the error says what is missing).
    pub fn coefficients(
        &self,
        run: &std::collections::BTreeMap<Feature, f64>,
    ) -> Result<Coefficients, String> {
        match (&self.proxy, &self.fixed) {
            (_, Some(c)) => Ok(c.clone()),
            (Some(p), None) => p.coefficients(run).map_err(|e| {
                format!("{e}: compute CoS-Low on this page (step 4) so the page has them, or choose another set")
            }),
            (None, None) => Err("no coefficients".into()),
        }
    }

    /// The between-task error the band includes by default: a proxy or baseline set's
    /// leave-one-out residuals, the paper's error for a published set, none for custom numbers.
    pub fn band_extras(&self) -> BandExtras {
        match self.kind {
            Kind::Proxy | Kind::Baseline => BandExtras {
                residuals: self
                    .proxy
                    .as_ref()
                    .map(|p| p.residuals.clone())
                    .unwrap_or_default(),
                ..BandExtras::default()
            },
            Kind::Published => BandExtras {
                prediction_error: Some(PAPER_PREDICTION_ERROR),
                ..BandExtras::default()
            },
            Kind::Custom => BandExtras::default(),
        }
    }
}

fn family_label(name: &str) -> String {
    forecast::family(name)
        .map(|f| f.label)
        .unwrap_or_else(|_| name.to_string())
}

fn published(name: &str) -> Result<Chosen, String> {
    let c = forecast::family(name).map_err(|e| e.to_string())?;
    Ok(Chosen {
        kind: Kind::Published,
        target: Some(c.name.clone()),
        target_free: false,
        proxy: None,
        sentence: format!(
            "Published coefficients for {}: the paper reports {:.1}% error between tasks, which the band includes.",
            c.label,
            PAPER_PREDICTION_ERROR * 100.0
        ),
        fixed: Some(c),
        warning: None,
        chart: false,
    })
}

fn from_proxy(p: &ProxySet, kind: Kind) -> Chosen {
    Chosen {
        kind,
        target: Some(p.family.clone()),
        target_free: true,
        sentence: p.trust_sentence(),
        proxy: Some(p.clone()),
        fixed: None,
        warning: None,
        chart: kind == Kind::Proxy,
    }
}

/// The set of `cal` for `target` (default: core's default target).
fn proxy_of(cal: &Calibration, target: Option<&str>) -> Result<Chosen, String> {
    let set = match target {
        Some(t) => cal.sets.iter().find(|s| s.family == t),
        None => default_target(&cal.sets),
    };
    let set = set.ok_or_else(|| {
        format!(
            "{}'s calibration has no set for fine-tuning {}: too few of its tasks have that \
             model's measured AUC. Choose another model to fine-tune.",
            cal.run.model.label,
            family_label(target.unwrap_or_default())
        )
    })?;
    let mut c = from_proxy(set, Kind::Proxy);
    if cal.source != "shipped" {
        c.sentence = format!("{} (Calibration file {}.)", c.sentence, cal.source);
    }
    Ok(c)
}

/// The average task of the suite for `target`, for a model with no set at all.
fn baseline(
    m: Option<&ModelId>,
    cals: &[Calibration],
    target: Option<&str>,
) -> Result<Chosen, String> {
    let fam = target
        .map(str::to_string)
        .unwrap_or_else(|| families()[0].name.clone());
    let label = family_label(&fam);
    let who = m.map_or_else(|| "this model".to_string(), |m| m.title.clone());
    let set = cals
        .iter()
        .find_map(|c| baseline_set(&c.run, &fam).ok())
        .ok_or_else(|| {
            format!(
            "No coefficients exist for {who}, and no calibration at hand has enough of the paper's \
             tasks for {label} to show an average task. CoS-Low is still shown; choose a set \
             under Advanced, or load a calibration file."
        )
        })?;
    let mut c = from_proxy(&set, Kind::Baseline);
    c.sentence = format!(
        "No coefficients exist for {who} (neither published nor calibrated with labelcast \
         calibrate-suite): this is the budget of an average task of the paper's suite for {label}, \
         with their spread, not a forecast for your data. Its CoS-Low is still shown."
    );
    Ok(c)
}

/// The set for `choice`, given the loaded model (if any) and the calibrations known.
pub fn resolve(
    m: Option<&ModelId>,
    cals: &[Calibration],
    choice: &Choice,
) -> Result<Chosen, String> {
    let target = choice.target.as_deref();
    let own = m.and_then(|m| calibration_for(m, cals));
    let coef = choice.coef.as_str();
    if coef == CUSTOM {
        let slope = crate::forecast_model::parse_number("the slope c", &choice.slope)?;
        let intercept = crate::forecast_model::parse_number("the intercept I", &choice.intercept)?;
        return Ok(Chosen {
            kind: Kind::Custom,
            target: None,
            target_free: false,
            proxy: None,
            fixed: Some(Coefficients::custom(slope, intercept)),
            sentence: "Custom coefficients: their error between tasks is unknown, so the band leaves it out.".into(),
            warning: m.map(|m| {
                format!(
                    "Custom coefficients hold only if they were fitted on CoS-Low computed by {} \
                     itself (e.g. with labelcast calibrate on tasks you measured with it).",
                    m.title
                )
            }),
            chart: false,
        });
    }
    if let Some(name) = coef.strip_prefix(PROXY) {
        let cal = cals
            .iter()
            .find(|c| c.run.model.name == name && !c.sets.is_empty())
            .ok_or_else(|| {
                format!("No calibration of {name} is at hand: load its calibration file again.")
            })?;
        let mut c = proxy_of(cal, target)?;
        if let Some(m) = m.filter(|_| own.is_none_or(|o| o.run.model.name != name)) {
            c.chart = false;
            c.warning = Some(format!(
                "This set was fitted on CoS-Low computed by {}; {} computes CoS-Low on another \
                 scale, so this forecast is not calibrated.",
                cal.run.model.label, m.title
            ));
        }
        return Ok(c);
    }
    if coef != AUTO {
        let mut c = published(coef)?;
        let label = family_label(coef);
        c.warning = match m {
            Some(m) if m.published == (CoefMatch::Exact { family: coef.to_string() }) => None,
            Some(m) => Some(format!(
                "{label} coefficients were fitted on CoS-Low computed by {label} itself; {} computes \
                 CoS-Low on another scale, so this forecast is not calibrated{}.",
                m.title,
                if own.is_some() { " (its own calibrated set is: choose “Calibrated for the loaded model”)" } else { "" }
            )),
            None => None,
        };
        return Ok(c);
    }
    // AUTO: the rules.
    let Some(m) = m else {
        // No model: the page cannot know which model computed a typed CoS-Low.
        let fam = target
            .map(str::to_string)
            .unwrap_or_else(|| families()[0].name.clone());
        let mut c = published(&fam)?;
        c.target_free = true;
        c.sentence = format!(
            "No model is loaded, so the page cannot tell which model computed this CoS-Low: these are \
             the published coefficients for {}, valid for CoS-Low computed by that model itself. {}",
            family_label(&fam),
            c.sentence
        );
        return Ok(c);
    };
    // As the CLI: the model's own calibration first, then the paper's model (or its kin).
    match (&m.published, own) {
        (_, Some(cal)) => proxy_of(cal, target),
        (CoefMatch::Exact { family }, None) => published(family),
        (CoefMatch::SameFamily { family, .. }, None) => {
            let mut c = published(family)?;
            let label = family_label(family);
            c.warning = Some(format!(
                "No coefficients exist for {} itself: these are {label}'s, fitted on CoS-Low computed \
                 by {label}, used as a same-family estimate. {} may compute CoS-Low on another scale.",
                m.title, m.title
            ));
            Ok(c)
        }
        (CoefMatch::None { .. }, None) => baseline(Some(m), cals, target),
    }
}

/// One sentence for the model card: which set the forecast will use for this model.
pub fn model_note(m: &ModelId, cals: &[Calibration]) -> String {
    if let Some(cal) = calibration_for(m, cals) {
        let fams: Vec<String> = cal.sets.iter().map(|s| s.family_label.clone()).collect();
        let from = if cal.source == "shipped" {
            "shipped with labelcast".to_string()
        } else {
            format!("from {}", cal.source)
        };
        return format!(
            "{} has coefficients calibrated by labelcast on the paper's tasks ({from}) for \
             fine-tuning {}: the forecast in step 5 uses them.",
            m.title,
            fams.join(", ")
        );
    }
    match &m.published {
        CoefMatch::Exact { .. } | CoefMatch::SameFamily { .. } => m.published.sentence(&m.title),
        _ => format!(
            "No coefficients exist for {} (neither published nor calibrated with labelcast \
             calibrate-suite): its CoS-Low is still measured, and step 5 shows the budget of an \
             average task, not a forecast for your data. A calibration file for it can be loaded \
             in step 5.",
            m.title
        ),
    }
}

#[cfg(test)]
#[path = "coef_sets_tests.rs"]
mod tests;
