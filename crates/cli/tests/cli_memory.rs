//! `--gradient-memory`: CoS-Low's kept gradients within a memory bound, on the committed tiny
//! reference model.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn path(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(rel).display().to_string()
}

fn coslow(extra: &[&str]) -> (Value, String) {
    let model = path("tests/reference/models/tiny-llama");
    let data = path("tests/data/labeled.csv");
    let mut args = vec!["coslow", "--model", &model, "--data", &data, "--backend", "cpu", "--json"];
    args.extend_from_slice(extra);
    let out: Output = Command::new(PathBuf::from(env!("CARGO_BIN_EXE_labelcast"))).args(&args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "labelcast {args:?} failed: {stderr}");
    (serde_json::from_slice(&out.stdout).unwrap(), stderr)
}

#[test]
fn gradients_that_do_not_fit_the_memory_are_sketched_and_the_error_is_said() {
    let (whole, _) = coslow(&[]);
    assert_eq!(whole["reduction"], "Some(Exact)", "the tiny model's gradients fit half of any machine's memory");
    assert!(whole["sketch_sd"].is_null());
    // Room for every gradient: the same result.
    let (roomy, _) = coslow(&["--gradient-memory", "1GiB"]);
    assert_eq!(roomy["coslow"], whole["coslow"]);
    // 32 examples in 256 KiB: 2,048 floats each, a sketch.
    let (small, stderr) = coslow(&["--gradient-memory", "256KiB"]);
    assert_eq!(small["reduction"].as_str().unwrap(), "Some(Sketch { size: 2048, seed: 0 })");
    let sd = small["sketch_sd"].as_f64().unwrap();
    assert!(sd > 0.0 && sd < 0.03, "{sd}");
    let (a, b) = (small["coslow"].as_f64().unwrap(), whole["coslow"].as_f64().unwrap());
    assert!((a - b).abs() < 0.1, "sketched {a} against exact {b}");
    assert!(stderr.contains("within 256 KiB (--gradient-memory)"), "{stderr}");
    assert!(stderr.contains("(--gradient-memory or --budget sets it)"), "{stderr}");
}

#[test]
fn a_size_that_is_not_one_is_refused_by_name() {
    let out =
        Command::new(env!("CARGO_BIN_EXE_labelcast")).args(["coslow", "--gradient-memory", "2 GiBs"]).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown unit \"gibs\""), "{stderr}");
}
