//! From CoS-Low to a forecast of the labeled-example budget (METHOD.md 1e).
//!
//! `AUC' = c · CoS-Low + I` with per-family coefficients, then the forecast curve
//! `f(x) = x^p`, `p = (1 − AUC') / AUC'`, on the normalized axes of METHOD.md 1a:
//! `x = log2(n) / log2(max_budget)`, `f` = share of attainable performance. Its area is
//! exactly AUC', so the curve is the simplest one consistent with the predicted metric.

use crate::error::{Error, Result};
use crate::stats;

/// The largest budget of the paper's learning curves; the forecast's x axis ends there.
pub const DEFAULT_MAX_BUDGET: f64 = 5000.0;

/// Target shares of attainable performance reported by default.
pub const DEFAULT_TARGETS: [f64; 5] = [0.5, 0.7, 0.8, 0.9, 0.95];

/// How many points `Forecast::curve` and the band's curve use unless told otherwise.
pub const DEFAULT_CURVE_POINTS: usize = 41;

const PAPER: &str = "Je & Raffel, \"Efficiently Estimating Data Efficiency for Language Model \
                     Fine-tuning\", arXiv 2512.24991";

/// Regression coefficients `AUC' = slope · CoS-Low + intercept` for one model family.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Coefficients {
    /// Machine name, e.g. `llama-3.1-8b-instruct`.
    pub name: String,
    /// Human label, e.g. `Llama 3.1 8B-Instruct`.
    pub label: String,
    pub slope: f64,
    pub intercept: f64,
    /// Standard errors; 0 when unknown (custom coefficients).
    pub slope_se: f64,
    pub intercept_se: f64,
    /// Where the numbers come from.
    pub provenance: String,
}

fn published(name: &str, label: &str, c: (f64, f64), i: (f64, f64)) -> Coefficients {
    Coefficients {
        name: name.to_string(),
        label: label.to_string(),
        slope: c.0,
        slope_se: c.1,
        intercept: i.0,
        intercept_se: i.1,
        provenance: format!(
            "{PAPER}: linear regression of measured AUC on CoS-Low over the paper's tasks for \
             {label}; coefficients ± standard errors as published. They do not transfer to \
             other model families."
        ),
    }
}

/// The three published families (METHOD.md 1e).
pub fn families() -> Vec<Coefficients> {
    vec![
        published("llama-3.1-8b-instruct", "Llama 3.1 8B-Instruct", (0.545, 0.005), (0.310, 0.002)),
        published("mistral-7b-instruct-v0.3", "Mistral 7B-Instruct v0.3", (0.797, 0.012), (0.357, 0.002)),
        published("qwen2.5-14b-instruct", "Qwen 2.5 14B-Instruct", (0.526, 0.025), (0.305, 0.003)),
    ]
}

/// Short names accepted by `family` besides the full name and the label.
const ALIASES: [(&str, &[&str]); 3] = [
    ("llama-3.1-8b-instruct", &["llama", "llama-3.1", "llama3.1", "llama-3.1-8b"]),
    ("mistral-7b-instruct-v0.3", &["mistral", "mistral-7b", "mistral-7b-instruct"]),
    ("qwen2.5-14b-instruct", &["qwen", "qwen2.5", "qwen-2.5", "qwen2.5-14b"]),
];

/// Looks a family up by its name, its label or a short alias (`llama`, `mistral`, `qwen`),
/// ignoring case and surrounding spaces.
pub fn family(name: &str) -> Result<Coefficients> {
    let wanted = name.trim().to_lowercase();
    let all = families();
    let found = all.iter().find(|f| {
        f.name == wanted
            || f.label.to_lowercase() == wanted
            || ALIASES.iter().any(|(n, a)| *n == f.name && a.contains(&wanted.as_str()))
    });
    found.cloned().ok_or_else(|| Error::UnknownFamily {
        name: name.to_string(),
        known: ALIASES.iter().map(|(n, a)| format!("{n} (or {})", a[0])).collect::<Vec<_>>().join(", "),
    })
}

/// Checks that a CoS-Low value can be used: a cosine, so within [-1, 1].
pub fn check_coslow(coslow: f64) -> Result<f64> {
    if coslow.is_nan() || !(-1.0..=1.0).contains(&coslow) {
        return Err(Error::CosLowOutOfRange(coslow));
    }
    Ok(coslow)
}

impl Coefficients {
    /// User-supplied coefficients without known standard errors.
    pub fn custom(slope: f64, intercept: f64) -> Self {
        Coefficients {
            name: "custom".to_string(),
            label: "Custom coefficients".to_string(),
            slope,
            intercept,
            slope_se: 0.0,
            intercept_se: 0.0,
            provenance: "given by the user; no standard errors known".to_string(),
        }
    }

    /// `slope · coslow + intercept` without checking that the result is a usable AUC.
    pub fn predict_auc_unchecked(&self, coslow: f64) -> f64 {
        self.slope * coslow + self.intercept
    }

    /// Predicted AUC'; errors when CoS-Low is not a cosine or the prediction leaves (0, 1),
    /// where no forecast curve exists.
    pub fn predict_auc(&self, coslow: f64) -> Result<f64> {
        check_coslow(coslow)?;
        let auc = self.predict_auc_unchecked(coslow);
        check_auc(auc, || format!("{}: {} × CoS-Low {} + {}", self.label, self.slope, coslow, self.intercept))
    }
}

fn check_auc(auc: f64, why: impl FnOnce() -> String) -> Result<f64> {
    // NaN fails the range test as well.
    if !(auc > 0.0 && auc < 1.0) {
        return Err(Error::AucOutOfRange { auc, why: why() });
    }
    Ok(auc)
}

fn check_max_budget(max_budget: f64) -> Result<f64> {
    if !(max_budget.is_finite() && max_budget > 1.0) {
        return Err(Error::Invalid(format!(
            "the maximum budget must be a finite number of examples above 1, got {max_budget}"
        )));
    }
    Ok(max_budget)
}

/// The forecast curve `share = x^p` for one AUC'.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Forecast {
    pub auc: f64,
    pub p: f64,
    pub max_budget: f64,
}

impl Forecast {
    pub fn from_auc(auc: f64, max_budget: f64) -> Result<Self> {
        check_auc(auc, || "the given AUC".to_string())?;
        check_max_budget(max_budget)?;
        Ok(Forecast { auc, p: (1.0 - auc) / auc, max_budget })
    }

    pub fn from_coslow(coslow: f64, c: &Coefficients, max_budget: f64) -> Result<Self> {
        let auc = c.predict_auc(coslow)?;
        Self::from_auc(auc, max_budget)
    }

    /// Share of attainable performance forecast at `budget` examples: 0 at or below one
    /// example (x = 0), 1 at or beyond the maximum budget (x = 1).
    pub fn share_at_budget(&self, budget: f64) -> f64 {
        share(self.p, self.max_budget, budget)
    }

    /// Examples needed to reach `target` share: `max_budget^(target^(1/p))`.
    pub fn budget_for(&self, target: f64) -> Result<f64> {
        check_target(target)?;
        Ok(budget(self.p, self.max_budget, target))
    }

    /// `points` (budget, share) pairs, budgets log-spaced from 1 to `max_budget` inclusive.
    pub fn curve(&self, points: usize) -> Vec<(f64, f64)> {
        curve_budgets(self.max_budget, points).into_iter().map(|b| (b, self.share_at_budget(b))).collect()
    }
}

pub(crate) fn check_target(target: f64) -> Result<f64> {
    if !(target > 0.0 && target < 1.0) {
        return Err(Error::TargetOutOfRange(target));
    }
    Ok(target)
}

pub(crate) fn share(p: f64, max_budget: f64, budget: f64) -> f64 {
    if budget.is_nan() || budget <= 1.0 {
        return 0.0;
    }
    if budget >= max_budget {
        return 1.0;
    }
    (budget.ln() / max_budget.ln()).powf(p)
}

pub(crate) fn budget(p: f64, max_budget: f64, target: f64) -> f64 {
    max_budget.powf(target.powf(1.0 / p))
}

/// Log-spaced budgets from 1 to `max_budget`; the last one is exactly `max_budget`.
pub(crate) fn curve_budgets(max_budget: f64, points: usize) -> Vec<f64> {
    match points {
        0 => vec![],
        1 => vec![max_budget],
        n => (0..n).map(|i| if i == n - 1 { max_budget } else { max_budget.powf(i as f64 / (n - 1) as f64) }).collect(),
    }
}

/// Tolerance for rounding noise in cosine matrices computed in f32 or on a GPU.
const COS_TOL: f64 = 1e-6;

/// Validates a pairwise cosine matrix: n ≥ 2, square, symmetric and off-diagonal entries
/// within [-1, 1] up to `COS_TOL`. The diagonal is not used (a zero gradient has no
/// self-cosine), so it is not checked.
pub fn check_cos_matrix(cos: &[Vec<f64>]) -> Result<()> {
    let n = cos.len();
    if n < 2 {
        return Err(Error::Invalid(format!("the cosine matrix needs at least 2 examples to have a pair, got {n}")));
    }
    let mut problems = Vec::new();
    for (i, row) in cos.iter().enumerate() {
        if row.len() != n {
            return Err(Error::Invalid(format!(
                "the cosine matrix must be square: row {} has {} entries, expected {n}",
                i + 1,
                row.len()
            )));
        }
    }
    for (i, row) in cos.iter().enumerate() {
        for (j, &v) in row.iter().enumerate() {
            if i == j {
                continue;
            }
            if v.is_nan() || !(-1.0 - COS_TOL..=1.0 + COS_TOL).contains(&v) {
                problems.push(Error::Invalid(format!(
                    "cosine matrix entry at row {}, column {} is {v}, not a cosine in [-1, 1]",
                    i + 1,
                    j + 1
                )));
            } else if j > i && (v - cos[j][i]).abs() > COS_TOL {
                problems.push(Error::Invalid(format!(
                    "cosine matrix is not symmetric: row {}, column {} is {v} but row {}, \
                     column {} is {}",
                    i + 1,
                    j + 1,
                    j + 1,
                    i + 1,
                    cos[j][i]
                )));
            }
        }
    }
    match problems.len() {
        0 => Ok(()),
        1 => Err(problems.pop().unwrap()),
        _ => Err(Error::Many(problems)),
    }
}

/// CoS-Low from a pairwise cosine matrix: the median over the strict upper triangle
/// (every unordered pair once), clamped to [-1, 1] so rounding noise stays a cosine.
pub fn coslow_from_matrix(cos: &[Vec<f64>]) -> Result<f64> {
    check_cos_matrix(cos)?;
    let n = cos.len();
    let mut pairs = Vec::with_capacity(n * (n - 1) / 2);
    for (i, row) in cos.iter().enumerate() {
        pairs.extend_from_slice(&row[i + 1..]);
    }
    let m = stats::median(&pairs).expect("n >= 2 gives at least one finite pair");
    Ok(m.clamp(-1.0, 1.0))
}

/// Cosines from a Gram matrix of the examples' gradients (diagonal set to 1). A zero-length
/// gradient has no direction: an error naming the example (counted from 1).
pub fn cosines_from_gram(g: &[Vec<f64>]) -> Result<Vec<Vec<f64>>> {
    let k = g.len();
    for (i, row) in g.iter().enumerate() {
        if row[i].is_nan() || row[i] <= 0.0 || !row[i].is_finite() {
            return Err(Error::Invalid(format!(
                "example {}: its gradient is zero or not finite, so it has no cosine",
                i + 1
            )));
        }
    }
    Ok((0..k)
        .map(|i| {
            (0..k).map(|j| if i == j { 1.0 } else { (g[i][j] / (g[i][i] * g[j][j]).sqrt()).clamp(-1.0, 1.0) }).collect()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_are_log_spaced_and_end_at_max() {
        let b = curve_budgets(10000.0, 5);
        let want = [1.0, 10.0, 100.0, 1000.0, 10000.0];
        for (g, w) in b.iter().zip(want) {
            assert!((g - w).abs() < 1e-9 * w, "{b:?}");
        }
        assert_eq!(curve_budgets(5000.0, 1), vec![5000.0]);
        assert!(curve_budgets(5000.0, 0).is_empty());
    }
}

/// A budget as it should be shown: two significant digits from 100 up (1,610 → 1,600), the
/// nearest whole example below. A forecast whose band spans a factor of two has no third
/// digit to show; 0 for a value that is not a finite positive number.
pub fn round_budget(b: f64) -> u64 {
    if !(b.is_finite() && b > 0.0) {
        return 0;
    }
    if b < 100.0 {
        return b.round() as u64;
    }
    let scale = 10f64.powi(b.log10().floor() as i32 - 1);
    ((b / scale).round() * scale) as u64
}

#[cfg(test)]
mod round_tests {
    use super::round_budget;

    #[test]
    fn budgets_keep_two_significant_digits() {
        assert_eq!(round_budget(1610.4), 1600);
        assert_eq!(round_budget(1007.0), 1000);
        assert_eq!(round_budget(523.0), 520);
        assert_eq!(round_budget(99.6), 100);
        assert_eq!(round_budget(37.4), 37);
        assert_eq!(round_budget(4960.0), 5000);
        assert_eq!(round_budget(f64::NAN), 0);
    }
}

pub use crate::words::thousands;

/// What a budget above the pool's size means for annotation, or `None` when the pool holds it
/// (the budget as shown, `round_budget`, against the rows): the page's note and the CLI's.
pub fn beyond_pool(target: f64, budget: f64, pool: usize) -> Option<String> {
    let b = round_budget(budget);
    let pct = target * 100.0;
    let pct = if (pct - pct.round()).abs() < 1e-9 { format!("{pct:.0}%") } else { format!("{pct:.1}%") };
    let rows = if pool == 1 { "row" } else { "rows" };
    (b > pool as u64).then(|| {
        format!(
            "{} labeled examples for {pct} is more than the {} {rows} in your pool: annotate all of \
             them and expect to need more data.",
            thousands(b),
            thousands(pool as u64)
        )
    })
}

#[cfg(test)]
mod pool_tests {
    use super::*;

    #[test]
    fn a_budget_above_the_pool_says_what_it_means() {
        assert_eq!(
            beyond_pool(0.9, 1610.0, 400).unwrap(),
            "1,600 labeled examples for 90% is more than the 400 rows in your pool: annotate all of \
             them and expect to need more data."
        );
        assert_eq!(beyond_pool(0.9, 390.0, 400), None);
        assert!(
            beyond_pool(0.875, 2.0, 1).unwrap().contains("87.5%")
                && beyond_pool(0.5, 2.0, 1).unwrap().contains("1 row ")
        );
    }
}
