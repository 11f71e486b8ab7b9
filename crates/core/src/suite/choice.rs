//! Which coefficient set a forecast uses, and what to say about it — the one rule for the page
//! and the CLI. A calibrated model gets its proxy set for the model to be fine-tuned; a model
//! the paper fitted gets its published set (its kin the same, as an estimate); a model with no
//! set at all gets the suite's average task (the baseline), plainly labelled. Anything else (a
//! published set or custom numbers on another model's CoS-Low) is the person's choice and
//! carries a warning.

use super::proxy::{baseline_set, proxy_sets, ProxySet};
use super::published::{published_match, PublishedMatch};
use super::shipped::{default_target, match_model, shipped, ModelMatch};
use super::SuiteResults;
use crate::band::{BandExtras, PAPER_PREDICTION_ERROR};
use crate::error::{Error, Result};
use crate::forecast::{families, family, Coefficients};

/// Where a calibration run came from when it was not loaded from a file.
pub const SHIPPED: &str = "shipped";

/// A calibration run at hand, with its proxy sets.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    /// The name of the file it was read from, or [`SHIPPED`].
    pub source: String,
    pub run: SuiteResults,
    pub sets: Vec<ProxySet>,
}

impl Calibration {
    pub fn new(source: &str, run: SuiteResults) -> Self {
        Calibration { source: source.to_string(), sets: proxy_sets(&run), run }
    }

    /// A results file the person gives; refused (naming the file) when it yields no set.
    pub fn from_file(name: &str, text: &str) -> Result<Self> {
        let c = Calibration::new(name, SuiteResults::from_json(name, text)?);
        if c.sets.is_empty() {
            return Err(Error::Invalid(format!(
                "{name}: the calibration of {} has {} tasks, too few for a proxy set (a family needs \
                 at least 5 tasks with its measured AUC); let calibrate-suite run further",
                c.run.model.label,
                c.run.tasks.len()
            )));
        }
        Ok(c)
    }
}

/// The person's calibrations first, then the shipped ones (as the CLI's `--calibration` files
/// come before the shipped runs).
pub fn with_shipped(mut given: Vec<Calibration>) -> Result<Vec<Calibration>> {
    given.extend(shipped()?.into_iter().map(|r| Calibration::new(SHIPPED, r)));
    Ok(given)
}

/// What the rules need to know about the loaded model.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelId {
    /// How the page and the CLI name it.
    pub title: String,
    /// GGUF `general.name` (or config.json's name), when known.
    pub name: Option<String>,
    pub file: String,
    pub sha256: Option<String>,
}

impl ModelId {
    pub fn published(&self) -> PublishedMatch {
        published_match(self.name.as_deref(), &self.file)
    }
}

/// The model's calibration: the first run (the person's files first) that names it and has
/// proxy sets, and how closely.
pub fn calibration_for<'a>(m: &ModelId, cals: &'a [Calibration]) -> Option<(&'a Calibration, ModelMatch)> {
    cals.iter()
        .filter(|c| !c.sets.is_empty())
        .find_map(|c| Some((c, match_model(&c.run, m.name.as_deref(), &m.file, m.sha256.as_deref())?)))
}

/// What the person asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum Coef {
    /// Follow the loaded model (the recommended choice).
    Auto,
    /// A calibrated model's proxy sets, by its name in the results file.
    Proxy(String),
    /// A published family by name or alias.
    Published(String),
    Custom {
        slope: f64,
        intercept: f64,
    },
}

/// What a set is, as `coefficient_set.kind` names it.
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

/// The set the forecast uses, and what to say about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Chosen {
    pub kind: Kind,
    /// The published family whose data efficiency it predicts (`None` for custom numbers).
    pub target: Option<String>,
    /// Whether the model to fine-tune changes the set (a published set fixes its family).
    pub target_free: bool,
    /// A proxy or baseline set.
    pub proxy: Option<ProxySet>,
    /// Published or custom coefficients.
    pub fixed: Option<Coefficients>,
    pub sentence: String,
    pub warning: Option<String>,
    /// Whether the calibration chart describes this set for this model (its tasks' CoS-Low are
    /// on the scale of the CoS-Low being forecast).
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

    /// The coefficients for a run with these features (a proxy set may need more than CoS-Low;
    /// the error names what is missing).
    pub fn coefficients(&self, run: &std::collections::BTreeMap<super::fit::Feature, f64>) -> Result<Coefficients> {
        match (&self.proxy, &self.fixed) {
            (_, Some(c)) => Ok(c.clone()),
            (Some(p), None) => p.coefficients(run),
            (None, None) => Err(Error::Invalid("no coefficients".into())),
        }
    }

    /// The between-task error the band includes: a proxy or baseline set's leave-one-out
    /// residuals, the paper's error for a published set, none for custom numbers.
    pub fn band_extras(&self) -> BandExtras {
        match self.kind {
            Kind::Proxy | Kind::Baseline => BandExtras {
                residuals: self.proxy.as_ref().map(|p| p.residuals.clone()).unwrap_or_default(),
                ..BandExtras::default()
            },
            Kind::Published => BandExtras { prediction_error: Some(PAPER_PREDICTION_ERROR), ..BandExtras::default() },
            Kind::Custom => BandExtras::default(),
        }
    }
}

fn family_label(name: &str) -> String {
    family(name).map(|f| f.label).unwrap_or_else(|_| name.to_string())
}

fn published(name: &str) -> Result<Chosen> {
    let c = family(name)?;
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

/// A published family's name from a name or alias (`llama`), for the target.
fn target_name(target: Option<&str>) -> Result<Option<String>> {
    target.map(|t| family(t).map(|f| f.name)).transpose()
}

/// The set of `cal` for `target` (default: core's default target).
fn proxy_of(cal: &Calibration, target: Option<&str>) -> Result<Chosen> {
    let set = match target {
        Some(t) => cal.sets.iter().find(|s| s.family == t),
        None => default_target(&cal.sets),
    };
    let set = set.ok_or_else(|| {
        Error::Invalid(format!(
            "{}'s calibration has no set for fine-tuning {}: too few of its tasks have that \
             model's measured AUC. Choose another model to fine-tune.",
            cal.run.model.label,
            family_label(target.unwrap_or_default())
        ))
    })?;
    let mut c = from_proxy(set, Kind::Proxy);
    if cal.source != SHIPPED {
        c.sentence = format!("{} (Calibration file {}.)", c.sentence, cal.source);
    }
    Ok(c)
}

/// The average task of the suite for `target`, for a model with no set at all.
fn baseline(m: &ModelId, cals: &[Calibration], target: Option<&str>) -> Result<Chosen> {
    let fam = target.map(str::to_string).unwrap_or_else(|| families()[0].name.clone());
    let label = family_label(&fam);
    let who = &m.title;
    let set = cals.iter().find_map(|c| baseline_set(&c.run, &fam).ok()).ok_or_else(|| {
        Error::Invalid(format!(
            "No coefficients exist for {who}, and no calibration at hand has enough of the paper's \
             tasks for {label} to show an average task. CoS-Low is still shown; choose a set, or \
             give a calibration file."
        ))
    })?;
    let mut c = from_proxy(&set, Kind::Baseline);
    c.sentence = format!(
        "No coefficients exist for {who} (neither published nor calibrated with labelcast \
         calibrate-suite): this is the budget of an average task of the paper's suite for {label}, \
         with their spread, not a forecast for your data. Its CoS-Low is still shown."
    );
    Ok(c)
}

/// The set for `coef` and the model to fine-tune (`target`, a family's name or alias; `None`:
/// the default), given the model that computed CoS-Low (if known) and the calibrations at hand.
pub fn resolve(m: Option<&ModelId>, cals: &[Calibration], target: Option<&str>, coef: &Coef) -> Result<Chosen> {
    let target = target_name(target)?;
    let target = target.as_deref();
    let own = m.and_then(|m| calibration_for(m, cals));
    match coef {
        Coef::Custom { slope, intercept } => Ok(Chosen {
            kind: Kind::Custom,
            target: None,
            target_free: false,
            proxy: None,
            fixed: Some(Coefficients::custom(*slope, *intercept)),
            sentence: "Custom coefficients: their error between tasks is unknown, so the band leaves it out.".into(),
            warning: m.map(|m| {
                format!(
                    "Custom coefficients hold only if they were fitted on CoS-Low computed by {} \
                     itself (e.g. with labelcast calibrate on tasks you measured with it).",
                    m.title
                )
            }),
            chart: false,
        }),
        Coef::Proxy(name) => {
            let cal = cals.iter().find(|c| c.run.model.name == *name && !c.sets.is_empty()).ok_or_else(|| {
                let known: Vec<&str> = cals.iter().map(|c| c.run.model.name.as_str()).collect();
                Error::Invalid(format!("no calibration of {name} is at hand (known: {})", known.join(", ")))
            })?;
            let mut c = proxy_of(cal, target)?;
            if let Some(m) = m.filter(|_| own.is_none_or(|(o, _)| o.run.model.name != *name)) {
                c.chart = false;
                c.warning = Some(format!(
                    "This set was fitted on CoS-Low computed by {}; {} computes CoS-Low on another \
                     scale, so this forecast is not calibrated.",
                    cal.run.model.label, m.title
                ));
            }
            Ok(c)
        }
        Coef::Published(name) => {
            let mut c = published(name)?;
            let fam = c.target.clone().unwrap_or_default();
            let label = family_label(&fam);
            c.warning = match m {
                Some(m) if m.published() == (PublishedMatch::Exact { family: fam }) => None,
                Some(m) => Some(format!(
                    "{label} coefficients were fitted on CoS-Low computed by {label} itself; {} computes \
                     CoS-Low on another scale, so this forecast is not calibrated{}.",
                    m.title,
                    if own.is_some() { " (its own calibrated set is: follow the loaded model)" } else { "" }
                )),
                None => None,
            };
            Ok(c)
        }
        Coef::Auto => {
            let Some(m) = m else {
                // No model: which model computed a typed CoS-Low is unknown.
                let fam = target.map(str::to_string).unwrap_or_else(|| families()[0].name.clone());
                let mut c = published(&fam)?;
                c.target_free = true;
                c.sentence = format!(
                    "No model is given, so which model computed this CoS-Low is unknown: these are the \
                     published coefficients for {}, valid for CoS-Low computed by that model itself. {}",
                    family_label(&fam),
                    c.sentence
                );
                return Ok(c);
            };
            // The model's own calibration first, then the paper's model (or its kin).
            match (m.published(), own) {
                (_, Some((cal, how))) => {
                    let mut c = proxy_of(cal, target)?;
                    if how == ModelMatch::SameModel && m.sha256.is_some() {
                        c.warning = Some(format!(
                            "calibrated on {} (sha256 {}), not this very file: another quantization \
                             moves CoS-Low a little",
                            cal.run.model.file, cal.run.model.sha256
                        ));
                    }
                    Ok(c)
                }
                (PublishedMatch::Exact { family }, None) => published(&family),
                (PublishedMatch::SameFamily { family, .. }, None) => {
                    let mut c = published(&family)?;
                    let label = family_label(&family);
                    c.warning = Some(format!(
                        "No coefficients exist for {} itself: these are {label}'s, fitted on CoS-Low \
                         computed by {label}, used as a same-family estimate. {} may compute CoS-Low on \
                         another scale.",
                        m.title, m.title
                    ));
                    Ok(c)
                }
                (PublishedMatch::None, None) => baseline(m, cals, target),
            }
        }
    }
}
