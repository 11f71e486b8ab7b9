//! `labelcast calibrate-suite` on two small tasks of the suite (../shared/tasks) with the real
//! SmolLM2 model: reproduces the committed run (calibration/ci/, made by the command below) to
//! 1e-6, resumes instead of redoing finished tasks, and refuses a file made differently.
//!
//! labelcast calibrate-suite --model models/SmolLM2-135M-Instruct.Q4_1.gguf \
//!   --tasks ../shared/tasks --task sst2 --task boolean_expressions --pool-sample 40 \
//!   --draws 1 --skip-first --backend cpu --out calibration/ci/smollm2-two-tasks.json

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn labelcast(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_labelcast")).args(args).output().expect("run labelcast")
}

fn model() -> String {
    std::env::var("LABELCAST_SMOLLM2_GGUF")
        .unwrap_or_else(|_| root().join("models/SmolLM2-135M-Instruct.Q4_1.gguf").display().to_string())
}

fn tasks() -> PathBuf {
    let t = root().join("../shared/tasks");
    assert!(t.join("manifest.json").exists(), "the calibration suite is missing: {}", t.display());
    t
}

fn run(out: &Path, draws: &str) -> Output {
    run_with(out, draws, &[])
}

fn run_with(out: &Path, draws: &str, extra: &[&str]) -> Output {
    let (model, tasks, out) = (model(), tasks().display().to_string(), out.display().to_string());
    let mut args = vec![
        "calibrate-suite",
        "--model",
        &model,
        "--tasks",
        &tasks,
        "--task",
        "sst2",
        "--task",
        "boolean_expressions",
        "--pool-sample",
        "40",
        "--draws",
        draws,
        "--skip-first",
        "--backend",
        "cpu",
        "--out",
        &out,
    ];
    args.extend_from_slice(extra);
    labelcast(&args)
}

fn read(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// How far a rerun may be from the committed numbers: float rounding, which differs between
/// CPUs (gemm's kernels for AVX2 and AVX-512 sum in different orders; the same run moved
/// CoS-Low by 2.9e-6 on an AMD EPYC with AVX-512), far below the third digit shown.
const TOLERANCE: f64 = 1e-5;

#[test]
fn two_tasks_reproduce_the_committed_run_and_resume() {
    let dir = std::env::temp_dir().join(format!("labelcast-suite-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("two.json");
    let o = run(&out, "1");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let got = read(&out);
    let want = read(&root().join("calibration/ci/smollm2-two-tasks.json"));
    assert_eq!(got["model"], want["model"]);
    assert_eq!(got["settings"], want["settings"]);
    let (g, w) = (got["tasks"].as_array().unwrap(), want["tasks"].as_array().unwrap());
    assert_eq!(g.len(), 2);
    for (gt, wt) in g.iter().zip(w) {
        assert_eq!(gt["task"], wt["task"]);
        assert_eq!(gt["pool"]["scored"], 40);
        assert_eq!(gt["draws"][0]["rows"], wt["draws"][0]["rows"], "{}: the same 32 rows", gt["task"]);
        for key in ["coslow", "coslow_centered", "coslow_skip_first", "mean_avg_confidence", "mean_loss"] {
            let (a, b) = (gt["draws"][0][key].as_f64().unwrap(), wt["draws"][0][key].as_f64().unwrap());
            assert!((a - b).abs() <= TOLERANCE, "{} {key}: {a} vs committed {b}", gt["task"]);
        }
        for key in ["early", "middle", "late", "attention", "mlp"] {
            let part = |v: &Value| v["draws"][0]["coslow_parts"][key].as_f64().unwrap_or(f64::NAN);
            let (a, b) = (part(gt), part(wt));
            assert!((a - b).abs() <= TOLERANCE, "{} CoS-Low of the {key} part: {a} vs committed {b}", gt["task"]);
        }
        // Fewer than 32 rows in the decile of 40: the 32 lowest, said so.
        assert!(gt["notes"].as_array().unwrap().iter().any(|n| n.as_str().unwrap().contains("32")), "{gt}");
    }

    // Resumed: nothing to do, the file untouched.
    let before = std::fs::read(&out).unwrap();
    let o = run(&out, "1");
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("every task is done"));
    assert_eq!(std::fs::read(&out).unwrap(), before);

    // A file recorded before CoS-Low by part: --fill-parts computes them on the recorded rows
    // (no scoring), after checking the whole CoS-Low comes out as recorded.
    let mut v = read(&out);
    let parts = v["tasks"][0]["draws"][0]["coslow_parts"].clone();
    assert!(parts.is_object(), "{v}");
    v["tasks"][0]["draws"][0].as_object_mut().unwrap().remove("coslow_parts");
    let recorded = v["tasks"][0]["draws"][0]["coslow"].as_f64().unwrap();
    v["tasks"][0]["draws"][0]["coslow"] = (recorded + 0.01).into();
    std::fs::write(&out, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    let o = run_with(&out, "1", &["--fill-parts"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("not the model or method of that run"), "{err}");
    v["tasks"][0]["draws"][0]["coslow"] = recorded.into();
    std::fs::write(&out, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    let o = run_with(&out, "1", &["--fill-parts"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!String::from_utf8_lossy(&o.stderr).contains("scoring"), "no task is scored again");
    let filled = read(&out);
    for key in ["early", "middle", "late", "attention", "mlp"] {
        let (a, b) =
            (filled["tasks"][0]["draws"][0]["coslow_parts"][key].as_f64().unwrap(), parts[key].as_f64().unwrap());
        assert!((a - b).abs() <= 1e-9, "{key}: filled {a}, first run {b}");
    }

    // Other settings into the same file: refused, naming the file.
    let o = run(&out, "2");
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("two.json") && err.contains("other settings"), "{err}");
}

#[test]
fn a_task_not_in_the_manifest_is_named() {
    let o = labelcast(&[
        "calibrate-suite",
        "--model",
        &model(),
        "--tasks",
        &tasks().display().to_string(),
        "--task",
        "sst3",
        "--out",
        "/tmp/never-written.json",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--task sst3: not in"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
