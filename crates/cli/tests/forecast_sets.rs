//! Which coefficient set `labelcast forecast` takes, from a synthetic calibration run
//! (`--calibration`): a calibrated model's proxy set by itself, a published family with a
//! warning on another model's CoS-Low, and the plainly labelled baseline for a model with none.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::{json, Value};

fn labelcast(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_labelcast")).args(args).output().expect("run labelcast")
}

fn ok_json(args: &[&str]) -> Value {
    let out = labelcast(args);
    assert!(out.status.success(), "labelcast {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

fn dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("labelcast-sets-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A run of model "tinycal" on 10 tasks where Llama's AUC = 0.2 + 0.5 · CoS-Low (± 0.01).
fn calibration() -> String {
    let tasks: Vec<Value> = (0..10)
        .map(|i| {
            let c = 0.2 + 0.06 * i as f64;
            let wobble = if i % 2 == 0 { 0.01 } else { -0.01 };
            json!({
                "task": format!("t{i}"), "fidelity": "faithful", "rows": 320,
                "paper_auc": {"llama-3.1-8b-instruct": 0.2 + 0.5 * c + wobble, "mistral-7b-instruct-v0.3": null},
                "pool": {"scored": 320, "counted": 320, "mean_avg_confidence": 0.4, "mean_entropy": 2.0,
                         "mean_generated_tokens": 3.0, "distinct_answers": 2},
                "draws": [{"seed": 0, "rows": [], "coslow": c, "coslow_centered": -0.03, "coslow_skip_first": c,
                           "mean_loss": 2.0, "mean_answer_tokens": 1.0, "mean_avg_confidence": 0.1, "distinct_answers": 2}],
                "seconds_scoring": 1.0, "seconds_coslow": 1.0
            })
        })
        .collect();
    let r = json!({
        "format": "labelcast-calibration-suite/1",
        "model": {"name": "tinycal", "label": "TinyCal", "file": "tinycal.gguf", "sha256": "ab"},
        "settings": {"pool_sample": 320, "sample_seed": 0, "draws": 1, "k": 32, "rank": 64, "alpha": 32.0,
                     "max_new_tokens": 30, "chat_template": true, "skip_first": true},
        "machine": "test", "tasks": tasks
    });
    write_shared("tinycal.json", r.to_string().as_bytes())
}

fn model_file(name: &str) -> String {
    write_shared(name, b"not read: only its name and hash are")
}

/// Tests run in parallel and share these files: each is written aside and renamed into place,
/// so no test reads one half-written.
fn write_shared(name: &str, bytes: &[u8]) -> String {
    let p = dir().join(name);
    let tmp = dir().join(format!("{name}.{:?}", std::thread::current().id()).replace(['(', ')'], ""));
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, &p).unwrap();
    p.display().to_string()
}

#[test]
fn a_calibrated_model_gets_its_proxy_set_with_the_task_error_in_the_band() {
    let cal = calibration();
    let m = model_file("tinycal.gguf");
    let v = ok_json(&["forecast", "--coslow", "0.5", "--model", &m, "--calibration", &cal, "--json"]);
    let set = &v["coefficient_set"];
    assert_eq!(set["kind"], "proxy", "{set}");
    assert_eq!(set["proxy"]["name"], "tinycal → llama-3.1-8b-instruct");
    assert_eq!(set["proxy"]["beats_baseline"], true);
    assert!((v["predicted_auc"].as_f64().unwrap() - 0.45).abs() < 0.01, "{v}");
    // Another file of the same model: said so.
    assert!(set["warning"].as_str().unwrap().contains("not this very file"), "{set}");
    assert!(v["band"]["sources"].as_array().unwrap().iter().any(|s| s == "task-residuals"), "{}", v["band"]);
    let (lo, hi) =
        (v["band"]["predicted_auc"]["lo"].as_f64().unwrap(), v["band"]["predicted_auc"]["hi"].as_f64().unwrap());
    assert!(lo < 0.45 && hi > 0.45 && hi - lo < 0.1, "{lo} {hi}");
    // The same set by name, without a model.
    let w = ok_json(&["forecast", "--coslow", "0.5", "--proxy", "tinycal", "--calibration", &cal, "--json"]);
    assert_eq!(w["predicted_auc"], v["predicted_auc"]);
    // A family without tasks in the run has no set.
    let out = labelcast(&[
        "forecast",
        "--coslow",
        "0.5",
        "--proxy",
        "tinycal",
        "--calibration",
        &cal,
        "--target-family",
        "mistral",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Mistral"), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_published_family_on_a_calibrated_model_warns() {
    let cal = calibration();
    let m = model_file("tinycal.gguf");
    let out = labelcast(&["forecast", "--coslow", "0.5", "--model", &m, "--calibration", &cal, "--family", "llama"]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("warning") && err.contains("not calibrated"), "{err}");
    let v =
        ok_json(&["forecast", "--coslow", "0.5", "--model", &m, "--calibration", &cal, "--family", "llama", "--json"]);
    assert_eq!(v["coefficient_set"]["kind"], "published");
    assert!(v["band"]["sources"].as_array().unwrap().iter().any(|s| s == "prediction-error"), "{}", v["band"]);
}

#[test]
fn a_model_with_no_set_gets_the_baseline_plainly_labelled() {
    let cal = calibration();
    let m = model_file("someone-elses-model.gguf");
    let out = labelcast(&["forecast", "--coslow", "0.5", "--model", &m, "--calibration", &cal]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("No coefficients exist") && text.contains("average task"), "{text}");
    let v = ok_json(&["forecast", "--coslow", "0.9", "--model", &m, "--calibration", &cal, "--json"]);
    assert_eq!(v["coefficient_set"]["kind"], "baseline");
    assert_eq!(v["coefficients"]["slope"], 0.0, "CoS-Low does not move the baseline");
}

#[test]
fn without_any_choice_the_forecast_asks_for_one() {
    let out = labelcast(&["forecast", "--coslow", "0.5"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("choose the coefficients"));
}

#[test]
fn the_papers_own_model_gets_its_published_set_unasked() {
    let m = model_file("Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf");
    let v = ok_json(&["forecast", "--coslow", "0.5", "--model", &m, "--json"]);
    assert_eq!(v["coefficient_set"]["kind"], "published");
    assert_eq!(v["coefficients"]["name"], "llama-3.1-8b-instruct");
    assert!(v["coefficient_set"]["warning"].is_null());
    let m = model_file("Qwen2.5-0.5B-Instruct.gguf");
    let v = ok_json(&["forecast", "--coslow", "0.5", "--model", &m, "--json"]);
    assert_eq!(v["coefficients"]["name"], "qwen2.5-14b-instruct");
    assert!(v["coefficient_set"]["warning"].as_str().unwrap().contains("estimate"));
}
