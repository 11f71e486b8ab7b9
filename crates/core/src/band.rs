//! Uncertainty band around a forecast (docs/uncertainty.md explains the choices).
//!
//! Each of `resamples` draws combines
//! - a CoS-Low from a bootstrap over the annotated examples (`coslow_bootstrap`), when the
//!   pairwise cosines are known, and
//! - coefficients `c ~ N(c, c_se)`, `I ~ N(I, I_se)` from the published standard errors,
//! - optionally, a task-level prediction error on AUC' (off by default),
//!
//! into one AUC' and so one forecast curve. The band is the central `level` interval of
//! the per-draw budgets (per target) and shares (per curve budget). Seeded and
//! platform-independent through `crate::rng::Rng`.
//!
//! A fitted proxy set instead brings its leave-one-out residuals, which already hold every
//! error a user's single run meets (the draw of 32, the fit, the task): its band is the
//! split-conformal interval `prediction ± q`, `q` the ⌈(n+1)·level⌉-th smallest of the n
//! absolute residuals, and nothing is resampled.

use crate::error::{Error, Result};
use crate::forecast::{self, check_cos_matrix, check_coslow, Coefficients, Forecast};
use crate::rng::Rng;
use crate::stats;

/// AUC' draws are kept inside [AUC_CLAMP, 1 − AUC_CLAMP]: outside (0, 1) no curve exists.
pub const AUC_CLAMP: f64 = 1e-6;

/// The paper's reported error of data-efficiency (AUC) prediction across its tasks, read
/// as a mean absolute error in AUC units; see docs/uncertainty.md for why and the caveat.
pub const PAPER_PREDICTION_ERROR: f64 = 0.086;

/// Half-width of the split-conformal `level` interval from out-of-sample residuals: the
/// k-th smallest |r| with k = ⌈(n+1)·level⌉, which covers a new exchangeable case with
/// probability ≥ `level`. With too few residuals for that (k > n) it is the largest miss and
/// the bool is false: the band cannot promise `level`. `None` for no residuals.
pub fn conformal_halfwidth(residuals: &[f64], level: f64) -> Option<(f64, bool)> {
    if residuals.is_empty() {
        return None;
    }
    let mut abs: Vec<f64> = residuals.iter().map(|r| r.abs()).collect();
    abs.sort_by(f64::total_cmp);
    let n = abs.len();
    let k = conformal_rank(n, level);
    Some((abs[k.min(n) - 1], k <= n))
}

/// k = ⌈(n+1)·level⌉ (at least 1), the rank of the conformal residual among n.
pub fn conformal_rank(n: usize, level: f64) -> usize {
    // The small slack keeps 0.9·10 = 9.000000000000002 from asking for a 10th residual.
    (((n + 1) as f64) * level - 1e-9).ceil().max(1.0) as usize
}

/// Mixed into the seed of the coefficient draws so that `band` and `coslow_bootstrap`
/// given the same seed do not consume the same random stream.
const BAND_STREAM: u64 = 0x6C61_6265_6C63_6173;

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Interval {
    pub lo: f64,
    /// The point forecast (not the median of the draws), so the band brackets the number
    /// the user is shown.
    pub mid: f64,
    pub hi: f64,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct BandOptions {
    pub resamples: usize,
    pub seed: u64,
    /// Central coverage of the interval, e.g. 0.9 for the 5%–95% quantiles.
    pub level: f64,
}

impl Default for BandOptions {
    fn default() -> Self {
        BandOptions { resamples: 2000, seed: 0, level: 0.9 }
    }
}

/// Options beyond the contract's `BandOptions`, kept apart so that code building
/// `BandOptions` literally keeps compiling.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct BandExtras {
    /// Mean absolute error of AUC' between tasks to add as Gaussian noise to every draw;
    /// `Some(PAPER_PREDICTION_ERROR)` widens the band by the paper's reported error.
    pub prediction_error: Option<f64>,
    /// Number of log-spaced budgets in `Band::curve` (same budgets as `Forecast::curve`).
    pub curve_points: usize,
    /// Out-of-sample residuals (measured − predicted AUC) of a proxy set's fit: when given,
    /// the band is their conformal interval around the prediction (see the module's notes).
    pub residuals: Vec<f64>,
}

impl Default for BandExtras {
    fn default() -> Self {
        BandExtras { prediction_error: None, curve_points: forecast::DEFAULT_CURVE_POINTS, residuals: Vec::new() }
    }
}

/// What a band's width comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// Resampling the annotated examples (spread of the pairwise gradient cosines).
    CoslowBootstrap,
    /// The standard errors of the family's coefficients.
    CoefficientErrors,
    /// The between-task prediction error (opt-in).
    PredictionError,
    /// The leave-one-out residuals of a proxy set's fit on the calibration tasks (conformal).
    TaskResiduals,
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Source::CoslowBootstrap => "coslow-bootstrap",
            Source::CoefficientErrors => "coefficient-errors",
            Source::PredictionError => "prediction-error",
            Source::TaskResiduals => "task-residuals",
        }
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Band {
    pub coslow: Interval,
    pub auc: Interval,
    /// (target share, budget interval) per requested target.
    pub budgets: Vec<(f64, Interval)>,
    /// (budget, share lo, share hi) at the log-spaced budgets of `Forecast::curve`.
    pub curve: Vec<(f64, f64, f64)>,
    /// What the width reflects; empty means a point forecast with no uncertainty known.
    pub sources: Vec<Source>,
    /// Draws whose AUC' fell outside [AUC_CLAMP, 1 − AUC_CLAMP] and were clamped.
    pub clamped: usize,
    pub resamples: usize,
    pub level: f64,
    /// Plain-language remarks for the user (missing sources, clamping).
    pub notes: Vec<String>,
}

/// Bootstrap distribution of CoS-Low: `resamples` times, draw n examples with
/// replacement and take the median cosine over all pairs of draws that are different
/// original examples (a pair of two copies of one example has no cosine to contribute).
/// A resample that drew a single example only is drawn again.
pub fn coslow_bootstrap(cos: &[Vec<f64>], resamples: usize, seed: u64) -> Result<Vec<f64>> {
    check_cos_matrix(cos)?;
    if resamples == 0 {
        return Err(Error::Invalid("the bootstrap needs at least one resample".into()));
    }
    let n = cos.len();
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(resamples);
    let mut draws = vec![0usize; n];
    let mut vals = Vec::with_capacity(n * (n - 1) / 2);
    while out.len() < resamples {
        for d in draws.iter_mut() {
            *d = rng.below(n);
        }
        vals.clear();
        for i in 0..n {
            for j in i + 1..n {
                let (a, b) = (draws[i], draws[j]);
                if a != b {
                    vals.push(cos[a][b]);
                }
            }
        }
        if let Some(m) = stats::median(&vals) {
            out.push(m.clamp(-1.0, 1.0));
        }
    }
    Ok(out)
}

/// The band with default extras (no prediction error, default curve points).
pub fn band(
    coslow: f64,
    coslow_samples: Option<&[f64]>,
    c: &Coefficients,
    targets: &[f64],
    max_budget: f64,
    opts: &BandOptions,
) -> Result<Band> {
    band_with(coslow, coslow_samples, c, targets, max_budget, opts, &BandExtras::default())
}

pub fn band_with(
    coslow: f64,
    coslow_samples: Option<&[f64]>,
    c: &Coefficients,
    targets: &[f64],
    max_budget: f64,
    opts: &BandOptions,
    extras: &BandExtras,
) -> Result<Band> {
    let point = Forecast::from_coslow(coslow, c, max_budget)?;
    for &t in targets {
        forecast::check_target(t)?;
    }
    if opts.resamples == 0 {
        return Err(Error::Invalid("the band needs at least one resample".into()));
    }
    if !(opts.level > 0.0 && opts.level < 1.0) {
        return Err(Error::Invalid(format!("the band's level must lie strictly between 0 and 1, got {}", opts.level)));
    }
    if let Some(s) = coslow_samples {
        if s.is_empty() {
            return Err(Error::Invalid("CoS-Low samples were given but the list is empty".into()));
        }
        for &v in s {
            check_coslow(v)?;
        }
    }
    let pred_sd = match extras.prediction_error {
        Some(e) if !(e.is_finite() && e >= 0.0) => {
            return Err(Error::Invalid(format!("the prediction error must be a finite number ≥ 0, got {e}")))
        }
        // A Gaussian with standard deviation σ has mean absolute value σ·sqrt(2/π).
        Some(e) => e * (std::f64::consts::PI / 2.0).sqrt(),
        None => 0.0,
    };
    if !(c.slope_se.is_finite() && c.slope_se >= 0.0 && c.intercept_se.is_finite() && c.intercept_se >= 0.0) {
        return Err(Error::Invalid(format!(
            "standard errors must be finite and ≥ 0, got {} and {}",
            c.slope_se, c.intercept_se
        )));
    }

    if extras.residuals.iter().any(|r| !r.is_finite()) {
        return Err(Error::Invalid("the fit's residuals must be finite numbers".into()));
    }
    if !extras.residuals.is_empty() {
        return Ok(conformal_band(&point, coslow, coslow_samples, targets, max_budget, opts, extras));
    }

    let mut sources = Vec::new();
    let mut notes = Vec::new();
    match coslow_samples {
        Some(_) => sources.push(Source::CoslowBootstrap),
        None => notes.push(
            "no pairwise cosines were given (CoS-Low typed in), so the band does not reflect \
             how uncertain CoS-Low itself is"
                .to_string(),
        ),
    }
    if c.slope_se > 0.0 || c.intercept_se > 0.0 {
        sources.push(Source::CoefficientErrors);
    } else {
        notes.push(format!("{} have no standard errors; their uncertainty is not included", c.label));
    }
    if pred_sd > 0.0 {
        sources.push(Source::PredictionError);
    } else {
        notes.push(format!(
            "the between-task prediction error ({:.1}% in the paper) is not included",
            PAPER_PREDICTION_ERROR * 100.0
        ));
    }

    let n = opts.resamples;
    let mut rng = Rng::new(opts.seed ^ BAND_STREAM);
    let mut cos_draws = Vec::with_capacity(n);
    let mut ps = Vec::with_capacity(n);
    let mut aucs = Vec::with_capacity(n);
    let mut clamped = 0;
    for r in 0..n {
        // Bootstrap draws are already independent, so cycling through them in order keeps
        // the result a function of (samples, seed) alone.
        let x = coslow_samples.map_or(coslow, |s| s[r % s.len()]);
        // Always draw all three normals so one option does not shift the others' stream.
        let zc = rng.normal();
        let zi = rng.normal();
        let ze = rng.normal();
        let mut a = (c.slope + c.slope_se * zc) * x + c.intercept + c.intercept_se * zi + pred_sd * ze;
        if !extras.residuals.is_empty() {
            a += extras.residuals[rng.below(extras.residuals.len())];
        }
        if !(AUC_CLAMP..=1.0 - AUC_CLAMP).contains(&a) {
            // Written out rather than `clamp`, which would pass a NaN (inf − inf from absurd
            // coefficients) through to the quantiles.
            a = if a > 0.5 { 1.0 - AUC_CLAMP } else { AUC_CLAMP };
            clamped += 1;
        }
        cos_draws.push(x);
        aucs.push(a);
        ps.push((1.0 - a) / a);
    }
    if clamped > 0 {
        notes.push(format!(
            "{clamped} of {n} draws gave AUC' outside (0, 1) and were clamped to [{AUC_CLAMP}, {}]",
            1.0 - AUC_CLAMP
        ));
    }

    let (qlo, qhi) = ((1.0 - opts.level) / 2.0, (1.0 + opts.level) / 2.0);
    let interval = |xs: &[f64], mid: f64| Interval {
        lo: stats::quantile(xs, qlo).expect("draws are finite and non-empty"),
        mid,
        hi: stats::quantile(xs, qhi).expect("draws are finite and non-empty"),
    };
    let budgets = targets
        .iter()
        .map(|&t| {
            let draws: Vec<f64> = ps.iter().map(|&p| forecast::budget(p, max_budget, t)).collect();
            (t, interval(&draws, forecast::budget(point.p, max_budget, t)))
        })
        .collect();
    let mut shares = vec![0.0; n];
    let curve = forecast::curve_budgets(max_budget, extras.curve_points)
        .into_iter()
        .map(|b| {
            for (s, &p) in shares.iter_mut().zip(&ps) {
                *s = forecast::share(p, max_budget, b);
            }
            let i = interval(&shares, point.share_at_budget(b));
            (b, i.lo, i.hi)
        })
        .collect();

    Ok(Band {
        coslow: interval(&cos_draws, coslow),
        auc: interval(&aucs, point.auc),
        budgets,
        curve,
        sources,
        clamped,
        resamples: n,
        level: opts.level,
        notes,
    })
}

/// The band of a fitted proxy set: its prediction ± the conformal half-width of its
/// residuals. CoS-Low's own bootstrap is reported but not added: each residual came from one
/// draw of 32, so how much a draw varies is already in them.
fn conformal_band(
    point: &Forecast,
    coslow: f64,
    coslow_samples: Option<&[f64]>,
    targets: &[f64],
    max_budget: f64,
    opts: &BandOptions,
    extras: &BandExtras,
) -> Band {
    let res = &extras.residuals;
    let (q, promised) = conformal_halfwidth(res, opts.level).expect("residuals are not empty");
    let n = res.len();
    let mut notes = vec![format!(
        "the band is the prediction ± {q:.3} AUC: {} of the fit's {n} out-of-sample misses were no larger \
         (split conformal)",
        conformal_rank(n, opts.level).min(n)
    )];
    if !promised {
        notes.push(format!(
            "with {} residuals no {:.0}% band can be promised: this is the largest miss",
            n,
            opts.level * 100.0
        ));
    }
    let keep = |a: f64| a.clamp(AUC_CLAMP, 1.0 - AUC_CLAMP);
    let (alo, ahi) = (point.auc - q, point.auc + q);
    let clamped = usize::from(keep(alo) != alo) + usize::from(keep(ahi) != ahi);
    if clamped > 0 {
        notes.push(format!("the band's AUC' was clamped to [{AUC_CLAMP}, {}]", 1.0 - AUC_CLAMP));
    }
    let ends = [keep(alo), keep(ahi)].map(|a| (1.0 - a) / a);
    let span = |f: &dyn Fn(f64) -> f64, mid: f64| {
        let (x, y) = (f(ends[0]), f(ends[1]));
        Interval { lo: x.min(y), mid, hi: x.max(y) }
    };
    let coslow = match coslow_samples {
        Some(s) => {
            let mid = coslow;
            let (qlo, qhi) = ((1.0 - opts.level) / 2.0, (1.0 + opts.level) / 2.0);
            Interval {
                lo: stats::quantile(s, qlo).expect("samples were checked"),
                mid,
                hi: stats::quantile(s, qhi).expect("samples were checked"),
            }
        }
        None => Interval { lo: coslow, mid: coslow, hi: coslow },
    };
    Band {
        coslow,
        auc: Interval { lo: keep(alo), mid: point.auc, hi: keep(ahi) },
        budgets: targets
            .iter()
            .map(|&t| (t, span(&|p| forecast::budget(p, max_budget, t), forecast::budget(point.p, max_budget, t))))
            .collect(),
        curve: forecast::curve_budgets(max_budget, extras.curve_points)
            .into_iter()
            .map(|b| {
                let i = span(&|p| forecast::share(p, max_budget, b), point.share_at_budget(b));
                (b, i.lo, i.hi)
            })
            .collect(),
        sources: vec![Source::TaskResiduals],
        clamped,
        resamples: 0,
        level: opts.level,
        notes,
    }
}
