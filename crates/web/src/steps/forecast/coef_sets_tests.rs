use super::*;
use crate::steps::forecast::forecast_model::parse_number;
use labelcast_core::band::{BandExtras, PAPER_PREDICTION_ERROR};
use labelcast_core::suite::proxy::baseline_set;
use labelcast_protocol::ModelInfo;

fn model(name: Option<&str>, file: &str) -> ModelId {
    model_id(&ModelInfo {
        file: file.into(),
        name: name.map(str::to_string),
        arch: "llama".into(),
        layers: 1,
        hidden: 1,
        vocab: 1,
        context: 1,
        bytes: 1.0,
        sha256: None,
    })
}

/// The default model as the page loads it: its GGUF name says nothing of "Instruct", its file
/// stem does.
fn smollm2() -> ModelId {
    model(Some("Smollm2 135M 8k Lc100K Mix1 Ep2"), "SmolLM2-135M-Instruct.Q4_1.gguf")
}

/// The tiny test models: neither published nor calibrated.
fn tiny() -> ModelId {
    model(Some("tiny-llama-test"), "tiny.gguf")
}

fn choice(coef: &str, target: Option<&str>) -> Choice {
    Choice { coef: coef.into(), target: target.map(str::to_string), ..Choice::default() }
}

const LLAMA: &str = "llama-3.1-8b-instruct";
const MISTRAL: &str = "mistral-7b-instruct-v0.3";
const QWEN: &str = "qwen2.5-14b-instruct";

/// The default model's SHA-256 (scripts/fetch-model.sh), as the worker reports it.
const SMOLLM2_SHA256: &str = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53";

#[test]
fn the_hash_tells_the_calibrated_file_from_another_file_of_the_same_model() {
    let cals = fixture_calibrations();
    let mut m = smollm2();
    m.sha256 = Some(SMOLLM2_SHA256.into());
    let same = resolve(Some(&m), &cals, &Choice::default()).expect("a set");
    assert_eq!(same.kind, Kind::Proxy);
    assert!(same.warning.is_none(), "{:?}", same.warning);
    // Another quantization of SmolLM2 under the same name: its set, with a warning.
    m.sha256 = Some("0".repeat(64));
    let other = resolve(Some(&m), &cals, &Choice::default()).expect("a set");
    assert_eq!(other.kind, Kind::Proxy);
    let w = other.warning.expect("a warning");
    assert!(w.contains("not this very file") && w.contains(SMOLLM2_SHA256), "{w}");
}

#[test]
fn a_calibrated_model_gets_its_proxy_set_for_the_default_target() {
    let cals = fixture_calibrations();
    let c = resolve(Some(&smollm2()), &cals, &Choice::default()).expect("a set");
    assert_eq!(c.kind, Kind::Proxy);
    assert_eq!(c.target.as_deref(), Some(LLAMA), "core's default target");
    assert!(c.target_free && c.chart && c.warning.is_none());
    let set = c.proxy.as_ref().expect("proxy");
    assert!(set.beats_baseline);
    assert!(c.sentence.starts_with(&set.trust_sentence()), "{}", c.sentence);
    assert!(c.sentence.contains("calibration-smollm2.json"), "names the file it came from");
    assert_eq!(c.band_extras().residuals, set.residuals);
    assert_eq!(c.band_extras().prediction_error, None);
    assert_eq!(c.name(), set.name);
}

#[test]
fn a_set_that_does_not_beat_the_average_task_says_so_and_has_its_band() {
    let cals = fixture_calibrations();
    let c = resolve(Some(&smollm2()), &cals, &choice(AUTO, Some(MISTRAL))).expect("a set");
    let set = c.proxy.as_ref().expect("proxy");
    assert!(!set.beats_baseline);
    assert!(c.sentence.contains("did not predict") && c.sentence.contains("average task"), "{}", c.sentence);
    let base = baseline_set(&cals[0].run, MISTRAL).unwrap();
    assert_eq!(set.residuals, base.residuals, "the band is the baseline's");
    assert_eq!(set.model_fit.weights.len(), 0);
}

#[test]
fn a_target_without_a_set_is_named() {
    let cals = fixture_calibrations();
    let e = resolve(Some(&smollm2()), &cals, &choice(AUTO, Some(QWEN))).unwrap_err().to_string();
    assert!(e.contains("no set for fine-tuning Qwen 2.5 14B-Instruct"), "{e}");
}

#[test]
fn a_published_set_on_smollm2_warns_naming_both_models() {
    let cals = fixture_calibrations();
    let c = resolve(Some(&smollm2()), &cals, &choice(LLAMA, None)).expect("published");
    assert_eq!(c.kind, Kind::Published);
    assert!(!c.target_free && !c.chart);
    let w = c.warning.expect("warning");
    assert!(w.contains("Llama 3.1 8B-Instruct") && w.contains("Smollm2 135M"), "{w}");
    assert!(w.contains("its own calibrated set is"), "points to its own set: {w}");
    let extras = resolve(None, &[], &choice(LLAMA, None)).unwrap().band_extras();
    assert_eq!(extras.prediction_error, Some(PAPER_PREDICTION_ERROR));
}

#[test]
fn custom_numbers_warn_and_leave_the_task_error_out() {
    let c = Choice { coef: CUSTOM.into(), slope: "0.5".into(), intercept: "0.3".into(), target: None };
    let r = resolve(Some(&smollm2()), &[], &c).expect("custom");
    assert_eq!(r.kind, Kind::Custom);
    assert!(r.warning.as_ref().expect("warning").contains("Smollm2 135M"));
    assert_eq!(r.band_extras(), BandExtras::default());
    assert!(resolve(None, &[], &c).unwrap().warning.is_none());
    let bad = Choice { slope: String::new(), ..c };
    assert!(resolve(None, &[], &bad).unwrap_err().to_string().contains("Enter a value for the slope"));
}

#[test]
fn a_model_with_no_set_gets_the_average_task_plainly_labelled() {
    let cals = fixture_calibrations();
    let c = resolve(Some(&tiny()), &cals, &Choice::default()).expect("baseline");
    assert_eq!(c.kind, Kind::Baseline);
    assert!(!c.chart, "the calibration's CoS-Low axis is another model's");
    assert!(c.sentence.contains("No coefficients exist for tiny-llama-test"), "{}", c.sentence);
    assert!(c.sentence.contains("average task") && c.sentence.contains("not a forecast for your data"));
    let set = c.proxy.as_ref().unwrap();
    assert_eq!(set.model_fit.features.len(), 0, "a constant: CoS-Low does not move it");
    assert!(!c.band_extras().residuals.is_empty());
    // Without any calibration there is no average task to show: said so, CoS-Low still shown.
    let e = resolve(Some(&tiny()), &[], &Choice::default()).unwrap_err().to_string();
    assert!(e.contains("CoS-Low is still shown"), "{e}");
}

#[test]
fn the_papers_own_models_get_their_published_set_and_others_of_the_family_a_warning() {
    let llama = model(Some("Meta Llama 3.1 8B Instruct"), "l.gguf");
    let c = resolve(Some(&llama), &fixture_calibrations(), &Choice::default()).unwrap();
    assert_eq!((c.kind, c.target.as_deref(), c.warning.as_ref()), (Kind::Published, Some(LLAMA), None));
    assert!(!c.target_free, "Llama's CoS-Low predicts Llama's data efficiency only");
    let also = resolve(Some(&llama), &[], &choice(LLAMA, None)).unwrap();
    assert!(also.warning.is_none(), "its own published set, chosen by hand, is no mismatch");
    let small = model(Some("Qwen2.5 0.5B Instruct"), "q.gguf");
    let c = resolve(Some(&small), &[], &Choice::default()).unwrap();
    assert_eq!((c.kind, c.target.as_deref()), (Kind::Published, Some(QWEN)));
    assert!(c.warning.expect("warning").contains("same-family estimate"));
}

#[test]
fn without_a_model_a_typed_coslow_takes_the_targets_published_set() {
    let c = resolve(None, &[], &choice(AUTO, Some(MISTRAL))).unwrap();
    assert_eq!((c.kind, c.target.as_deref()), (Kind::Published, Some(MISTRAL)));
    assert!(c.target_free && c.warning.is_none());
    assert!(c.sentence.contains("No model is given"), "{}", c.sentence);
}

#[test]
fn a_calibrated_models_sets_can_be_chosen_by_name() {
    let cals = fixture_calibrations();
    let by_name = choice(&format!("{PROXY}smollm2-135m-instruct"), None);
    let c = resolve(None, &cals, &by_name).unwrap();
    assert_eq!(c.kind, Kind::Proxy);
    assert!(c.warning.is_none());
    let own = resolve(Some(&smollm2()), &cals, &by_name).unwrap();
    assert!(own.warning.is_none() && own.chart);
    let other = resolve(Some(&tiny()), &cals, &by_name).unwrap();
    let w = other.warning.expect("warning");
    assert!(w.contains("SmolLM2-135M-Instruct") && w.contains("tiny-llama-test"), "{w}");
    assert!(!other.chart);
    let e = resolve(None, &[], &by_name).unwrap_err().to_string();
    assert!(e.contains("smollm2-135m-instruct"), "{e}");
}

#[test]
fn loaded_files_come_before_the_shipped_runs_and_bad_ones_are_named() {
    let cals = fixture_calibrations();
    assert_eq!(cals[0].source, "calibration-smollm2.json");
    assert!(cals.iter().any(|c| c.source == "shipped"), "the shipped run follows");
    assert_eq!(calibration_for(&smollm2(), &cals).map(|(c, _)| c.source.as_str()), Some("calibration-smollm2.json"));
    assert!(calibration_for(&tiny(), &cals).is_none());
    let e = parse_calibration("mine.json", "{oops").unwrap_err().to_string();
    assert!(e.starts_with("mine.json: not JSON"), "{e}");
    let e = parse_calibration("old.json", r#"{"format": "labelcast-calibration-suite/0"}"#).unwrap_err().to_string();
    assert!(e.contains("old.json"), "{e}");
    let empty = r#"{"format":"labelcast-calibration-suite/1","model":{"name":"m","label":"M","file":"m.gguf","sha256":"x"},
        "settings":{"pool_sample":null,"sample_seed":0,"draws":1,"k":32,"rank":64,"alpha":32.0,"max_new_tokens":30,
        "chat_template":true,"skip_first":false},"tasks":[]}"#;
    let e = parse_calibration("early.json", empty).unwrap_err().to_string();
    assert!(e.contains("early.json") && e.contains("0 tasks, too few"), "{e}");
    let (_, errors) = calibrations(&[("early.json".into(), empty.into())]);
    assert_eq!(errors.len(), 1);
}

#[test]
fn the_model_card_says_which_set_step_5_uses() {
    let cals = fixture_calibrations();
    let s = model_note(&smollm2(), &cals);
    assert!(s.contains("calibrated by labelcast") && s.contains("Llama 3.1 8B-Instruct"), "{s}");
    assert!(model_note(&tiny(), &cals).contains("No coefficients exist for tiny-llama-test"));
    let llama = model(Some("Meta Llama 3.1 8B Instruct"), "l.gguf");
    assert!(model_note(&llama, &cals).contains("apply as published"));
}

#[test]
fn a_choice_round_trips_and_old_or_partial_ones_fill_in() {
    let c = Choice { target: Some(MISTRAL.into()), coef: CUSTOM.into(), slope: "0.5".into(), intercept: "0,3".into() };
    let back: Choice = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
    assert_eq!(back, c);
    assert_eq!(parse_number("I", &back.intercept), Ok(0.3));
    let partial: Choice = serde_json::from_str(r#"{"target":"qwen2.5-14b-instruct"}"#).unwrap();
    assert_eq!(partial.coef, AUTO);
}
