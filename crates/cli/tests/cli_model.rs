//! The model-based subcommands on the committed tiny reference model, checked against the
//! PyTorch numbers in tests/reference/out (and, for SmolLM2, the real model).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use labelcast_core::table::{read_table, ReadOptions};
use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn path(rel: &str) -> String {
    root().join(rel).display().to_string()
}

fn labelcast(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_labelcast")).args(args).output().expect("run labelcast")
}

fn ok_json(args: &[&str]) -> Value {
    let out = labelcast(args);
    assert!(out.status.success(), "labelcast {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("labelcast-cli-model-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn reference(model: &str) -> Value {
    serde_json::from_slice(&std::fs::read(root().join(format!("tests/reference/out/{model}.json"))).unwrap()).unwrap()
}

const TINY: &str = "tests/reference/models/tiny-llama";

#[test]
fn coslow_with_pytorch_lora_a_matches_the_reference() {
    for model in ["tiny-llama", "tiny-qwen2"] {
        let v = ok_json(&[
            "coslow",
            "--model",
            &path(&format!("tests/reference/models/{model}")),
            "--data",
            &path("tests/data/labeled.csv"),
            "--lora-a",
            &path(&format!("tests/reference/out/{model}-lora-a.safetensors")),
            "--json",
        ]);
        let want = reference(model)["lora"]["coslow"].as_f64().unwrap();
        let got = v["coslow"].as_f64().unwrap();
        assert!((got - want).abs() <= 1e-3, "{model}: CoS-Low {got} vs PyTorch {want}");
        assert_eq!(v["pairs"], 496);
        assert_eq!(v["examples"], 32);
        assert!(v["seconds"].as_f64().unwrap() >= 0.0);
    }
}

#[test]
fn forecast_from_a_model_and_labeled_rows() {
    let v = ok_json(&[
        "forecast",
        "--model",
        &path(TINY),
        "--data",
        &path("tests/data/labeled.csv"),
        "--family",
        "llama-3.1-8b-instruct",
        "--json",
    ]);
    let coslow = v["coslow"].as_f64().unwrap();
    assert_eq!(v["measured"]["coslow"].as_f64().unwrap(), coslow);
    assert!((v["predicted_auc"].as_f64().unwrap() - (0.545 * coslow + 0.310)).abs() < 1e-12);
    let band = &v["band"]["coslow"];
    assert!(band["lo"].as_f64().unwrap() <= band["hi"].as_f64().unwrap());
}

#[test]
fn score_keeps_every_row_and_column_and_adds_the_scores() {
    let data = tmp("pool12.csv");
    let pool = std::fs::read_to_string(root().join("tests/data/pool.csv")).unwrap();
    std::fs::write(&data, pool.lines().take(13).collect::<Vec<_>>().join("\n") + "\n").unwrap();
    let out = tmp("scores.csv");
    let v = ok_json(&[
        "score",
        "--model",
        &path(TINY),
        "--data",
        data.to_str().unwrap(),
        "--max-new-tokens",
        "8",
        "--embeddings",
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(v["rows"], 12);
    let input = read_table("in", pool.as_bytes(), &ReadOptions::default()).unwrap();
    let t = read_table("out", &std::fs::read(&out).unwrap(), &ReadOptions::default()).unwrap();
    assert_eq!(t.rows.len(), 12);
    assert_eq!(&t.headers[..input.headers.len()], &input.headers[..]);
    for name in [
        "avg_confidence",
        "ppl",
        "mean_entropy",
        "least_confidence",
        "mean_margin",
        "min_margin",
        "generated",
        "embedding",
    ] {
        assert!(t.column(name).is_ok(), "missing column {name}");
    }
    for r in 0..12 {
        assert_eq!(t.rows[r].fields[..input.headers.len()], input.rows[r].fields[..], "row {r} changed");
    }
    let conf = t.optional_numbers(t.column("avg_confidence").unwrap()).unwrap();
    assert!(conf.iter().flatten().all(|c| (0.0..=1.0).contains(c)));

    // The model form of select scores the pool itself and keeps the chosen rows' scores.
    let chosen = tmp("chosen.csv");
    let s = ok_json(&[
        "select",
        "--model",
        &path(TINY),
        "--data",
        data.to_str().unwrap(),
        "--max-new-tokens",
        "8",
        "--k",
        "3",
        "--strategy",
        "k-center",
        "--out",
        chosen.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(s["k"], 3);
    let c = read_table("c", &std::fs::read(&chosen).unwrap(), &ReadOptions::default()).unwrap();
    assert_eq!(c.rows.len(), 3);
    assert!(c.column("avg_confidence").is_ok());
}

#[test]
fn model_errors_are_clear_and_exit_2() {
    let fake = tmp("fake.gguf");
    std::fs::write(&fake, "id,prompt\n1,hello\n").unwrap();
    let o = labelcast(&["coslow", "--model", fake.to_str().unwrap(), "--data", &path("tests/data/labeled.csv")]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("fake.gguf") && err.contains("GGUF"), "{err}");

    let no_answer = tmp("no_answer.csv");
    std::fs::write(&no_answer, "id,prompt,answer\n1,What is 2+2?,4\n2,Capital of France?,\n").unwrap();
    let o = labelcast(&["coslow", "--model", &path(TINY), "--data", no_answer.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("line 3") && err.contains("answer"), "{err}");
}

/// A copy of the tiny model's folder whose chat template is in chat_template.jinja, as newer
/// transformers save it: tokenizer_config.json keeps the special tokens, `config_template`
/// says whether it keeps the template too.
fn jinja_folder(name: &str, jinja: &str, config_template: bool) -> PathBuf {
    let dir = tmp(name);
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["config.json", "model.safetensors", "tokenizer.json"] {
        std::fs::copy(root().join(TINY).join(f), dir.join(f)).unwrap();
    }
    let mut config: Value =
        serde_json::from_slice(&std::fs::read(root().join(TINY).join("tokenizer_config.json")).unwrap()).unwrap();
    if !config_template {
        config.as_object_mut().unwrap().remove("chat_template");
    }
    std::fs::write(dir.join("tokenizer_config.json"), serde_json::to_vec(&config).unwrap()).unwrap();
    std::fs::write(dir.join("chat_template.jinja"), jinja).unwrap();
    dir
}

#[test]
fn a_folder_with_chat_template_jinja_uses_it() {
    let config: Value =
        serde_json::from_slice(&std::fs::read(root().join(TINY).join("tokenizer_config.json")).unwrap()).unwrap();
    let template = config["chat_template"].as_str().unwrap();
    let data = tmp("pool3.csv");
    let pool = std::fs::read_to_string(root().join("tests/data/pool.csv")).unwrap();
    std::fs::write(&data, pool.lines().take(4).collect::<Vec<_>>().join("\n") + "\n").unwrap();
    let score = |model: &Path, out: &str| -> Vec<u8> {
        let out = tmp(out);
        let args = [
            "score",
            "--model",
            model.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
            "--max-new-tokens",
            "4",
            "--out",
            out.to_str().unwrap(),
        ];
        let o = labelcast(&args);
        assert!(o.status.success(), "labelcast {args:?} failed: {}", String::from_utf8_lossy(&o.stderr));
        std::fs::read(out).unwrap()
    };
    // The template only in chat_template.jinja: the same prompts, so the same scores.
    let want = score(&root().join(TINY), "scores-config.csv");
    assert_eq!(score(&jinja_folder("jinja-only", template, false), "scores-jinja.csv"), want);

    // chat_template.jinja wins over tokenizer_config.json's template: a broken one is an
    // error naming it, a different one changes the scores.
    let broken = jinja_folder("jinja-broken", "{% for m in messages %}", true);
    let out = tmp("scores-broken.csv");
    let o = labelcast(&[
        "score",
        "--model",
        broken.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("chat_template.jinja"), "{err}");
    let other = jinja_folder("jinja-other", &format!("Answer briefly.\n{template}"), true);
    assert_ne!(score(&other, "scores-other.csv"), want);
}

/// A chat template is code from the model file: one that loops without end or prints
/// gigabytes is refused when the model loads, within seconds, naming the file and the limit
/// (issue 13; before, the loop ran until killed and the print grew the process to 11 GB).
#[test]
fn hostile_chat_templates_are_refused_fast() {
    let data = path("tests/data/pool.csv");
    let cases = [
        ("jinja-loop", "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", "steps"),
        ("jinja-print", "{% for i in range(100000) %}{{ 'x' * 100000 }}{% endfor %}", "printed more than"),
    ];
    for (name, jinja, limit) in cases {
        let dir = jinja_folder(name, jinja, true);
        let out = tmp(&format!("{name}.csv"));
        let t0 = std::time::Instant::now();
        let o =
            labelcast(&["score", "--model", dir.to_str().unwrap(), "--data", &data, "--out", out.to_str().unwrap()]);
        let took = t0.elapsed();
        assert_eq!(o.status.code(), Some(2), "{name}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("chat_template.jinja") && err.contains(limit), "{name}: {err}");
        assert!(took < std::time::Duration::from_secs(20), "{name}: refused after {took:?}");
        assert!(!out.exists(), "{name}: nothing written");
    }
}

/// A prompt longer than the context (512 tokens here) is cut by default, scored on its
/// beginning and marked; with --long-prompts fail the job stops naming the row by its line and id.
#[test]
fn a_prompt_longer_than_the_context_is_cut_or_named() {
    let data = tmp("long.csv");
    let long = "the quick brown fox jumps over the lazy dog ".repeat(300);
    std::fs::write(&data, format!("id,prompt\nq1,What is 2+2?\nq2,{long}\nq3,Capital of France?\n")).unwrap();
    let out = tmp("long-scores.csv");
    let model = path(TINY);
    // `score` of the long pool into `out` with 4 new tokens, then `extra`.
    let score = |extra: &[&str]| {
        let mut args =
            vec!["score", "--model", &model, "--data", data.to_str().unwrap(), "--out", out.to_str().unwrap()];
        args.extend_from_slice(&["--max-new-tokens", "4"]);
        args.extend_from_slice(extra);
        labelcast(&args)
    };
    let o = score(&["--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!((v["rows"].as_u64(), v["cut"].as_u64()), (Some(3), Some(1)));
    let t = read_table("out", &std::fs::read(&out).unwrap(), &ReadOptions::default()).unwrap();
    let cut = t.column("cut").unwrap();
    assert_eq!((t.get(0, cut), t.get(2, cut)), ("", ""));
    let note = t.get(1, cut);
    let kept: usize = note.rsplit(' ').nth(1).unwrap().parse().unwrap();
    assert!(note.starts_with("cut from ") && kept <= 512 - 4 && kept > 400, "{note}");
    assert!(t.get(1, t.column("avg_confidence").unwrap()).parse::<f64>().is_ok(), "the cut row is scored");
    assert!(t.column("skipped").is_err(), "no skipped column when nothing was skipped");

    // --long-prompts skip: the row has no scores, says why, and selection leaves it out.
    let o = score(&["--long-prompts", "skip", "--embeddings", "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!((v["rows"].as_u64(), v["cut"].as_u64(), v["skipped"].as_u64()), (Some(3), Some(0), Some(1)));
    assert_eq!(v["no_tokens"].as_u64(), Some(0), "a skipped row is not counted as one with no tokens");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("1 prompts were longer") && err.contains("skipped") && err.contains("line 3 (id q2)"),
        "{err}"
    );
    let t = read_table("out", &std::fs::read(&out).unwrap(), &ReadOptions::default()).unwrap();
    let (skipped, conf) = (t.column("skipped").unwrap(), t.column("avg_confidence").unwrap());
    assert_eq!((t.get(0, skipped), t.get(2, skipped)), ("", ""));
    assert!(t.get(1, skipped).ends_with("tokens, longer than the model's context"), "{}", t.get(1, skipped));
    assert_eq!(t.get(1, conf), "");
    assert!(t.get(0, conf).parse::<f64>().is_ok() && t.get(2, conf).parse::<f64>().is_ok());
    for strategy in ["mean-entropy", "k-center"] {
        let picked = tmp(&format!("long-picked-{strategy}.csv"));
        let o = labelcast(&[
            "select",
            "--scores",
            out.to_str().unwrap(),
            "--strategy",
            strategy,
            "--k",
            "2",
            "--out",
            picked.to_str().unwrap(),
            "--json",
        ]);
        assert!(o.status.success(), "{strategy}: {}", String::from_utf8_lossy(&o.stderr));
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        let mut lines: Vec<u64> = v["lines"].as_array().unwrap().iter().map(|l| l.as_u64().unwrap()).collect();
        lines.sort();
        assert_eq!(lines, [2, 4], "{strategy}: the skipped row (line 3) is never picked");
        assert!(String::from_utf8_lossy(&o.stderr).contains("1 rows were skipped at scoring"), "{strategy}");
    }

    let o = score(&["--long-prompts", "fail"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("long.csv, line 3 (id q2)") && err.contains("longer than the model's context of 512"),
        "{err}"
    );

    // Nothing to cut when the system message alone fills the context: named, not a panic.
    let sys = tmp("long-system.csv");
    std::fs::write(&sys, format!("id,system,prompt\nq1,{long},What is 2+2?\n")).unwrap();
    let o = labelcast(&["score", "--model", &model, "--data", sys.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("long-system.csv, line 2 (id q1): even with its text cut to nothing"), "{err}");
}

/// An example longer than the context (512 tokens here) has its prompt cut from the end by
/// default, its answer kept whole, and the run says so; with --long-examples fail, or when the
/// answer alone overflows, the error names the row by its line and id.
#[test]
fn an_example_longer_than_the_context_is_cut_or_named() {
    let long = "the quick brown fox jumps over the lazy dog ".repeat(300);
    let data = tmp("long-examples.csv");
    std::fs::write(&data, format!("id,prompt,answer\nq1,What is 2+2?,4\nq2,{long},fox\nq3,Capital of France?,Paris\n"))
        .unwrap();
    let model = path(TINY);
    let run = |extra: &[&str]| {
        let mut args = vec!["coslow", "--model", &model, "--data", data.to_str().unwrap(), "--rank", "4"];
        args.extend_from_slice(extra);
        labelcast(&args)
    };
    let o = run(&["--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!((v["examples"].as_u64(), v["cut"].as_u64()), (Some(3), Some(1)));
    assert!(v["coslow"].as_f64().unwrap().is_finite());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("1 examples were longer than the model's context of 512") && err.contains("line 3 (id q2)"),
        "{err}"
    );

    // --long-examples skip: CoS-Low compares the two others and names the one left out.
    let o = run(&["--long-examples", "skip", "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!((v["examples"].as_u64(), v["pairs"].as_u64()), (Some(2), Some(1)));
    assert_eq!((v["cut"].as_u64(), v["skipped"].as_u64()), (Some(0), Some(1)));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("were left out: CoS-Low compares the other 2") && err.contains("line 3 (id q2)"), "{err}");

    let o = run(&["--long-examples", "fail"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("long-examples.csv, line 3 (id q2)") && err.contains("longer than the model's context of 512"),
        "{err}"
    );

    // The answer is never cut: one that fills the context alone is named, not a panic.
    std::fs::write(&data, format!("id,prompt,answer\nq1,What is 2+2?,4\nq2,Say it,{long}\n")).unwrap();
    let o = run(&[]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("long-examples.csv, line 3 (id q2): even with its prompt cut to nothing"), "{err}");
}

/// --instruction is the system message of rows whose file gives none: a pool without a system
/// column scored with it gives the same numbers as the pool with the instruction in a column;
/// a row's own system cell wins.
#[test]
fn the_task_instruction_is_the_system_message_of_rows_without_one() {
    let plain = tmp("instr-plain.csv");
    std::fs::write(&plain, "id,prompt,answer\nq1,What is 2+2?,4\nq2,Capital of France?,Paris\n").unwrap();
    let column = tmp("instr-column.csv");
    std::fs::write(
        &column,
        "id,system,prompt,answer\nq1,Answer in one word.,What is 2+2?,4\nq2,,Capital of France?,Paris\n",
    )
    .unwrap();
    let model = path(TINY);
    let score = |data: &Path, extra: &[&str]| -> Vec<String> {
        let out = tmp("instr-scores.csv");
        let mut args = vec!["score", "--model", &model, "--data", data.to_str().unwrap(), "--max-new-tokens", "3"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--out", out.to_str().unwrap()]);
        let o = labelcast(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let t = read_table("out", &std::fs::read(&out).unwrap(), &ReadOptions::default()).unwrap();
        let c = t.column("avg_confidence").unwrap();
        (0..t.rows.len()).map(|r| t.get(r, c).to_string()).collect()
    };
    let none = score(&plain, &[]);
    let given = score(&plain, &["--instruction", "Answer in one word."]);
    assert_ne!(none, given, "the instruction reaches the model");
    // Row 1's cell says the same as the instruction; row 2's is empty, so the instruction fills it.
    let both = score(&column, &["--instruction", "Answer in one word."]);
    assert_eq!(both, given);
    // Batched with prompts of other lengths, a row's numbers move in the 7th digit.
    let close = |a: &str, b: &str| (a.parse::<f64>().unwrap() - b.parse::<f64>().unwrap()).abs() < 1e-5;
    let cell_only = score(&column, &[]);
    assert!(close(&cell_only[0], &given[0]) && close(&cell_only[1], &none[1]), "{cell_only:?} {given:?} {none:?}");
    assert!(!close(&given[0], &none[0]));

    let coslow = |data: &Path, extra: &[&str]| -> f64 {
        let mut args = vec!["coslow", "--model", &model, "--data", data.to_str().unwrap(), "--rank", "4", "--json"];
        args.extend_from_slice(extra);
        ok_json(&args)["coslow"].as_f64().unwrap()
    };
    let with = coslow(&plain, &["--instruction", "Answer in one word."]);
    assert_eq!(with, coslow(&column, &["--instruction", "Answer in one word."]));
    assert_ne!(with, coslow(&plain, &[]));
}

/// Gradients larger than --budget are count-sketched, and the run says how much error that
/// adds; the sketched CoS-Low lies within a few of those standard deviations of the exact one.
#[test]
fn a_sketched_coslow_states_its_added_error_and_keeps_to_it() {
    let data = tmp("sketch.csv");
    let rows: String = (0..8).map(|i| format!("q{i},What is {i} plus {i}?,{}\n", 2 * i)).collect();
    std::fs::write(&data, format!("id,prompt,answer\n{rows}")).unwrap();
    let model = path(TINY);
    let run = |extra: &[&str]| {
        let mut args = vec!["coslow", "--model", &model, "--data", data.to_str().unwrap(), "--rank", "4", "--json"];
        args.extend_from_slice(extra);
        let o = labelcast(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        (v, String::from_utf8_lossy(&o.stderr).to_string())
    };
    let (exact, err) = run(&[]);
    assert!(exact["sketch_sd"].is_null() && !err.contains("count-sketch"), "{err}");
    // tiny-llama's rank-4 LoRA-B gradient has 4,096 floats: a budget of 1,024 sketches it.
    let (sketched, err) = run(&["--budget", "1024"]);
    let sd = sketched["sketch_sd"].as_f64().expect("a sketched run states its error");
    assert!(err.contains("count-sketches of 1024 buckets") && err.contains("one standard deviation"), "{err}");
    assert!(sd > 0.0 && sd <= 1.0 / 32.0 + 1e-12, "at most 1/√1024: {sd}");
    let diff = (sketched["coslow"].as_f64().unwrap() - exact["coslow"].as_f64().unwrap()).abs();
    assert!(diff > 0.0 && diff < 4.0 * sd, "the sketch moved CoS-Low by {diff}, against ±{sd} stated");
}
