//! Fitting `AUC = c · CoS-Low + I` on the user's own tasks (METHOD.md 1e), for model
//! families the paper did not cover, with leave-one-out checks of what the fit is worth
//! in the unit users care about: examples needed for 90% of attainable performance.

use crate::auc::{cell_location, collect_problems, column_cells};
use crate::error::{Error, Result};
use crate::forecast::{check_coslow, Coefficients, Forecast};
use crate::table::Table;

/// The target share the leave-one-out budget errors are reported at.
pub const LOO_TARGET: f64 = 0.9;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TaskPoint {
    pub task: String,
    pub coslow: f64,
    pub auc: f64,
}

/// One task's leave-one-out check.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LooRow {
    pub task: String,
    pub coslow: f64,
    pub auc: f64,
    /// From the fit without this task; `None` when the other tasks all share one CoS-Low.
    pub predicted_auc: Option<f64>,
    /// Budget for 90% from the measured AUC; `None` when the AUC is 0 or 1.
    pub budget90: Option<f64>,
    /// Budget for 90% from the predicted AUC; `None` when that prediction leaves (0, 1).
    pub predicted_budget90: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Calibration {
    pub coefficients: Coefficients,
    /// Coefficient of determination of the full fit; 1 when every AUC is the same.
    pub r2: f64,
    pub n: usize,
    pub loo: Vec<LooRow>,
    /// Mean |predicted − measured| AUC over tasks with a leave-one-out prediction.
    pub loo_auc_mae: f64,
    /// Mean |predicted − measured| budget for 90%, in examples, over tasks where both are
    /// defined; NaN when none is.
    pub loo_budget90_mae: f64,
    /// Mean |predicted − measured| / measured budget for 90%, as a fraction (0.25 = 25%);
    /// NaN when no task has both.
    pub loo_budget90_mape: f64,
    /// How many tasks the two budget errors average over.
    pub loo_budget90_count: usize,
}

/// Ordinary least squares `y = slope · x + intercept` with classical standard errors.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ols {
    pub slope: f64,
    pub intercept: f64,
    pub slope_se: f64,
    pub intercept_se: f64,
    pub r2: f64,
}

/// Fits `y = slope · x + intercept`; `None` when all x are equal (no slope exists).
/// Standard errors need n ≥ 3 (n − 2 residual degrees of freedom); with n = 2 they are 0.
pub fn ols(x: &[f64], y: &[f64]) -> Option<Ols> {
    let n = x.len().min(y.len());
    if n < 2 {
        return None;
    }
    let nf = n as f64;
    let mx = x[..n].iter().sum::<f64>() / nf;
    let my = y[..n].iter().sum::<f64>() / nf;
    let sxx: f64 = x[..n].iter().map(|v| (v - mx).powi(2)).sum();
    let sxy: f64 = x[..n].iter().zip(&y[..n]).map(|(a, b)| (a - mx) * (b - my)).sum();
    let syy: f64 = y[..n].iter().map(|v| (v - my).powi(2)).sum();
    // Relative test: centred sums of identical values are not exactly 0 in floating point.
    let scale = x[..n].iter().map(|v| v * v).sum::<f64>().max(f64::MIN_POSITIVE);
    if sxx <= scale * 1e-24 {
        return None;
    }
    let slope = sxy / sxx;
    let intercept = my - slope * mx;
    let ssr: f64 = x[..n].iter().zip(&y[..n]).map(|(a, b)| (b - slope * a - intercept).powi(2)).sum();
    let (slope_se, intercept_se) = if n > 2 {
        let s2 = ssr / (nf - 2.0);
        ((s2 / sxx).sqrt(), (s2 * (1.0 / nf + mx * mx / sxx)).sqrt())
    } else {
        (0.0, 0.0)
    };
    let r2 = if syy > 0.0 { 1.0 - ssr / syy } else { 1.0 };
    Some(Ols { slope, intercept, slope_se, intercept_se, r2 })
}

fn budget90(auc: f64, max_budget: f64) -> Option<f64> {
    Forecast::from_auc(auc, max_budget).and_then(|f| f.budget_for(LOO_TARGET)).ok()
}

pub fn calibrate(tasks: &[TaskPoint], max_budget: f64) -> Result<Calibration> {
    let n = tasks.len();
    if n < 3 {
        return Err(Error::TooFewTasks(n));
    }
    // Checked up front so a bad max_budget is reported as such, not as missing budgets.
    Forecast::from_auc(0.5, max_budget)?;
    let mut problems = Vec::new();
    for t in tasks {
        if let Err(e) = check_coslow(t.coslow) {
            problems.push(Error::Invalid(format!("task \"{}\": {e}", t.task)));
        }
        if !(0.0..=1.0).contains(&t.auc) {
            problems.push(Error::Invalid(format!("task \"{}\": AUC must lie in [0, 1], got {}", t.task, t.auc)));
        }
    }
    match problems.len() {
        0 => {}
        1 => return Err(problems.pop().unwrap()),
        _ => return Err(Error::Many(problems)),
    }
    let x: Vec<f64> = tasks.iter().map(|t| t.coslow).collect();
    let y: Vec<f64> = tasks.iter().map(|t| t.auc).collect();
    let fit = ols(&x, &y).ok_or_else(|| {
        Error::Invalid(format!(
            "every task has the same CoS-Low ({}), so the slope cannot be fit; calibrate on \
             tasks with different CoS-Low values",
            x[0]
        ))
    })?;

    let loo: Vec<LooRow> = (0..n)
        .map(|i| {
            let xs: Vec<f64> = x.iter().enumerate().filter(|&(j, _)| j != i).map(|(_, v)| *v).collect();
            let ys: Vec<f64> = y.iter().enumerate().filter(|&(j, _)| j != i).map(|(_, v)| *v).collect();
            let predicted_auc = ols(&xs, &ys).map(|f| f.slope * x[i] + f.intercept);
            LooRow {
                task: tasks[i].task.clone(),
                coslow: x[i],
                auc: y[i],
                predicted_auc,
                budget90: budget90(y[i], max_budget),
                predicted_budget90: predicted_auc.and_then(|a| budget90(a, max_budget)),
            }
        })
        .collect();

    let auc_errs: Vec<f64> = loo.iter().filter_map(|r| r.predicted_auc.map(|p| (p - r.auc).abs())).collect();
    let budget_pairs: Vec<(f64, f64)> = loo.iter().filter_map(|r| Some((r.budget90?, r.predicted_budget90?))).collect();
    let mean = |v: &[f64]| crate::stats::mean(v).unwrap_or(f64::NAN);
    let abs: Vec<f64> = budget_pairs.iter().map(|(a, p)| (p - a).abs()).collect();
    let rel: Vec<f64> = budget_pairs.iter().map(|(a, p)| (p - a).abs() / a).collect();

    let coefficients = Coefficients {
        name: "calibrated".to_string(),
        label: format!("Calibrated on {n} tasks"),
        slope: fit.slope,
        intercept: fit.intercept,
        slope_se: fit.slope_se,
        intercept_se: fit.intercept_se,
        provenance: format!(
            "ordinary least squares of measured AUC on CoS-Low over {n} tasks (R² = {:.3}); \
             standard errors from the residual variance with n − 2 degrees of freedom",
            fit.r2
        ),
    };
    Ok(Calibration {
        coefficients,
        r2: fit.r2,
        n,
        loo_auc_mae: mean(&auc_errs),
        loo_budget90_mae: mean(&abs),
        loo_budget90_mape: mean(&rel),
        loo_budget90_count: budget_pairs.len(),
        loo,
    })
}

/// Calibration tasks from a table with columns `task`, `coslow` (also `cos_low`,
/// `cos-low`) and `auc`. Every bad cell is reported with its line.
pub fn tasks_from_table(t: &Table) -> Result<Vec<TaskPoint>> {
    let tcol = t.column("task")?;
    let ccol = ["coslow", "cos_low", "cos-low"]
        .iter()
        .find_map(|n| t.column(n).ok())
        .map_or_else(|| t.column("coslow"), Ok)?;
    let acol = t.column("auc")?;
    let (coslow, mut problems) = column_cells(t, ccol);
    let (auc, auc_problems) = column_cells(t, acol);
    problems.extend(auc_problems);
    let mut out = Vec::with_capacity(t.rows.len());
    for (row, (c, a)) in coslow.into_iter().zip(auc).enumerate() {
        let task = t.get(row, tcol).trim();
        if task.is_empty() {
            problems.push(Error::MissingValue { at: cell_location(t, row, tcol) });
        }
        if let Some(c) = c.filter(|&c| check_coslow(c).is_err()) {
            problems.push(Error::BadValue {
                at: cell_location(t, row, ccol),
                value: c.to_string(),
                expected: "a CoS-Low (a cosine) in [-1, 1]".into(),
            });
        }
        if let Some(a) = a.filter(|a| !(0.0..=1.0).contains(a)) {
            problems.push(Error::BadValue {
                at: cell_location(t, row, acol),
                value: a.to_string(),
                expected: "an AUC in [0, 1]".into(),
            });
        }
        if let (Some(coslow), Some(auc)) = (c, a) {
            out.push(TaskPoint { task: task.to_string(), coslow, auc });
        }
    }
    collect_problems(problems)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{read_table, ReadOptions};

    fn table(csv: &str) -> Table {
        let opts = ReadOptions { require_prompt: false, ..Default::default() };
        read_table("tasks.csv", csv.as_bytes(), &opts).unwrap()
    }

    #[test]
    fn reads_tasks_and_reports_every_bad_cell_with_its_line() {
        let t = table("task,CoS_Low,auc\nboolq,0.2,0.41\nmnli,-0.05,0.3\n");
        let got = tasks_from_table(&t).unwrap();
        assert_eq!(got[1], TaskPoint { task: "mnli".into(), coslow: -0.05, auc: 0.3 });

        let t = table("task,coslow,auc\na,0.2,0.4\nb,1.5,0.3\n,0.1,x\nd,0.1,1.2\n");
        let e = tasks_from_table(&t).unwrap_err();
        let lines: Vec<Option<usize>> = e.problems().iter().map(|p| p.line()).collect();
        assert_eq!(lines, vec![Some(3), Some(4), Some(4), Some(5)], "{e}");
        assert!(e.to_string().contains("\"x\" is not a number"), "{e}");
        assert!(e.to_string().contains("[-1, 1]") && e.to_string().contains("[0, 1]"), "{e}");
    }

    #[test]
    fn missing_column_is_named() {
        let t = table("task,auc\na,0.4\n");
        match tasks_from_table(&t) {
            Err(Error::NoSuchColumn { column, .. }) => assert_eq!(column, "coslow"),
            other => panic!("{other:?}"),
        }
    }
}
