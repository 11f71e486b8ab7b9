//! The calibration suite's fits and leave-one-out checks against hand-computed numbers, and
//! proxy sets derived from synthetic results files.

use std::collections::BTreeMap;

use labelcast_core::suite::fit::{self, Feature, Obs};
use labelcast_core::suite::proxy::{proxy_set, BAND_LEVEL};
mod common;
use common::{results, task};
use labelcast_core::suite::{CoslowParts, TaskRun};

/// One draw per task with CoS-Low `x` (every other feature NaN).
fn obs(xy: &[(f64, f64)]) -> Vec<Obs> {
    xy.iter()
        .enumerate()
        .map(|(i, &(x, y))| {
            let mut d = vec![f64::NAN; Feature::ALL.len()];
            d[0] = x;
            Obs { task: format!("t{i}"), auc: y, draws: vec![d] }
        })
        .collect()
}

#[test]
fn constant_leave_one_out_is_the_mean_of_the_others() {
    let o = obs(&[(0.0, 0.2), (1.0, 0.4), (2.0, 0.3), (3.0, 0.5)]);
    let held = fit::loo(&o, &[]).unwrap();
    // Hand-computed: 0.4, 1/3, 11/30 and 0.3 predicted; |errors| 0.2, 1/15, 1/15, 0.2.
    assert!((held[1].predicted[0] - 1.0 / 3.0).abs() < 1e-12);
    assert!((fit::mae(&held) - (0.4 + 2.0 / 15.0) / 4.0).abs() < 1e-12);
}

#[test]
fn slope_leave_one_out_matches_a_hand_fit() {
    let o = obs(&[(0.0, 0.0), (1.0, 1.0), (2.0, 1.0), (3.0, 3.0)]);
    let held = fit::loo(&o, &[Feature::Coslow]).unwrap();
    // Without the last task: slope 1/2, intercept 1/6, so x = 3 gives 5/3.
    assert!((held[3].predicted[0] - 5.0 / 3.0).abs() < 1e-12, "{:?}", held[3]);
    let all: Vec<&Obs> = o.iter().collect();
    let m = fit::fit(&all, &[Feature::Coslow]).unwrap();
    // x̄ = 1.5, ȳ = 1.25, Sxy = 4.5, Sxx = 5: slope 0.9, intercept −0.1; SS_tot = 4.75.
    assert!((m.weights[0] - 0.9).abs() < 1e-12 && (m.intercept + 0.1).abs() < 1e-12, "{m:?}");
    let ss_res: f64 =
        [(0.0, 0.0), (1.0, 1.0), (2.0, 1.0), (3.0, 3.0)].iter().map(|(x, y)| (y - 0.9 * x + 0.1f64).powi(2)).sum();
    assert!((fit::r2(&all, &m) - (1.0 - ss_res / 4.75)).abs() < 1e-12);
    // Too few tasks for a slope: no fit rather than a guess.
    assert!(fit::loo(&o[..2], &[Feature::Coslow]).is_none());
}

#[test]
fn exactly_linear_data_has_no_error_and_full_coverage() {
    let o = obs(&[(0.1, 0.31), (0.3, 0.37), (0.5, 0.43), (0.2, 0.34), (0.7, 0.49), (0.4, 0.40)]);
    assert!(fit::mae(&fit::loo(&o, &[Feature::Coslow]).unwrap()) < 1e-12);
    assert_eq!(fit::band_coverage(&o, &[Feature::Coslow], 0.9), Some(1.0));
    let (factor, none) = fit::budget90_factor(&fit::loo(&o, &[Feature::Coslow]).unwrap(), 5000.0);
    assert!((factor - 1.0).abs() < 1e-9 && none == 0, "{factor}");
}

/// A deterministic jitter in [-1, 1].
fn jitter(i: usize) -> f64 {
    ((i * 7919 % 101) as f64 / 50.0) - 1.0
}

#[test]
fn a_coslow_that_predicts_is_shipped_with_its_error() {
    let tasks = (0..12)
        .map(|i| {
            let c = 0.1 + 0.05 * i as f64;
            task(&format!("t{i}"), &[c - 0.01, c + 0.01], 0.5 + 0.01 * jitter(i + 3), 0.2 + 0.6 * c + 0.01 * jitter(i))
        })
        .collect();
    let r = results(tasks);
    let p = proxy_set(&r, "llama-3.1-8b-instruct").unwrap();
    assert!(p.beats_baseline, "{p:#?}");
    assert!(p.model_fit.features.contains(&Feature::Coslow), "{:?}", p.model_fit);
    assert!(p.loo_auc_mae < p.baseline_loo_auc_mae / 3.0);
    assert!(p.coslow_choice_nested_loo_mae.unwrap() < p.baseline_loo_auc_mae);
    assert_eq!(p.n, 12);
    assert_eq!(p.name, "tiny → llama-3.1-8b-instruct");
    // Mistral has no AUC in this file: no proxy set for it.
    assert!(proxy_set(&r, "mistral-7b-instruct-v0.3").is_err());
    let c = p.coefficients(&BTreeMap::new());
    assert!(c.is_ok() || p.model_fit.features.len() > 1);
    assert!((0.0..=1.0).contains(&p.coverage));
    assert!(p.band.0 < 0.0 && p.band.1 > 0.0, "{:?}", p.band);
    assert_eq!(BAND_LEVEL, 0.9);
}

#[test]
fn a_coslow_that_does_not_predict_falls_back_to_the_mean_and_says_so() {
    let tasks = (0..12)
        .map(|i| {
            task(
                &format!("t{i}"),
                &[0.5 + 0.2 * jitter(i), 0.5 + 0.2 * jitter(i + 40)],
                0.5 + 0.1 * jitter(i + 9),
                0.4 + 0.15 * jitter(i + 77),
            )
        })
        .collect();
    let p = proxy_set(&results(tasks), "llama-3.1-8b-instruct").unwrap();
    if !p.beats_baseline {
        assert!(p.model_fit.features.is_empty());
        let c = p.coefficients(&BTreeMap::new()).unwrap();
        assert_eq!(c.slope, 0.0);
        let mean = p.points.iter().map(|t| t.auc).sum::<f64>() / p.n as f64;
        assert!((c.intercept - mean).abs() < 1e-12);
        assert!(p.trust_sentence().contains("did not predict"), "{}", p.trust_sentence());
    } else {
        // Noise can beat the constant by chance; then choosing it must have beaten the
        // constant out of sample too, the choice included.
        assert!(p.loo_auc_mae < p.baseline_loo_auc_mae);
        assert!(p.coslow_choice_nested_loo_mae.unwrap() < p.baseline_loo_auc_mae);
    }
}

#[test]
fn coslow_that_beats_the_constant_only_by_chance_is_not_shipped() {
    // Noise (found by a search over jitter offsets) where CoS-Low's leave-one-out error beats
    // the constant's (0.0756 < 0.0795) but choosing between them, judged out of sample, does
    // not (0.0835): the constant ships.
    let j = |i: usize| jitter(i + 31);
    let tasks =
        (0..12).map(|i| task(&format!("t{i}"), &[0.5 + 0.2 * j(i)], 0.5, 0.4 + 0.15 * jitter(i + 93 + 77))).collect();
    let p = proxy_set(&results(tasks), "llama-3.1-8b-instruct").unwrap();
    assert!(p.coslow_loo_mae < p.baseline_loo_auc_mae, "{} {}", p.coslow_loo_mae, p.baseline_loo_auc_mae);
    let choice = p.coslow_choice_nested_loo_mae.unwrap();
    assert!(choice >= p.baseline_loo_auc_mae, "{choice}");
    assert!(!p.beats_baseline && p.model_fit.features.is_empty(), "{:?}", p.model_fit);
}

#[test]
fn coslow_that_runs_against_the_auc_by_chance_is_not_shipped_and_the_sentence_says_why() {
    // AUC falls a little as CoS-Low rises, under noise as large: the fit beats the constant's
    // leave-one-out error, but shuffled AUCs do as well often enough that it is not used.
    let tasks = (0..12)
        .map(|i| {
            let c = 0.1 + 0.05 * i as f64;
            task(&format!("t{i}"), &[c], 0.5, 0.6 - 0.15 * c + 0.06 * jitter(i + 3))
        })
        .collect();
    let p = proxy_set(&results(tasks), "llama-3.1-8b-instruct").unwrap();
    assert!(p.coslow_opposite && p.coslow_fit.weights[0] < 0.0);
    assert!(p.coslow_loo_mae < p.baseline_loo_auc_mae, "{} {}", p.coslow_loo_mae, p.baseline_loo_auc_mae);
    let t = p.coslow_permutation.expect("tested");
    assert!(t.p >= p.permutation_level, "p {}", t.p);
    assert!(!p.beats_baseline && p.model_fit.features.is_empty(), "{:?}", p.model_fit);
    let s = p.trust_sentence();
    assert!(s.contains("opposite of what CoS-Low means") && s.contains("than chance"), "{s}");
}

#[test]
fn coslow_that_runs_against_the_auc_beyond_chance_ships_and_says_which_way() {
    // AUC falls as CoS-Low rises, clearly: no shuffle fits as well, so the fit is used, and
    // the sentence warns that this model's CoS-Low reads the other way round.
    let tasks = (0..12)
        .map(|i| {
            let c = 0.1 + 0.05 * i as f64;
            task(&format!("t{i}"), &[c], 0.5, 0.8 - 0.6 * c + 0.01 * jitter(i))
        })
        .collect();
    let p = proxy_set(&results(tasks), "llama-3.1-8b-instruct").unwrap();
    assert!(p.coslow_opposite && p.coslow_loo_mae < p.baseline_loo_auc_mae / 3.0);
    assert!(p.coslow_permutation.expect("tested").p < 0.001);
    assert!(
        p.beats_baseline && p.model_fit.features == [Feature::Coslow] && p.model_fit.weights[0] < 0.0,
        "{:?}",
        p.model_fit
    );
    assert!(p.trust_sentence().contains("the opposite of the paper's models"), "{}", p.trust_sentence());
}

#[test]
fn nested_choice_finds_the_feature_that_carries_the_signal() {
    // AUC follows the pool's confidence; CoS-Low is noise.
    let tasks: Vec<TaskRun> = (0..14)
        .map(|i| {
            let conf = 0.3 + 0.04 * i as f64;
            task(
                &format!("t{i}"),
                &[0.5 + 0.2 * jitter(i), 0.5 + 0.2 * jitter(i + 5)],
                conf,
                0.1 + 0.8 * conf + 0.005 * jitter(i + 11),
            )
        })
        .collect();
    let r = results(tasks);
    let obs = fit::observations(&r, "llama-3.1-8b-instruct");
    let (held, chosen) = fit::nested_loo(&obs, &fit::candidates()).unwrap();
    assert!(chosen.iter().all(|c| c.contains(&Feature::PoolConfidence)), "{chosen:?}");
    assert!(fit::mae(&held) < 0.01);
    let p = proxy_set(&r, "llama-3.1-8b-instruct").unwrap();
    assert!(p.model_fit.features.contains(&Feature::PoolConfidence), "{:?}", p.model_fit);
    // A forecast then needs the run's pool confidence, and says so without it.
    if !p.model_fit.features.iter().all(|&f| f == Feature::PoolConfidence) {
        return;
    }
    let e = p.coefficients(&BTreeMap::new()).unwrap_err().to_string();
    assert!(e.contains("pool-confidence"), "{e}");
}

#[test]
fn coslow_by_part_is_tried_and_reported_but_not_shipped() {
    // AUC follows CoS-Low of the late layers; a user's run does not compute it yet, so it
    // must show in what was tried (with its error) and never in the shipped fit.
    let tasks: Vec<TaskRun> = (0..14)
        .map(|i| {
            let late = 0.2 + 0.04 * i as f64;
            let mut t =
                task(&format!("t{i}"), &[0.5 + 0.2 * jitter(i)], 0.5, 0.1 + 0.8 * late + 0.005 * jitter(i + 11));
            t.draws[0].coslow_parts = Some(CoslowParts {
                early: 0.5 + 0.2 * jitter(i + 1),
                middle: 0.5 + 0.2 * jitter(i + 2),
                late,
                attention: 0.5 + 0.2 * jitter(i + 3),
                mlp: 0.5 + 0.2 * jitter(i + 4),
            });
            t
        })
        .collect();
    let r = results(tasks);
    let p = proxy_set(&r, "llama-3.1-8b-instruct").unwrap();
    let late = p.tried.iter().find(|t| t.features == [Feature::CoslowLate]).expect("tried");
    assert!(late.loo_auc_mae < 0.01 && late.loo_auc_mae < p.baseline_loo_auc_mae / 5.0, "{late:?}");
    assert!(!p.model_fit.features.iter().any(|f| !f.shippable()), "{:?}", p.model_fit);
    assert!(!Feature::CoslowLate.shippable() && Feature::CoslowLate.name() == "coslow-late-layers");
    // A file from before parts were recorded has none of them to try.
    let old = results((0..6).map(|i| task(&format!("t{i}"), &[0.1 * i as f64], 0.5, 0.3 + 0.01 * i as f64)).collect());
    let p = proxy_set(&old, "llama-3.1-8b-instruct").unwrap();
    assert!(!p.tried.iter().any(|t| t.features.contains(&Feature::CoslowMlp)));
}

#[test]
fn the_calibration_chart_draws_every_task_and_the_mark() {
    let tasks = (0..8)
        .map(|i| task(&format!("t<{i}>"), &[0.3 + 0.05 * i as f64, 0.32 + 0.05 * i as f64], 0.5, 0.3 + 0.02 * i as f64))
        .collect();
    let p = proxy_set(&results(tasks), "llama-3.1-8b-instruct").unwrap();
    let svg = labelcast_core::suite::chart::calibration_svg(&p, Some(0.487), 420.0, 260.0);
    assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    assert_eq!(svg.matches("<circle").count(), 8);
    assert!(svg.contains("your task 0.487"));
    assert!(svg.contains("t&lt;3&gt;") && !svg.contains("t<3>"), "task names are escaped");
    assert!(!svg.contains("NaN") && !svg.contains("inf"));
}

#[test]
fn a_run_gives_the_features_the_suite_records() {
    use labelcast_core::suite::fit::{run_features, RunInputs};
    let labels = vec!["yes".to_string(), " no".into(), "yes ".into(), "maybe".into()];
    let f = run_features(&RunInputs {
        coslow: 0.4,
        losses: Some(&[1.0, 3.0]),
        answer_tokens: Some(&[1, 2]),
        labels: Some(&labels),
        pool_confidence: Some(&[0.2, 0.4]),
        ..Default::default()
    });
    assert_eq!(f[&Feature::Coslow], 0.4);
    assert_eq!(f[&Feature::SampleLoss], 2.0);
    assert_eq!(f[&Feature::AnswerTokens], 1.5);
    assert!((f[&Feature::LogDistinctAnswers] - 3f64.log2()).abs() < 1e-12);
    assert!((f[&Feature::PoolConfidence] - 0.3).abs() < 1e-12);
    assert!(!f.contains_key(&Feature::PoolEntropy) && !f.contains_key(&Feature::CoslowCentered));
}
