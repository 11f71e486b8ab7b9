//! Runs the real `labelcast` binary the way scripts do and checks stdout, stderr and exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use labelcast_core::table::{read_table, ReadOptions};
use serde_json::Value;

fn labelcast(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_labelcast")).args(args).output().expect("run labelcast")
}

fn ok_json(args: &[&str]) -> Value {
    let out = labelcast(args);
    assert!(out.status.success(), "labelcast {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

fn fails_with(args: &[&str], needle: &str) {
    let out = labelcast(args);
    assert_eq!(out.status.code(), Some(2), "labelcast {args:?} should exit 2");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(needle), "stderr of {args:?} lacks {needle:?}:\n{err}");
    assert!(out.stdout.is_empty(), "nothing on stdout on error");
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("labelcast-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn write(name: &str, text: &str) -> String {
    let p = tmp(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures").join(name).display().to_string()
}

#[test]
fn auc_of_a_paper_curve_matches_the_published_value() {
    // llama / rte from shared/paper-results: budgets 0..2200 plus few-shot points 4..32
    // (dropped), ceiling 0.936 from human_eval.json; published AUC 0.51806...
    let curve = write(
        "rte.csv",
        "budget,score\n0,0.26104417670682734\n50,0.5140562248995983\n100,0.6706827309236948\n\
         200,0.7871485943775101\n500,0.8594377510040161\n1000,0.8755020080321285\n\
         2200,0.8795180722891566\n4,0.7349397590361446\n8,0.7309236947791165\n",
    );
    let v = ok_json(&["auc", "--curve", &curve, "--json"]);
    let auc = v["auc"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&auc));
    let expected = published_auc("llama", "rte");
    let v2 = ok_json(&["auc", "--curve", &curve, "--ceiling", "0.936", "--json"]);
    assert!((v2["auc"].as_f64().unwrap() - expected).abs() < 1e-9, "{} vs {expected}", v2["auc"]);
    assert_eq!(v["dropped_budgets"], serde_json::json!([4, 8]));
}

fn published_auc(family: &str, task: &str) -> f64 {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../../../shared/paper-results/auc_res/{family}_auc_logscale_by_task_5000.json"));
    let v: Value = serde_json::from_slice(&std::fs::read(&path).expect("shared/paper-results")).unwrap();
    v[task]["extrapolation_auc"].as_f64().unwrap()
}

#[test]
fn forecast_reproduces_the_worked_example() {
    let v = ok_json(&["forecast", "--coslow", "0.65", "--coefficients", "0.54,0.31", "--json"]);
    assert!((v["predicted_auc"].as_f64().unwrap() - 0.661).abs() < 1e-12);
    let b90 = v["budgets"]["0.9"].as_f64().unwrap();
    assert!((b90 - 1028.0).abs() < 1.0, "budget at 90% = {b90}");
    let keys: Vec<&str> = v["budgets"].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["0.5", "0.7", "0.8", "0.9", "0.95"]);
    let band = &v["band"]["budgets"]["0.9"];
    assert!(band["lo"].as_f64().unwrap() <= b90 && b90 <= band["hi"].as_f64().unwrap());
}

#[test]
fn forecast_with_a_family_and_targets() {
    let v = ok_json(&[
        "forecast",
        "--coslow",
        "0.2",
        "--family",
        "mistral-7b-instruct-v0.3",
        "--target",
        "0.8",
        "--target",
        "0.95",
        "--json",
    ]);
    let auc = 0.797 * 0.2 + 0.357;
    assert!((v["predicted_auc"].as_f64().unwrap() - auc).abs() < 1e-12);
    let p = (1.0 - auc) / auc;
    let expect = 5000f64.powf(0.95f64.powf(1.0 / p));
    assert!((v["budgets"]["0.95"].as_f64().unwrap() - expect).abs() < 1e-6 * expect);
    assert_eq!(v["budgets"].as_object().unwrap().len(), 2);
    assert!((v["p"].as_f64().unwrap() - p).abs() < 1e-12);
}

#[test]
fn forecast_rejects_bad_input_with_reasons() {
    fails_with(&["forecast", "--coslow", "1.5", "--family", "llama-3.1-8b-instruct"], "[-1, 1]");
    fails_with(&["forecast", "--coslow", "0.9", "--coefficients", "0.9,0.5"], "between 0 and 1");
    fails_with(&["forecast", "--coslow", "0.5", "--family", "gpt-9"], "gpt-9");
    fails_with(&["forecast", "--coslow", "0.5", "--coefficients", "0.5"], "C,I");
    fails_with(&["forecast", "--coslow", "0.5", "--family", "llama", "--target", "1.2"], "1.2");
}

#[test]
fn forecast_from_a_cosine_matrix_uses_its_median() {
    let m = write("cos.json", "[[1,0.2,0.4],[0.2,1,0.6],[0.4,0.6,1]]");
    let v = ok_json(&["forecast", "--cosines", &m, "--family", "llama-3.1-8b-instruct", "--json"]);
    assert!((v["coslow"].as_f64().unwrap() - 0.4).abs() < 1e-12);
}

#[test]
fn calibrate_recovers_coefficients_and_needs_three_tasks() {
    let tasks = write("tasks.csv", "task,coslow,auc\na,0.1,0.3645\nb,0.3,0.4735\nc,0.5,0.5825\nd,0.7,0.6915\n");
    let v = ok_json(&["calibrate", "--tasks", &tasks, "--json"]);
    assert!((v["slope"].as_f64().unwrap() - 0.545).abs() < 1e-9);
    assert!((v["intercept"].as_f64().unwrap() - 0.31).abs() < 1e-9);
    assert!((v["r2"].as_f64().unwrap() - 1.0).abs() < 1e-9);
    let two = write("tasks2.csv", "task,coslow,auc\na,0.1,0.3\nb,0.3,0.4\n");
    fails_with(&["calibrate", "--tasks", &two], "at least 3");
    let bad = write("tasks3.csv", "task,coslow,auc\na,0.1,0.3\nb,high,0.4\nc,0.2,0.5\n");
    fails_with(&["calibrate", "--tasks", &bad, "--json"], "line 3");
}

#[test]
fn order_writes_every_row_once_with_fields_as_read() {
    let input = fixture("pool_good.csv");
    let out = tmp("ordered.csv");
    for strategy in [
        "random",
        "blocked",
        "interleaved",
        "curriculum",
        "curriculum-buckets",
        "blocked-curriculum",
        "interleaved-curriculum",
    ] {
        // pool_good has no difficulty column; give one derived from the id.
        let with_diff = write("with_diff.csv", &add_difficulty(&std::fs::read_to_string(&input).unwrap()));
        let v = ok_json(&[
            "order",
            "--data",
            &with_diff,
            "--strategy",
            strategy,
            "--seed",
            "3",
            "--out",
            out.to_str().unwrap(),
            "--json",
        ]);
        assert_eq!(v["rows"], 120);
        let a = read_table("in", std::fs::read(&with_diff).unwrap().as_slice(), &ReadOptions::default()).unwrap();
        let b = read_table("out", std::fs::read(&out).unwrap().as_slice(), &ReadOptions::default()).unwrap();
        assert_eq!(a.headers, b.headers);
        let mut ra: Vec<_> = a.rows.iter().map(|r| r.fields.clone()).collect();
        let mut rb: Vec<_> = b.rows.iter().map(|r| r.fields.clone()).collect();
        assert_ne!(ra, rb, "{strategy} should reorder");
        ra.sort();
        rb.sort();
        assert_eq!(ra, rb, "{strategy}: not a permutation of the input rows");
    }
    fails_with(&["order", "--data", &input, "--strategy", "curriculum", "--out", out.to_str().unwrap()], "difficulty");
    fails_with(&["order", "--data", &input, "--strategy", "sideways", "--out", out.to_str().unwrap()], "sideways");
    // A table with no prompt column is not training data (it was written out as if it were).
    let no_prompt = write("no_prompt.csv", "foo,bar\n1,2\n3,4\n");
    let never = tmp("no_prompt_out.csv");
    fails_with(
        &["order", "--data", &no_prompt, "--strategy", "random", "--out", never.to_str().unwrap()],
        "no prompt column",
    );
    assert!(!never.exists(), "nothing written");
}

fn add_difficulty(csv: &str) -> String {
    let t = read_table("x.csv", csv.as_bytes(), &ReadOptions::default()).unwrap();
    let mut t2 = t.clone();
    let d: Vec<String> = (0..t.rows.len()).map(|i| format!("{}", (i * 37 % 101) as f64 / 100.0)).collect();
    t2.push_column("difficulty", d).unwrap();
    t2.to_csv()
}

#[test]
fn order_leaves_unquoted_lines_byte_identical() {
    let csv = "id,prompt,category\n1,a b,x\n2,c d,y\n3,e f,x\n4,g h,y\n5,i j,z\n";
    let input = write("plain.csv", csv);
    let out = tmp("plain_out.csv");
    ok_json(&["order", "--data", &input, "--strategy", "interleaved", "--out", out.to_str().unwrap(), "--json"]);
    let text = std::fs::read_to_string(&out).unwrap();
    let mut got: Vec<&str> = text.lines().collect();
    let mut want: Vec<&str> = csv.lines().collect();
    assert_eq!(got[0], want[0]);
    got.sort();
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn bad_table_errors_name_file_line_and_exit_2() {
    let bad = fixture("pool_bad.csv");
    let out = tmp("never.csv");
    let o = labelcast(&["order", "--data", &bad, "--strategy", "random", "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    for needle in ["pool_bad.csv", "line 3", "line 4", "line 6"] {
        assert!(err.contains(needle), "stderr lacks {needle}:\n{err}");
    }
    assert!(!out.exists(), "no output file on error");
    fails_with(&["auc", "--curve", "/nonexistent/curve.csv"], "/nonexistent/curve.csv");
}

#[test]
fn select_low_confidence_decile_and_diversity() {
    let mut csv = String::from("id,prompt,avg_confidence,mean_entropy,embedding\n");
    for i in 0..400 {
        let conf = (i as f64 * 7.0 % 400.0) / 400.0;
        let angle = i as f64 * 0.7;
        csv.push_str(&format!(
            "r{i},\"prompt, number {i}\",{conf},{},\"[{:.4},{:.4},1.0]\"\n",
            1.0 - conf,
            angle.cos(),
            angle.sin()
        ));
    }
    let scores = write("scores.csv", &csv);
    let out = tmp("to_label.csv");
    let v =
        ok_json(&["select", "--scores", &scores, "--k", "32", "--seed", "0", "--out", out.to_str().unwrap(), "--json"]);
    assert_eq!(v["k"], 32);
    let t = read_table("o", std::fs::read(&out).unwrap().as_slice(), &ReadOptions::default()).unwrap();
    assert_eq!(t.rows.len(), 32);
    let conf_col = t.column("avg_confidence").unwrap();
    for r in 0..32 {
        let c: f64 = t.get(r, conf_col).parse().unwrap();
        assert!(c < 0.1, "row {r} has confidence {c}, outside the bottom decile");
    }
    let again =
        ok_json(&["select", "--scores", &scores, "--k", "32", "--seed", "0", "--out", out.to_str().unwrap(), "--json"]);
    assert_eq!(v["rows"], again["rows"], "same seed, same selection");
    for s in ["k-center", "facility-location", "uncertain-diverse", "mean-entropy", "min-margin"] {
        let args =
            ["select", "--scores", &scores, "--k", "10", "--strategy", s, "--out", out.to_str().unwrap(), "--json"];
        if s == "min-margin" {
            fails_with(&args, "min_margin");
        } else {
            assert_eq!(ok_json(&args)["k"], 10, "{s}");
        }
    }
    fails_with(&["select", "--scores", &scores, "--k", "401", "--out", out.to_str().unwrap()], "401");
}

#[test]
fn families_lists_the_three_published_sets() {
    let v = ok_json(&["families", "--json"]);
    let names: Vec<&str> = v["published"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["llama-3.1-8b-instruct", "mistral-7b-instruct-v0.3", "qwen2.5-14b-instruct"]);
    // Proxy sets come from the shipped calibration run; each states its errors.
    for p in v["proxy"].as_array().unwrap() {
        assert!(p["name"].as_str().unwrap().starts_with("smollm2-135m-instruct → "), "{p}");
        for k in ["n", "r2", "loo_auc_mae", "baseline_loo_auc_mae", "loo_budget90_factor", "coverage90"] {
            assert!(p[k].is_number(), "{k} in {p}");
        }
    }
}

/// The page's step 6 on the same file: the training order takes every labeled row and only
/// those; the next batch chooses among the unlabeled rows.
#[test]
fn order_takes_labeled_rows_and_select_can_leave_them_out() {
    let mut csv = String::from("id,prompt,answer,avg_confidence,mean_entropy\n");
    for i in 0..40 {
        let answer = if i % 4 == 0 { format!("a{i}") } else { String::new() };
        csv.push_str(&format!("r{i},p{i},{answer},{},{}\n", i as f64 / 40.0, 1.0 - i as f64 / 40.0));
    }
    let input = write("mixed.csv", &csv);
    let out = tmp("mixed_out.csv");
    let o = labelcast(&["order", "--data", &input, "--strategy", "random", "--out", out.to_str().unwrap(), "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["rows"], 10);
    assert_eq!(v["left_out_lines"].as_array().unwrap().len(), 30);
    assert!(String::from_utf8_lossy(&o.stderr).contains("left out 30 rows without an answer (lines 3, 4, 5, 7,"));
    let t = read_table("o", std::fs::read(&out).unwrap().as_slice(), &ReadOptions::default()).unwrap();
    assert!((0..t.rows.len()).all(|r| t.get(r, 2).starts_with('a')));

    for strategy in ["mean-entropy", "low-confidence-decile"] {
        let v = ok_json(&[
            "select",
            "--scores",
            &input,
            "--k",
            "5",
            "--strategy",
            strategy,
            "--exclude-labeled",
            "--out",
            out.to_str().unwrap(),
            "--json",
        ]);
        let t = read_table("o", std::fs::read(&out).unwrap().as_slice(), &ReadOptions::default()).unwrap();
        assert_eq!(t.rows.len(), 5, "{strategy}");
        assert!((0..5).all(|r| t.get(r, 2).is_empty()), "{strategy}: a labeled row was chosen");
        // Row numbers and lines still count in the input file.
        let lines: Vec<u64> = v["lines"].as_array().unwrap().iter().map(|l| l.as_u64().unwrap()).collect();
        assert!(lines.iter().all(|l| (l - 2) % 4 != 0), "{lines:?}");
    }
    // mean-entropy: the most uncertain unlabeled rows are r1, r2, r3, r5, r6.
    let v = ok_json(&[
        "select",
        "--scores",
        &input,
        "--k",
        "5",
        "--strategy",
        "mean-entropy",
        "--exclude-labeled",
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(v["rows"], serde_json::json!([2, 3, 4, 6, 7]));
    let labeled_only = write("all_labeled.csv", "prompt,answer,mean_entropy\nq,a,0.5\n");
    fails_with(
        &[
            "select",
            "--scores",
            &labeled_only,
            "--k",
            "1",
            "--strategy",
            "mean-entropy",
            "--exclude-labeled",
            "--out",
            out.to_str().unwrap(),
        ],
        "every row has an answer",
    );
    let no_answer = write("no_answer.csv", "prompt,mean_entropy\nq,0.5\n");
    fails_with(
        &[
            "select",
            "--scores",
            &no_answer,
            "--k",
            "1",
            "--strategy",
            "mean-entropy",
            "--exclude-labeled",
            "--out",
            out.to_str().unwrap(),
        ],
        "no answer column",
    );
    let none = write("none_labeled.csv", "prompt,answer\nq,\n");
    fails_with(
        &["order", "--data", &none, "--strategy", "random", "--out", out.to_str().unwrap()],
        "no row has an answer",
    );
}
