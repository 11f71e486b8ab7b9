//! Linear fits of a family's measured AUC on features of a model's suite run, judged out of
//! sample the way a user meets them: fitted on the other tasks (each task's features
//! averaged over its draws), then applied to every single draw of the held-out task — a
//! user has one draw of 32, not five.

pub use super::features::{run_features, Feature, RunInputs};
use super::SuiteResults;
use crate::forecast::Forecast;
use crate::stats;

/// One task of one family: the measured AUC and each draw's features.
#[derive(Debug, Clone, PartialEq)]
pub struct Obs {
    pub task: String,
    pub auc: f64,
    /// `draws[d][f]`: feature `Feature::ALL[f]` in draw d (NaN where not measured).
    pub draws: Vec<Vec<f64>>,
}

impl Obs {
    pub(super) fn mean(&self, f: usize) -> f64 {
        self.draws.iter().map(|d| d[f]).sum::<f64>() / self.draws.len() as f64
    }
}

/// The tasks of `results` that have `family`'s AUC, in file order.
pub fn observations(results: &SuiteResults, family: &str) -> Vec<Obs> {
    results
        .tasks
        .iter()
        .filter_map(|t| {
            let auc = (*t.paper_auc.get(family)?)?;
            let draws = (0..t.draws.len())
                .map(|d| Feature::ALL.iter().map(|f| f.value(t, d).unwrap_or(f64::NAN)).collect())
                .collect();
            Some(Obs { task: t.task.clone(), auc, draws })
        })
        .collect()
}

/// `auc ≈ intercept + Σ weights[i] · features[i]`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Linear {
    pub features: Vec<Feature>,
    pub weights: Vec<f64>,
    pub intercept: f64,
}

impl Linear {
    pub fn predict(&self, x: impl Fn(Feature) -> f64) -> f64 {
        self.intercept + self.features.iter().zip(&self.weights).map(|(&f, w)| w * x(f)).sum::<f64>()
    }

    /// A short formula, e.g. `0.41 + 0.12·coslow`.
    pub fn formula(&self) -> String {
        let mut s = format!("{:.3}", self.intercept);
        for (f, w) in self.features.iter().zip(&self.weights) {
            s += &format!(" {} {:.3}·{}", if *w < 0.0 { '−' } else { '+' }, w.abs(), f.name());
        }
        s
    }
}

pub(super) fn index(f: Feature) -> usize {
    Feature::ALL.iter().position(|&g| g == f).expect("every feature is in ALL")
}

/// Least squares on the tasks' mean features; `None` when the features are collinear or
/// missing, or when there are no more tasks than parameters.
pub fn fit(obs: &[&Obs], features: &[Feature]) -> Option<Linear> {
    let p = features.len() + 1;
    if obs.len() <= p {
        return None;
    }
    let rows: Vec<Vec<f64>> =
        obs.iter().map(|o| std::iter::once(1.0).chain(features.iter().map(|&f| o.mean(index(f)))).collect()).collect();
    if rows.iter().flatten().any(|v| !v.is_finite()) {
        return None;
    }
    // Normal equations [XᵀX | Xᵀy], solved by Gaussian elimination with partial pivoting.
    let mut a = vec![vec![0.0; p + 1]; p];
    for (r, o) in rows.iter().zip(obs) {
        for i in 0..p {
            for j in 0..p {
                a[i][j] += r[i] * r[j];
            }
            a[i][p] += r[i] * o.auc;
        }
    }
    let scale = (0..p).map(|i| a[i][i]).fold(0.0, f64::max);
    for c in 0..p {
        let piv = (c..p).max_by(|&x, &y| a[x][c].abs().total_cmp(&a[y][c].abs()))?;
        if a[piv][c].abs() <= scale * 1e-12 {
            return None;
        }
        a.swap(c, piv);
        let pivot = a[c].clone();
        for (r, row) in a.iter_mut().enumerate() {
            if r != c {
                let m = row[c] / pivot[c];
                for (x, pv) in row[c..].iter_mut().zip(&pivot[c..]) {
                    *x -= m * pv;
                }
            }
        }
    }
    let b: Vec<f64> = (0..p).map(|i| a[i][p] / a[i][i]).collect();
    Some(Linear { features: features.to_vec(), weights: b[1..].to_vec(), intercept: b[0] })
}

/// R² of a fit on the tasks' mean features.
pub fn r2(obs: &[&Obs], m: &Linear) -> f64 {
    let my = obs.iter().map(|o| o.auc).sum::<f64>() / obs.len() as f64;
    let ss_tot: f64 = obs.iter().map(|o| (o.auc - my).powi(2)).sum();
    let ss_res: f64 = obs.iter().map(|o| (o.auc - m.predict(|f| o.mean(index(f)))).powi(2)).sum();
    if ss_tot > 0.0 {
        1.0 - ss_res / ss_tot
    } else {
        1.0
    }
}

/// One held-out task: the AUC predicted from each of its draws (by a fit without it).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Held {
    pub task: String,
    pub auc: f64,
    pub predicted: Vec<f64>,
}

impl Held {
    pub fn residuals(&self) -> impl Iterator<Item = f64> + '_ {
        self.predicted.iter().map(move |p| self.auc - p)
    }
    fn abs_error(&self) -> f64 {
        self.residuals().map(f64::abs).sum::<f64>() / self.predicted.len() as f64
    }
}

fn others(obs: &[Obs], i: usize) -> Vec<&Obs> {
    obs.iter().enumerate().filter(|&(j, _)| j != i).map(|(_, o)| o).collect()
}

fn predict_draws(m: &Linear, o: &Obs) -> Vec<f64> {
    o.draws.iter().map(|d| m.predict(|f| d[index(f)])).collect()
}

/// Leave-one-out: each task predicted, draw by draw, by the fit on the others. `None` when
/// some fold cannot be fitted.
pub fn loo(obs: &[Obs], features: &[Feature]) -> Option<Vec<Held>> {
    (0..obs.len())
        .map(|i| {
            let m = fit(&others(obs, i), features)?;
            let predicted = predict_draws(&m, &obs[i]);
            predicted.iter().all(|p| p.is_finite()).then(|| Held {
                task: obs[i].task.clone(),
                auc: obs[i].auc,
                predicted,
            })
        })
        .collect()
}

/// Mean absolute error over tasks (each task the mean over its draws).
pub fn mae(held: &[Held]) -> f64 {
    stats::mean(&held.iter().map(Held::abs_error).collect::<Vec<_>>()).unwrap_or(f64::NAN)
}

/// The candidate feature sets: the constant (mean AUC), each feature alone, and CoS-Low with
/// each other feature.
pub fn all_candidates() -> Vec<Vec<Feature>> {
    let mut c = vec![vec![]];
    c.extend(Feature::ALL.iter().map(|&f| vec![f]));
    c.extend(Feature::ALL.iter().filter(|&&f| f != Feature::Coslow).map(|&f| vec![Feature::Coslow, f]));
    c
}

/// The candidates a proxy set may be chosen from: those of shippable features only.
pub fn candidates() -> Vec<Vec<Feature>> {
    all_candidates().into_iter().filter(|c| c.iter().all(|f| f.shippable())).collect()
}

/// Whether a fit on `obs` gives CoS-Low and each of its variants a positive weight (or does
/// not use them): the paper's mechanism, and every published family's slope, is that examples
/// whose gradients agree make a task more data-efficient. A fit the other way round is not
/// read as a proxy of CoS-Low, whatever its error.
pub fn agrees_with_paper(obs: &[&Obs], features: &[Feature]) -> bool {
    fit(obs, features).is_some_and(|m| m.features.iter().zip(&m.weights).all(|(&f, &w)| !f.is_coslow() || w > 0.0))
}

/// Which way a candidate's CoS-Low weights may run to be chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signs {
    /// Only as the paper reads CoS-Low (`agrees_with_paper`).
    Paper,
    /// Either way: for a model whose CoS-Low has passed the permutation test the other way.
    Any,
}

/// The candidate with the lowest leave-one-out MAE on `obs` (the first on a tie), among those
/// that agree with the paper (`agrees_with_paper`).
pub fn select(obs: &[Obs], cands: &[Vec<Feature>]) -> Option<Vec<Feature>> {
    select_with(obs, cands, Signs::Paper)
}

pub fn select_with(obs: &[Obs], cands: &[Vec<Feature>], signs: Signs) -> Option<Vec<Feature>> {
    let all: Vec<&Obs> = obs.iter().collect();
    cands
        .iter()
        .filter(|c| signs == Signs::Any || agrees_with_paper(&all, c))
        .filter_map(|c| Some((c, mae(&loo(obs, c)?))))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(c, _)| c.clone())
}

/// Nested leave-one-out of "choose the candidate by leave-one-out, then fit it": for each
/// task, the choice is made on the other tasks alone, so the error includes the choosing.
pub fn nested_loo(obs: &[Obs], cands: &[Vec<Feature>]) -> Option<(Vec<Held>, Vec<Vec<Feature>>)> {
    nested_loo_with(obs, cands, Signs::Paper)
}

pub fn nested_loo_with(obs: &[Obs], cands: &[Vec<Feature>], signs: Signs) -> Option<(Vec<Held>, Vec<Vec<Feature>>)> {
    let mut held = Vec::with_capacity(obs.len());
    let mut chosen = Vec::with_capacity(obs.len());
    for i in 0..obs.len() {
        let rest: Vec<Obs> = others(obs, i).into_iter().cloned().collect();
        let c = select_with(&rest, cands, signs)?;
        let m = fit(&rest.iter().collect::<Vec<_>>(), &c)?;
        held.push(Held { task: obs[i].task.clone(), auc: obs[i].auc, predicted: predict_draws(&m, &obs[i]) });
        chosen.push(c);
    }
    Some((held, chosen))
}

/// The `level` band of residuals, as (lo, hi) offsets to add to a prediction: the conformal
/// ± half-width the forecast's band uses (`band::conformal_halfwidth`).
pub fn residual_interval(residuals: &[f64], level: f64) -> Option<(f64, f64)> {
    let (q, _) = crate::band::conformal_halfwidth(residuals, level)?;
    Some((-q, q))
}

/// Share of (task, draw) predictions whose measured AUC falls inside the `level` band built,
/// for each task, from the leave-one-out residuals of the other tasks alone (tasks weigh
/// equally), exactly as the forecast builds it. The honest check of a band: no task helps
/// draw its own.
pub fn band_coverage(obs: &[Obs], features: &[Feature], level: f64) -> Option<f64> {
    let mut shares = Vec::with_capacity(obs.len());
    for i in 0..obs.len() {
        let rest: Vec<Obs> = others(obs, i).into_iter().cloned().collect();
        let res: Vec<f64> = loo(&rest, features)?.iter().flat_map(|h| h.residuals().collect::<Vec<_>>()).collect();
        let (lo, hi) = residual_interval(&res, level)?;
        let m = fit(&rest.iter().collect::<Vec<_>>(), features)?;
        let p = predict_draws(&m, &obs[i]);
        // The tolerance keeps rounding (residuals of 1e-17) from deciding coverage.
        let inside = p.iter().filter(|&&p| (p + lo - 1e-12..=p + hi + 1e-12).contains(&obs[i].auc)).count();
        shares.push(inside as f64 / p.len() as f64);
    }
    stats::mean(&shares)
}

/// Budget for 90% of attainable performance from an AUC; `None` outside (0, 1).
pub fn budget90(auc: f64, max_budget: f64) -> Option<f64> {
    Forecast::from_auc(auc, max_budget).and_then(|f| f.budget_for(0.9)).ok()
}

/// How far predicted 90% budgets are from the measured AUC's, as a factor: exp of the mean
/// |ln(predicted / measured)| over (task, draw) pairs where both exist (2.0 = typically off by
/// a factor of two either way); also how many predictions left (0, 1) and had no budget.
pub fn budget90_factor(held: &[Held], max_budget: f64) -> (f64, usize) {
    let mut logs = Vec::new();
    let mut none = 0;
    for h in held {
        let Some(b) = budget90(h.auc, max_budget) else { continue };
        let per: Vec<f64> =
            h.predicted.iter().filter_map(|&p| budget90(p, max_budget).map(|q| (q / b).ln().abs())).collect();
        none += h.predicted.len() - per.len();
        if let Some(m) = stats::mean(&per) {
            logs.push(m);
        }
    }
    (stats::mean(&logs).map_or(f64::NAN, f64::exp), none)
}
