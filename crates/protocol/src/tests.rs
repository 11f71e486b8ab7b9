use super::*;

#[test]
fn adapter_summary_skips_empty_parts() {
    let a = AdapterInfo { vendor: "google".into(), architecture: "swiftshader".into(), ..AdapterInfo::default() };
    assert_eq!(a.summary(), "google · swiftshader");
    assert!(AdapterInfo::default().summary().contains("does not describe"));
}

#[test]
fn software_adapters_are_recognised() {
    let swiftshader =
        AdapterInfo { vendor: "google".into(), architecture: "swiftshader".into(), ..AdapterInfo::default() };
    assert!(swiftshader.is_software());
    let flagged = AdapterInfo { vendor: "mesa".into(), fallback: true, ..AdapterInfo::default() };
    assert!(flagged.is_software());
    let nvidia = AdapterInfo { vendor: "nvidia".into(), architecture: "hopper".into(), ..AdapterInfo::default() };
    assert!(!nvidia.is_software());
}

#[test]
fn load_without_a_backend_means_auto() {
    let r: Request = serde_json::from_str(r#"{"kind":"load","name":"m.gguf"}"#).unwrap();
    assert_eq!(r, Request::Load { name: "m.gguf".into(), backend: BackendChoice::Auto, files: ModelFiles::Gguf });
    let r: Request = serde_json::from_str(r#"{"kind":"load","name":"m","backend":"webgpu"}"#).unwrap();
    assert_eq!(r, Request::Load { name: "m".into(), backend: BackendChoice::Gpu, files: ModelFiles::Gguf });
}

#[test]
fn the_backend_in_use_keeps_its_wire_name() {
    let info = BackendInfo { backend: BackendKind::Gpu, adapter: None, reason: "r".into(), workers: 1 };
    let json = serde_json::to_string(&Reply::Backend { backend: info.clone() }).unwrap();
    assert!(json.contains(r#""backend":{"backend":"webgpu""#), "{json}");
    let old = r#"{"kind":"ready","backend":{"backend":"cpu","adapter":null,"reason":"r"}}"#;
    let cpu = BackendInfo { backend: BackendKind::Cpu, ..info };
    assert_eq!(serde_json::from_str::<Reply>(old).unwrap(), Reply::Ready { backend: cpu });
}

#[test]
fn a_score_row_keeps_its_fields_at_the_top_level() {
    let stats = Scores { avg_confidence: Some(0.5), min_margin: Some(0.0), ..Scores::default() };
    let row = ScoreRow { stats, generated: "yes".into(), embedding: vec![0.25], cut: Some((9, 8)), skipped: None };
    let json = serde_json::to_value(&row).unwrap();
    let keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
    let mut want = Scores::COLUMNS.to_vec();
    want.extend(["generated", "embedding", "cut", "skipped"]);
    assert_eq!(keys, want);
    assert_eq!(json["ppl"], serde_json::Value::Null);
    let reply = Reply::ScoresPart { job: 1, rows: vec![Some(row), None] };
    let back: Reply = serde_json::from_str(&serde_json::to_string(&reply).unwrap()).unwrap();
    assert_eq!(back, reply);
    // As sessions saved it: no cut or skipped, an integral statistic.
    let old = r#"{"avg_confidence":1,"ppl":null,"mean_entropy":0.5,"least_confidence":null,
        "mean_margin":null,"min_margin":null,"generated":"","embedding":[]}"#;
    let old: ScoreRow = serde_json::from_str(old).unwrap();
    assert_eq!(old.stats, Scores { avg_confidence: Some(1.0), mean_entropy: Some(0.5), ..Scores::default() });
}

/// Core's Prompt and Example travel with their fields beside the row's name, as before
/// they were core's.
#[test]
fn prompts_and_examples_keep_their_fields_at_the_top_level() {
    let p = PromptIn { prompt: Prompt { system: Some("Be brief.".into()), text: "2+2?".into() }, name: None };
    assert_eq!(serde_json::to_value(&p).unwrap(), serde_json::json!({"system": "Be brief.", "text": "2+2?"}));
    let old = r#"{"system":null,"prompt":"2+2?","answer":"4","name":"line 2"}"#;
    let e: ExampleIn = serde_json::from_str(old).unwrap();
    let want = Example { system: None, prompt: "2+2?".into(), answer: "4".into() };
    assert_eq!((e.example, e.name.as_deref()), (want, Some("line 2")));
}

#[test]
fn cancel_round_trips_with_its_job() {
    let r: Request = serde_json::from_str(r#"{"kind":"cancel","job":7}"#).unwrap();
    assert_eq!(r, Request::Cancel { job: 7 });
    assert_eq!(serde_json::to_string(&Reply::Cancelled { job: 7 }).unwrap(), r#"{"kind":"cancelled","job":7}"#);
}

#[test]
fn safetensors_loads_name_their_blobs() {
    let shards = vec!["a.safetensors".into(), "b.safetensors".into()];
    let files = ModelFiles::Safetensors { shards, tokenizer_config: true, chat_template: true };
    assert_eq!(files.blob_count(), 6);
    let r = Request::Load { name: "m".into(), backend: BackendChoice::Cpu, files: files.clone() };
    let json = serde_json::to_string(&r).unwrap();
    assert!(json.contains(r#""format":"safetensors""#), "{json}");
    assert_eq!(serde_json::from_str::<Request>(&json).unwrap(), r);
    let one = ModelFiles::Safetensors { shards: vec!["a".into()], tokenizer_config: false, chat_template: false };
    assert_eq!(one.blob_count(), 3);
    // A page from before chat_template.jinja was sent leaves the field out.
    let old = r#"{"format":"safetensors","shards":["a"],"tokenizer_config":true}"#;
    let old: ModelFiles = serde_json::from_str(old).unwrap();
    assert_eq!(old, ModelFiles::Safetensors { shards: vec!["a".into()], tokenizer_config: true, chat_template: false });
    assert_eq!(ModelFiles::Gguf.blob_count(), 1);
}

#[test]
fn coslow_from_an_older_worker_or_session_has_no_gram() {
    let old = r#"{"coslow":0.5,"cosines":[[1.0]],"pairs":0,"examples":1,"losses":[1.0],"seconds":2.0}"#;
    let r: CosLowOut = serde_json::from_str(old).unwrap();
    assert!(r.gram.is_empty() && r.answer_tokens.is_empty() && r.cut.is_empty());
    assert_eq!(r.workers, 1, "a result saved before the pool split CoS-Low came from one worker");
    let new = CosLowOut { gram: vec![vec![4.0]], answer_tokens: vec![3], cut: vec![Some((9000, 8192))], ..r };
    let back: CosLowOut = serde_json::from_str(&serde_json::to_string(&new).unwrap()).unwrap();
    assert_eq!(back, new);
}

#[test]
fn hub_ids_are_kept_and_local_paths_cut_to_their_last_part() {
    assert_eq!(
        name_from_hf_path("HuggingFaceTB/SmolLM2-135M-Instruct").as_deref(),
        Some("HuggingFaceTB/SmolLM2-135M-Instruct")
    );
    assert_eq!(name_from_hf_path("/home/me/models/Llama-3.1-8B-Instruct/").as_deref(), Some("Llama-3.1-8B-Instruct"));
    assert_eq!(name_from_hf_path("./out/checkpoint-500").as_deref(), Some("checkpoint-500"));
    assert_eq!(name_from_hf_path(r"C:\models\qwen").as_deref(), Some("qwen"));
    assert_eq!(name_from_hf_path("gpt2").as_deref(), Some("gpt2"));
    assert_eq!(name_from_hf_path("  "), None);
}
