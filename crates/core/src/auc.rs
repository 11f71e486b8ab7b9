//! The data-efficiency metric of a measured learning curve (METHOD.md 1a).
//!
//! The steps are the paper's, in its order, and reproduce all 100 published AUC values
//! (`tests/auc_paper.rs`). Two details the prose of METHOD.md leaves open were settled by
//! that reproduction:
//! - Only the *fine-tuning* standard budgets (50 ..= max_budget) are filled with score 0
//!   when missing. A missing zero-shot point (budget 0) is not invented: the paper's
//!   Qwen/overruling curve starts at 50, and filling budget 0 with 0 would give AUC 0.754
//!   instead of the published 0.351.
//! - Measured budgets that are not standard (2200, 4000, 4800 …) are kept as they are.
//!   Missing standard budgets above the last measurement are still filled, so the
//!   monotone step carries the last best score out to `max_budget`.
//!
//! `min s` is the lowest score of the processed (filled, non-decreasing) curve, i.e. the
//! score at its first budget; the ceiling takes the best *kept* measurement, so points
//! dropped for lying above `max_budget` do not raise it.

use crate::error::{Error, Location, Result};
use crate::table::Table;

/// The paper's budgets: 0 = zero-shot, the rest fine-tuning set sizes.
pub const STANDARD_BUDGETS: [u64; 8] = [0, 50, 100, 200, 500, 1000, 2500, 5000];

/// Budgets 1..FIRST_FINETUNE_BUDGET are few-shot prompting results, not fine-tuning.
const FIRST_FINETUNE_BUDGET: u64 = 50;

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CurvePoint {
    pub budget: u64,
    pub score: f64,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct AucOptions {
    /// E.g. human performance; the ceiling is the larger of this and the best score.
    pub ceiling: Option<f64>,
    /// Points above it are dropped; standard budgets up to it are filled.
    pub max_budget: u64,
}

impl Default for AucOptions {
    fn default() -> Self {
        AucOptions { ceiling: None, max_budget: 5000 }
    }
}

/// One point of the processed curve.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct NormalizedPoint {
    pub budget: u64,
    /// The score after filling and the monotone step.
    pub score: f64,
    /// The score as measured; `None` for a filled budget.
    pub measured: Option<f64>,
    /// `log2(max(budget, 1)) / log2(largest budget)`.
    pub x: f64,
    /// `(score − min_score) / (ceiling − min_score)`.
    pub y: f64,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AucReport {
    pub auc: f64,
    pub ceiling: f64,
    /// Lowest score of the processed curve (the normalization's zero).
    pub min_score: f64,
    /// Best kept measurement (the paper's `max_acc`).
    pub best_score: f64,
    /// Lowest kept measurement before the monotone step (the paper's `min_acc`).
    pub lowest_measured: f64,
    pub points: Vec<NormalizedPoint>,
    /// Budgets dropped: few-shot (1..=49) and above `max_budget`, ascending.
    pub dropped: Vec<u64>,
    /// Standard budgets added with score 0 (then carried forward), ascending.
    pub filled: Vec<u64>,
}

pub fn auc(points: &[CurvePoint], opts: &AucOptions) -> Result<AucReport> {
    if points.is_empty() {
        return Err(Error::Invalid("the learning curve has no points".into()));
    }
    if opts.max_budget < FIRST_FINETUNE_BUDGET {
        return Err(Error::Invalid(format!(
            "the maximum budget must be at least {FIRST_FINETUNE_BUDGET} (the first fine-tuning \
             budget), got {}",
            opts.max_budget
        )));
    }
    if let Some(c) = opts.ceiling {
        if !c.is_finite() {
            return Err(Error::Invalid(format!("the ceiling must be a finite number, got {c}")));
        }
    }
    let mut problems = Vec::new();
    for p in points {
        if !p.score.is_finite() {
            problems
                .push(Error::Invalid(format!("the score at budget {} is {}, not a finite number", p.budget, p.score)));
        }
    }
    let mut sorted: Vec<CurvePoint> = points.to_vec();
    sorted.sort_by_key(|p| p.budget);
    for w in sorted.windows(2) {
        if w[0].budget == w[1].budget {
            problems
                .push(Error::Invalid(format!("budget {} appears more than once in the learning curve", w[0].budget)));
        }
    }
    match problems.len() {
        0 => {}
        1 => return Err(problems.pop().unwrap()),
        _ => return Err(Error::Many(problems)),
    }

    // Step 1: keep zero-shot and fine-tuning budgets up to max_budget.
    let keep = |b: u64| b == 0 || (FIRST_FINETUNE_BUDGET..=opts.max_budget).contains(&b);
    let dropped: Vec<u64> = sorted.iter().map(|p| p.budget).filter(|&b| !keep(b)).collect();
    let kept: Vec<CurvePoint> = sorted.into_iter().filter(|p| keep(p.budget)).collect();
    if kept.is_empty() {
        return Err(Error::Invalid(format!(
            "no point of the learning curve is at budget 0 or within {FIRST_FINETUNE_BUDGET}..={} \
             (dropped budgets: {dropped:?})",
            opts.max_budget
        )));
    }
    let best_score = kept.iter().map(|p| p.score).fold(f64::NEG_INFINITY, f64::max);
    let lowest_measured = kept.iter().map(|p| p.score).fold(f64::INFINITY, f64::min);

    // Step 2: fill missing fine-tuning standard budgets (see the module note on budget 0).
    let filled: Vec<u64> = STANDARD_BUDGETS
        .iter()
        .copied()
        .filter(|&b| b >= FIRST_FINETUNE_BUDGET && b <= opts.max_budget)
        .filter(|b| !kept.iter().any(|p| p.budget == *b))
        .collect();
    let mut curve: Vec<(u64, Option<f64>)> = kept.iter().map(|p| (p.budget, Some(p.score))).collect();
    curve.extend(filled.iter().map(|&b| (b, None)));
    curve.sort_by_key(|c| c.0);

    // Step 3: non-decreasing; a filled 0 becomes the best score so far.
    let mut best = f64::NEG_INFINITY;
    let scores: Vec<f64> = curve
        .iter()
        .map(|&(_, m)| {
            best = best.max(m.unwrap_or(0.0));
            best
        })
        .collect();

    // Step 4: normalize.
    let ceiling = opts.ceiling.map_or(best_score, |c| c.max(best_score));
    let min_score = scores.iter().copied().fold(f64::INFINITY, f64::min);
    if ceiling <= min_score {
        // Every kept score is the same and no higher ceiling was given: the curve never
        // moves, so "how fast it rises" has no meaning and 0/0 would follow.
        return Err(Error::Invalid(format!(
            "the learning curve is flat (every score is {min_score}) and the ceiling is not above \
             it, so its AUC is undefined; give a higher ceiling if the task can improve"
        )));
    }

    // Step 5: log axis. The largest budget is >= 50 because 50 is always kept or filled.
    let largest = curve.last().map(|c| c.0).unwrap_or(0);
    let log_max = (largest as f64).log2();
    let points: Vec<NormalizedPoint> = curve
        .iter()
        .zip(&scores)
        .map(|(&(budget, measured), &score)| NormalizedPoint {
            budget,
            score,
            measured,
            x: (budget.max(1) as f64).log2() / log_max,
            y: (score - min_score) / (ceiling - min_score),
        })
        .collect();

    // Step 6: trapezoids.
    let auc = points.windows(2).map(|w| (w[1].x - w[0].x) * (w[1].y + w[0].y) / 2.0).sum();

    Ok(AucReport { auc, ceiling, min_score, best_score, lowest_measured, points, dropped, filled })
}

/// A numeric column cell by cell: the table's own errors for bad cells (with lines), and
/// the values of the good ones, so range checks can still run on the rest of the column.
pub(crate) fn column_cells(t: &Table, col: usize) -> (Vec<Option<f64>>, Vec<Error>) {
    match t.numbers(col) {
        Ok(v) => (v.into_iter().map(Some).collect(), Vec::new()),
        Err(e) => {
            let values =
                (0..t.rows.len()).map(|r| t.get(r, col).trim().parse::<f64>().ok().filter(|x| x.is_finite())).collect();
            (values, e.problems().into_iter().cloned().collect())
        }
    }
}

pub(crate) fn cell_location(t: &Table, row: usize, col: usize) -> Location {
    Location { file: t.file.clone(), line: t.rows[row].line, row: Some(row + 1), column: Some(t.headers[col].clone()) }
}

/// Several problems as one error, in file order.
pub(crate) fn collect_problems(mut problems: Vec<Error>) -> Result<()> {
    problems.sort_by_key(|e| e.line().unwrap_or(0));
    match problems.len() {
        0 => Ok(()),
        1 => Err(problems.pop().unwrap()),
        _ => Err(Error::Many(problems)),
    }
}

/// Learning curve from a table with columns `budget` (whole number of examples ≥ 0) and
/// `score`. Every bad cell is reported with its line.
pub fn curve_from_table(t: &Table) -> Result<Vec<CurvePoint>> {
    let bcol = t.column("budget")?;
    let scol = t.column("score")?;
    let (budgets, mut problems) = column_cells(t, bcol);
    let (scores, score_problems) = column_cells(t, scol);
    problems.extend(score_problems);
    let mut out = Vec::with_capacity(t.rows.len());
    let mut first_line: Vec<(u64, usize)> = Vec::new();
    for (row, (b, s)) in budgets.into_iter().zip(scores).enumerate() {
        let Some(b) = b else { continue };
        if !(b >= 0.0 && b.fract() == 0.0 && b <= u64::MAX as f64) {
            problems.push(Error::BadValue {
                at: cell_location(t, row, bcol),
                value: t.get(row, bcol).trim().to_string(),
                expected: "a whole number of examples, 0 or more".into(),
            });
            continue;
        }
        let b = b as u64;
        let line = t.rows[row].line;
        if let Some(&(_, first)) = first_line.iter().find(|(seen, _)| *seen == b) {
            problems.push(Error::BadValue {
                at: cell_location(t, row, bcol),
                value: t.get(row, bcol).trim().to_string(),
                expected: format!("each budget once; budget {b} is already on line {first}"),
            });
            continue;
        }
        first_line.push((b, line));
        if let Some(score) = s {
            out.push(CurvePoint { budget: b, score });
        }
    }
    collect_problems(problems)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pts(v: &[(u64, f64)]) -> Vec<CurvePoint> {
        v.iter().map(|&(budget, score)| CurvePoint { budget, score }).collect()
    }

    #[test]
    fn linear_in_log_budget_has_area_one_half() {
        // Scores rising linearly in log2(budget) from 0 to 1 on budgets 1 and 5000 only
        // cannot be fed directly (1 is dropped), so use budget 0 (x = 0) and 5000 (x = 1)
        // with every standard budget on the line.
        let lmax = 5000f64.log2();
        let v: Vec<(u64, f64)> = STANDARD_BUDGETS.iter().map(|&b| (b, (b.max(1) as f64).log2() / lmax)).collect();
        let r = auc(&pts(&v), &AucOptions::default()).unwrap();
        assert!((r.auc - 0.5).abs() < 1e-12, "{}", r.auc);
        assert!(r.filled.is_empty() && r.dropped.is_empty());
    }

    #[test]
    fn drops_few_shot_and_large_budgets_and_fills_gaps() {
        let v = [(0, 0.2), (8, 0.9), (50, 0.5), (100, 0.4), (1000, 0.8), (10000, 0.99)];
        let r = auc(&pts(&v), &AucOptions::default()).unwrap();
        assert_eq!(r.dropped, vec![8, 10000]);
        assert_eq!(r.filled, vec![200, 500, 2500, 5000]);
        let s: Vec<f64> = r.points.iter().map(|p| p.score).collect();
        assert_eq!(s, vec![0.2, 0.5, 0.5, 0.5, 0.5, 0.8, 0.8, 0.8]);
        assert_eq!(r.ceiling, 0.8);
        assert_eq!(r.min_score, 0.2);
    }

    #[test]
    fn flat_curve_is_an_error_unless_a_ceiling_is_higher() {
        let v = [(0, 0.5), (50, 0.5), (5000, 0.5)];
        let e = auc(&pts(&v), &AucOptions::default()).unwrap_err();
        assert!(e.to_string().contains("flat"), "{e}");
        let r = auc(&pts(&v), &AucOptions { ceiling: Some(0.9), ..Default::default() }).unwrap();
        assert_eq!(r.auc, 0.0);
    }

    #[test]
    fn rejects_nan_duplicates_and_empty() {
        assert!(auc(&[], &AucOptions::default()).is_err());
        assert!(auc(&pts(&[(0, f64::NAN), (50, 0.3)]), &AucOptions::default()).is_err());
        assert!(auc(&pts(&[(50, 0.1), (50, 0.3)]), &AucOptions::default()).is_err());
        assert!(auc(&pts(&[(10, 0.1), (6000, 0.3)]), &AucOptions::default()).is_err());
    }

    fn table(csv: &str) -> Table {
        let opts = crate::table::ReadOptions { require_prompt: false, ..Default::default() };
        crate::table::read_table("curve.csv", csv.as_bytes(), &opts).unwrap()
    }

    #[test]
    fn curve_from_table_reads_and_reports_every_bad_cell() {
        let t = table("budget,score\n0,0.31\n50,0.5\n1000,0.72\n");
        assert_eq!(curve_from_table(&t).unwrap(), pts(&[(0, 0.31), (50, 0.5), (1000, 0.72)]));

        let t = table("budget,score\n0,0.3\n-5,0.4\n12.5,0.5\n100,abc\n0,0.6\n");
        let e = curve_from_table(&t).unwrap_err();
        let lines: Vec<Option<usize>> = e.problems().iter().map(|p| p.line()).collect();
        assert_eq!(lines, vec![Some(3), Some(4), Some(5), Some(6)], "{e}");
        assert!(e.to_string().contains("already on line 2"), "{e}");
        assert!(matches!(curve_from_table(&table("n,score\n1,2\n")), Err(Error::NoSuchColumn { .. })));
    }
}
