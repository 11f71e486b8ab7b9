//! Reproduces every AUC the paper published (METHOD.md 1a) from its measured curves.
//!
//! The data live outside the repository in `shared/paper-results` (CI has it). A missing
//! folder fails the test on purpose: silently skipping would hide a broken metric.

use labelcast_core::auc::{auc, AucOptions, CurvePoint};
use serde_json::Value;
use std::path::PathBuf;

const FAMILIES: [&str; 3] = ["llama", "mistral", "qwen"];
const GENERATION_TASKS: [&str; 7] =
    ["sciq", "typescript_chunks", "polish_sequence_labeling", "coqa", "qa_wikidata", "squad_v2", "disfl_qa"];
const EXPECTED_TASKS: usize = 100;
const TOLERANCE: f64 = 1e-12;

fn results_dir() -> PathBuf {
    match std::env::var_os("LABELCAST_PAPER_RESULTS") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/paper-results"),
    }
}

fn load(path: &PathBuf) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}. The paper's results are required (set LABELCAST_PAPER_RESULTS \
             to their folder if they live elsewhere)",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The score column per METHOD.md: f1 for generation tasks, else accuracy, falling back
/// to exact_string_match_accuracy.
fn score(task: &str, metrics: &Value) -> f64 {
    let pick = if GENERATION_TASKS.contains(&task) {
        metrics.get("f1")
    } else {
        metrics.get("accuracy").or_else(|| metrics.get("exact_string_match_accuracy"))
    };
    pick.and_then(Value::as_f64).unwrap_or_else(|| panic!("{task}: no score column in {metrics}"))
}

#[test]
fn reproduces_all_published_aucs() {
    let dir = results_dir();
    assert!(dir.is_dir(), "paper results folder {} is missing", dir.display());
    let human = load(&dir.join("human_eval.json"));
    let mut checked = 0;
    let mut max_err: f64 = 0.0;
    let mut failures = Vec::new();
    for fam in FAMILIES {
        let published = load(&dir.join(format!("auc_res/{fam}_auc_logscale_by_task_5000.json")));
        for (task, want) in published.as_object().expect("auc_res is an object") {
            let curve = load(&dir.join(format!("finetune_results/{fam}_{task}_full_result_v2.json")));
            let points: Vec<CurvePoint> = curve
                .as_object()
                .expect("results keyed by budget")
                .iter()
                .map(|(b, m)| CurvePoint { budget: b.parse().expect("budget key"), score: score(task, m) })
                .collect();
            // `score` may be null (no ceiling) or, for one task, a string naming a metric.
            let ceiling = human.get(task).and_then(|h| h.get("score")).and_then(Value::as_f64);
            let r =
                auc(&points, &AucOptions { ceiling, max_budget: 5000 }).unwrap_or_else(|e| panic!("{fam}/{task}: {e}"));
            let field = |k: &str| want[k].as_f64().unwrap_or_else(|| panic!("{fam}/{task}: no {k}"));
            let err = (r.auc - field("extrapolation_auc")).abs();
            max_err = max_err.max(err);
            let same = |a: f64, b: f64| (a - b).abs() <= 1e-15;
            if err > TOLERANCE
                || !same(r.best_score, field("max_acc"))
                || !same(r.lowest_measured, field("min_acc"))
                || !same(r.ceiling, field("human_eval"))
            {
                failures.push(format!(
                    "{fam}/{task}: auc {} vs {} (err {err:e}), best {} vs max_acc {}, lowest {} vs \
                     min_acc {}, ceiling {} vs human_eval {}",
                    r.auc,
                    field("extrapolation_auc"),
                    r.best_score,
                    field("max_acc"),
                    r.lowest_measured,
                    field("min_acc"),
                    r.ceiling,
                    field("human_eval")
                ));
            }
            checked += 1;
        }
    }
    println!("checked {checked} published AUCs, max |error| = {max_err:e}");
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
    assert_eq!(checked, EXPECTED_TASKS, "expected every published AUC to be checked");
    assert!(max_err <= TOLERANCE);
}

/// The one curve in the paper without a zero-shot point: filling budget 0 with score 0
/// would give 0.754; the published value needs budget 0 left out.
#[test]
fn missing_zero_shot_point_is_not_filled() {
    let pts = [
        (50, 0.9291666666666667),
        (100, 0.9416666666666667),
        (200, 0.9416666666666667),
        (500, 0.9541666666666667),
        (1000, 0.9666666666666667),
    ]
    .map(|(budget, score)| CurvePoint { budget, score });
    let r = auc(&pts, &AucOptions::default()).unwrap();
    assert!((r.auc - 0.3512635503129052).abs() < 1e-12, "{}", r.auc);
    assert_eq!(r.filled, vec![2500, 5000]);
    assert_eq!(r.points.first().map(|p| p.budget), Some(50));
}

/// A non-standard budget (2200) is kept and the missing 2500 and 5000 carry it forward.
#[test]
fn non_standard_budget_is_kept() {
    let pts = [(0, 0.2), (50, 0.4), (100, 0.5), (200, 0.6), (500, 0.7), (1000, 0.75), (2200, 0.8)]
        .map(|(budget, score)| CurvePoint { budget, score });
    let r = auc(&pts, &AucOptions { ceiling: Some(1.0), max_budget: 5000 }).unwrap();
    let budgets: Vec<u64> = r.points.iter().map(|p| p.budget).collect();
    assert_eq!(budgets, vec![0, 50, 100, 200, 500, 1000, 2200, 2500, 5000]);
    assert_eq!(r.points[7].score, 0.8);
    assert_eq!(r.points[8].score, 0.8);
    // Hand computation on x = log2(n)/log2(5000), y = (s − 0.2)/0.8.
    let l = 5000f64.log2();
    let xs: Vec<f64> = budgets.iter().map(|&b| (b.max(1) as f64).log2() / l).collect();
    let ys = [0.0, 0.25, 0.375, 0.5, 0.625, 0.6875, 0.75, 0.75, 0.75];
    let want: f64 = (0..8).map(|i| (xs[i + 1] - xs[i]) * (ys[i] + ys[i + 1]) / 2.0).sum();
    assert!((r.auc - want).abs() < 1e-15);
    assert!((r.ceiling - 1.0).abs() < 1e-15 && (r.min_score - 0.2).abs() < 1e-15);
}
