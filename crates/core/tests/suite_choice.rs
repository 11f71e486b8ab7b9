//! The rules that pick a forecast's coefficient set (`suite::choice`), shared by the page and
//! the CLI, on a synthetic calibration of a model "tiny" whose CoS-Low predicts Llama's AUC.

mod common;

use common::{results, task};
use labelcast_core::suite::choice::{resolve, Calibration, Coef, Kind, ModelId};

fn cals() -> Vec<Calibration> {
    let tasks = (0..10)
        .map(|i| {
            let c = 0.2 + 0.06 * i as f64;
            task(&format!("t{i}"), &[c], 0.4, 0.2 + 0.5 * c + if i % 2 == 0 { 0.01 } else { -0.01 })
        })
        .collect();
    vec![Calibration::new("tiny.json", results(tasks))]
}

fn model(title: &str, sha: Option<&str>) -> ModelId {
    ModelId { title: title.into(), name: None, file: format!("{title}.gguf"), sha256: sha.map(str::to_string) }
}

#[test]
fn a_calibrated_model_follows_its_proxy_set_for_the_model_to_fine_tune() {
    let c = resolve(Some(&model("tiny", Some("00"))), &cals(), None, &Coef::Auto).unwrap();
    assert_eq!(c.kind, Kind::Proxy);
    assert_eq!(c.name(), "tiny → llama-3.1-8b-instruct");
    assert!(c.chart && c.target_free && c.warning.is_none(), "{c:?}");
    assert!(c.sentence.contains("tiny.json"), "a set from a file names it: {}", c.sentence);
    assert!(!c.band_extras().residuals.is_empty());
    // Another file of the same model: said so (the CLI knows the hash).
    let c = resolve(Some(&model("tiny", Some("ff"))), &cals(), None, &Coef::Auto).unwrap();
    assert!(c.warning.unwrap().contains("not this very file"));
    // A family the run has no AUC for: named.
    let e = resolve(Some(&model("tiny", None)), &cals(), Some("mistral"), &Coef::Auto).unwrap_err().to_string();
    assert!(e.contains("Mistral"), "{e}");
}

#[test]
fn the_papers_models_get_their_published_sets_and_their_kin_a_warning() {
    let c = resolve(Some(&model("Meta-Llama-3.1-8B-Instruct-Q4_K_M", None)), &cals(), None, &Coef::Auto).unwrap();
    assert_eq!((c.kind, c.warning.is_none()), (Kind::Published, true));
    assert_eq!(c.band_extras().prediction_error, Some(0.086));
    let c = resolve(Some(&model("Qwen2.5-0.5B-Instruct", None)), &cals(), None, &Coef::Auto).unwrap();
    assert_eq!(c.name(), "qwen2.5-14b-instruct");
    assert!(c.warning.unwrap().contains("same-family estimate"));
}

#[test]
fn a_model_with_no_set_gets_the_average_task_plainly_labelled() {
    let c = resolve(Some(&model("someone-elses", None)), &cals(), Some("llama"), &Coef::Auto).unwrap();
    assert_eq!(c.kind, Kind::Baseline);
    assert!(!c.chart);
    assert!(c.sentence.contains("No coefficients exist for someone-elses") && c.sentence.contains("average task"));
    assert_eq!(c.coefficients(&Default::default()).unwrap().slope, 0.0);
}

#[test]
fn a_set_fitted_for_another_models_coslow_carries_a_warning() {
    let tiny = model("tiny", None);
    let c = resolve(Some(&tiny), &cals(), None, &Coef::Published("llama".into())).unwrap();
    let w = c.warning.unwrap();
    assert!(w.contains("not calibrated") && w.contains("its own calibrated set"), "{w}");
    let other = model("other", None);
    let c = resolve(Some(&other), &cals(), None, &Coef::Proxy("tiny".into())).unwrap();
    assert!(!c.chart && c.warning.unwrap().contains("fitted on CoS-Low computed by Tiny"));
    let c = resolve(Some(&other), &cals(), None, &Coef::Custom { slope: 0.5, intercept: 0.3 }).unwrap();
    assert_eq!(c.kind, Kind::Custom);
    assert!(c.warning.as_deref().unwrap().contains("other"));
    assert!(c.band_extras().residuals.is_empty() && c.band_extras().prediction_error.is_none());
    let e = resolve(Some(&other), &cals(), None, &Coef::Proxy("nope".into())).unwrap_err().to_string();
    assert!(e.contains("nope") && e.contains("tiny"), "{e}");
}
