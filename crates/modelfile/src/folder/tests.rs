use serde_json::Value;

use super::checks::{check_safetensors, renumber, shard_number};
use super::*;

/// A safetensors file's bytes: header `{name: {dtype F32, shape [n], data_offsets}}` + data.
fn safetensors(tensors: &[(&str, usize)]) -> Vec<u8> {
    let mut header = serde_json::Map::new();
    let mut at = 0;
    for (name, n) in tensors {
        header.insert(
            name.to_string(),
            serde_json::json!({"dtype": "F32", "shape": [n], "data_offsets": [at, at + 4 * n]}),
        );
        at += 4 * n;
    }
    let header = serde_json::to_vec(&Value::Object(header)).unwrap();
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend(header);
    out.extend(vec![0u8; at]);
    out
}

fn file(name: &str, bytes: Vec<u8>) -> Picked {
    Picked { name: name.into(), size: bytes.len() as f64, path: Vec::new(), bytes }
}

const CONFIG: &str = r#"{"model_type": "llama", "hidden_size": 64, "_name_or_path": "x/y"}"#;
const TOKENIZER: &str = r#"{"version": "1.0", "added_tokens": [], "model": {"type": "BPE"}}"#;
const TOK_CONFIG: &str = r#"{"chat_template": "{{ x }}", "tokenizer_class": "PreTrainedTokenizerFast"}"#;

fn set(extra: Vec<Picked>) -> Vec<Picked> {
    let mut v = vec![
        file("model.safetensors", safetensors(&[("a", 2)])),
        file("config.json", CONFIG.into()),
        file("tokenizer.json", TOKENIZER.into()),
        file("tokenizer_config.json", TOK_CONFIG.into()),
    ];
    v.extend(extra);
    v
}

fn err(files: &[Picked]) -> String {
    classify(files).expect_err("should be refused").0
}

#[test]
fn a_complete_set_is_a_safetensors_model() {
    let c = classify(&set(vec![file("README.md", Vec::new()), file("generation_config.json", Vec::new())])).unwrap();
    assert_eq!(
        c.set,
        ModelSet::Safetensors(SafetensorsSet {
            shards: vec![0],
            config: 1,
            tokenizer: 2,
            tokenizer_config: Some(3),
            chat_template: None
        })
    );
    assert_eq!(c.name, "model.safetensors");
    assert_eq!(c.notes, vec!["Not used: README.md and generation_config.json.".to_string()]);
}

#[test]
fn a_folder_names_the_model_and_its_subfolders_are_left_out() {
    let mut files = set(vec![file("consolidated.00.pth", Vec::new())]);
    for f in &mut files {
        f.path = vec!["Llama-3.1-8B-Instruct".into()];
    }
    files[4].path.push("original".into());
    let c = classify(&files).unwrap();
    assert_eq!(c.name, "Llama-3.1-8B-Instruct");
    assert_eq!(c.notes, vec!["1 file in subfolders not used.".to_string()]);
}

#[test]
fn missing_files_are_named_in_one_message() {
    let e = err(&[file("model.safetensors", safetensors(&[("a", 1)])), file("tokenizer.json", TOKENIZER.into())]);
    assert!(e.starts_with("config.json is missing: a safetensors model needs"), "{e}");
    let e = err(&[file("config.json", CONFIG.into())]);
    assert!(e.starts_with("No .safetensors file; tokenizer.json is missing: "), "{e}");
    let e = err(&[
        file("pytorch_model.bin", vec![1]),
        file("config.json", CONFIG.into()),
        file("tokenizer.json", TOKENIZER.into()),
    ]);
    assert!(e.contains("pytorch_model.bin cannot be read here"), "{e}");
    let e = err(&[file("notes.txt", vec![1])]);
    assert!(e.contains("(not used: notes.txt)"), "{e}");
}

#[test]
fn without_a_chat_template_the_set_loads_with_a_note_on_the_chat_template() {
    let mut files = set(Vec::new());
    files.remove(3);
    let c = classify(&files).unwrap();
    assert!(matches!(c.set, ModelSet::Safetensors(SafetensorsSet { tokenizer_config: None, chat_template: None, .. })));
    assert!(
        c.notes[0].starts_with(
            "No tokenizer_config.json or chat_template.jinja: the model has no chat template, so score with \"Raw\""
        ),
        "{:?}",
        c.notes
    );
    let mut files = set(Vec::new());
    files[3] = file("tokenizer_config.json", br#"{"tokenizer_class": "X"}"#.to_vec());
    let c = classify(&files).unwrap();
    assert!(
        c.notes[0].starts_with("tokenizer_config.json has no \"chat_template\" and there is no chat_template.jinja: the model has no chat template, so score with \"Raw\""),
        "{:?}",
        c.notes
    );
    assert!(classify(&set(Vec::new())).unwrap().notes.is_empty());
}

#[test]
fn chat_template_jinja_is_used() {
    // Newer transformers: the template in its own file, none in tokenizer_config.json.
    let mut files = set(vec![file("chat_template.jinja", b"{{ x }}".to_vec()), file("README.md", Vec::new())]);
    files[3] = file("tokenizer_config.json", br#"{"tokenizer_class": "X"}"#.to_vec());
    let c = classify(&files).unwrap();
    assert_eq!(
        c.set,
        ModelSet::Safetensors(SafetensorsSet {
            shards: vec![0],
            config: 1,
            tokenizer: 2,
            tokenizer_config: Some(3),
            chat_template: Some(4)
        })
    );
    assert_eq!(c.notes, vec!["Not used: README.md.".to_string()]);
    // With a template in tokenizer_config.json too (the worker prefers the .jinja), and
    // without tokenizer_config.json: no note either way.
    let c = classify(&set(vec![file("Chat_Template.jinja", b"{{ x }}".to_vec())])).unwrap();
    assert!(matches!(c.set, ModelSet::Safetensors(SafetensorsSet { chat_template: Some(4), .. })));
    assert!(c.notes.is_empty(), "{:?}", c.notes);
    let mut files = set(vec![file("chat_template.jinja", b"{{ x }}".to_vec())]);
    files.remove(3);
    let c = classify(&files).unwrap();
    assert!(matches!(
        c.set,
        ModelSet::Safetensors(SafetensorsSet { tokenizer_config: None, chat_template: Some(3), .. })
    ));
    assert!(c.notes.is_empty(), "{:?}", c.notes);
}

#[test]
fn chat_template_jinja_is_checked_and_kept_once() {
    let e = err(&set(vec![file("chat_template.jinja", b"{{ x }}\xff".to_vec())]));
    assert!(e.starts_with("chat_template.jinja is not valid UTF-8 text"), "{e}");
    let mut files = set(vec![file("chat_template.jinja", b"a".to_vec())]);
    files.push(files[4].clone());
    let e = err(&files);
    assert!(
        e.starts_with("chat_template.jinja and chat_template.jinja were chosen as chat_template.jinja: keep one"),
        "{e}"
    );
}

#[test]
fn duplicates_are_named() {
    let e = err(&set(vec![file("config (1).json", CONFIG.into())]));
    assert!(e.starts_with("config.json and config (1).json were chosen as config.json: keep one"), "{e}");
    let mut files = set(Vec::new());
    files.push(files[0].clone());
    assert!(err(&files).contains("model.safetensors is there twice"));
}

#[test]
fn json_files_of_other_names_are_recognised_by_their_fields() {
    let files = vec![
        file("model.safetensors", safetensors(&[("a", 1)])),
        file("config (2).json", CONFIG.into()),
        file("tokenizer (1).json", TOKENIZER.into()),
    ];
    let c = classify(&files).unwrap();
    assert_eq!(
        c.set,
        ModelSet::Safetensors(SafetensorsSet {
            shards: vec![0],
            config: 1,
            tokenizer: 2,
            tokenizer_config: None,
            chat_template: None
        })
    );
}

#[test]
fn wrong_contents_are_named_with_the_file() {
    let mut files = set(Vec::new());
    files[0] = file("model.safetensors", b"hello, this is not a model at all".to_vec());
    assert!(err(&files).starts_with("model.safetensors is not a safetensors file: its first 8 bytes announce"));
    files[0] = file("model.safetensors", b"version https://git-lfs.github.com/spec/v1\noid sha256:ab".to_vec());
    assert!(err(&files).contains("Git LFS pointer"));
    let mut st = safetensors(&[("a", 4)]);
    st.truncate(st.len() - 3);
    files[0] = file("model.safetensors", st);
    assert!(err(&files).starts_with("model.safetensors is cut short"), "{}", err(&files));
    let mut files = set(Vec::new());
    files[1] = file("config.json", b"{\"hidden_size\": 1,".to_vec());
    assert!(err(&files).starts_with("config.json is not JSON: "), "{}", err(&files));
    files[1] = file("config.json", b"{\"hidden_size\": 1}".to_vec());
    assert!(err(&files).starts_with("config.json is not a config.json: it has no \"model_type\" field"));
    let mut files = set(Vec::new());
    files[2] = file("tokenizer.json", b"\x00\x01binary".to_vec());
    assert!(err(&files).starts_with("tokenizer.json is not a tokenizer"));
}

#[test]
fn safetensors_headers_are_checked_without_panicking_on_any_bytes() {
    let empty = safetensors(&[]);
    assert_eq!(check_safetensors("m", empty.len() as f64, &empty), Ok(()));
    let good = safetensors(&[("w", 3)]);
    assert_eq!(check_safetensors("m", good.len() as f64, &good), Ok(()));
    // Extra bytes after the tensors: not a file safetensors writes.
    assert!(check_safetensors("m", good.len() as f64 + 1.0, &good).is_err());
    for bytes in [
        &b""[..],
        b"\xff\xff\xff\xff\xff\xff\xff\xff",
        b"\x02\0\0\0\0\0\0\0[]",
        b"\x02\0\0\0\0\0\0\0\xff\xfe",
        b"<!doctype html>",
    ] {
        assert!(check_safetensors("m", bytes.len() as f64, bytes).is_err(), "{bytes:?}");
    }
}

#[test]
fn one_gguf_is_a_gguf_model_and_mixtures_are_refused() {
    let c = classify(&[file("m.gguf", b"GGUF".to_vec()), file("README.md", Vec::new())]).unwrap();
    assert_eq!((c.set, c.name.as_str()), (ModelSet::Gguf(0), "m.gguf"));
    assert_eq!(c.notes, vec!["The other 1 file is not used with a .gguf model.".to_string()]);
    let e = err(&[file("a.gguf", b"GGUF".to_vec()), file("b.gguf", b"GGUF".to_vec())]);
    assert_eq!(e, "2 .gguf files were chosen (a.gguf and b.gguf): choose one");
    assert!(err(&set(vec![file("m.gguf", b"GGUF".to_vec())])).contains("choose either one .gguf file or"));
    assert!(err(&[file("m.gguf", b"PK\x03\x04".to_vec())]).contains("does not start with \"GGUF\""));
    assert_eq!(err(&[]), "no files to load a model from");
}

fn shard(k: u32, n: u32) -> Picked {
    file(&format!("model-{k:05}-of-{n:05}.safetensors"), safetensors(&[(&format!("t{k}"), 1)]))
}

fn index(shards: &[&str]) -> Picked {
    let map: serde_json::Map<String, Value> =
        shards.iter().enumerate().map(|(i, s)| (format!("t{i}"), Value::String(s.to_string()))).collect();
    file(
        "model.safetensors.index.json",
        serde_json::to_vec(&serde_json::json!({"metadata": {}, "weight_map": map})).unwrap(),
    )
}

#[test]
fn shards_are_sorted_and_checked_against_the_index() {
    let (a, b) = ("model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors");
    let mut files = set(vec![shard(2, 2), shard(1, 2), index(&[a, b])]);
    files.remove(0);
    let c = classify(&files).unwrap();
    let ModelSet::Safetensors(s) = &c.set else { panic!("{c:?}") };
    let names: Vec<&str> = s.shards.iter().map(|&i| files[i].name.as_str()).collect();
    assert_eq!(names, vec![a, b]);
    assert_eq!(c.name, "model-00001-of-00002.safetensors (2 shards)");

    let mut files = set(vec![shard(1, 2), index(&[a, b])]);
    files.remove(0);
    let e = err(&files);
    assert!(e.starts_with(&format!("{b} is missing (model.safetensors.index.json lists 2 shards)")), "{e}");

    // A file the index does not list (Mistral's consolidated.safetensors) is left out.
    let files = set(vec![shard(1, 1), index(&["model-00001-of-00001.safetensors"])]);
    let c = classify(&files).unwrap();
    let ModelSet::Safetensors(s) = &c.set else { panic!() };
    assert_eq!(s.shards, vec![4]);
    assert!(c.notes[0].starts_with("model.safetensors not listed"), "{:?}", c.notes);
}

#[test]
fn numbered_shards_without_an_index_must_all_be_there() {
    let mut files = set(vec![shard(1, 3)]);
    files.remove(0);
    let e = err(&files);
    assert!(
        e.starts_with("model-00002-of-00003.safetensors and model-00003-of-00003.safetensors are missing (the shards are numbered 1 to 3)"),
        "{e}"
    );
    let e = err(&set(vec![shard(1, 1)]));
    assert!(e.contains("look like two copies of the weights"), "{e}");
    assert_eq!(shard_number("m-00002-of-00003.safetensors"), Some((2, 3)));
    assert_eq!(shard_number("m-00004-of-00003.safetensors"), None);
    assert_eq!(renumber("model-00001-of-00003.safetensors", 3), "model-00003-of-00003.safetensors");
}

#[test]
fn probes_read_only_what_decides() {
    assert_eq!(probe("m.gguf", 1e9), Probe::Head(4));
    assert_eq!(probe("model-00001-of-00002.safetensors", 1e9), Probe::Head(8));
    assert_eq!(probe("tokenizer.json", 2e7), Probe::Head(64));
    assert_eq!(probe("config.json", 1e3), Probe::Whole);
    assert_eq!(probe("big.json", 1e9), Probe::Nothing);
    assert_eq!(probe("generation_config.json", 1e3), Probe::Nothing);
    assert_eq!(probe("pytorch_model.bin", 1e9), Probe::Nothing);
    assert_eq!(probe("chat_template.jinja", 1e4), Probe::Whole);
    assert_eq!(probe("chat_template.jinja", 1e9), Probe::Nothing);
}

#[test]
fn a_safetensors_head_says_how_far_its_header_goes() {
    let st = safetensors(&[("a", 2)]);
    let len = u64::from_le_bytes(st[..8].try_into().unwrap());
    assert_eq!(header_end("Model.SafeTensors", &st[..8]), Some(8 + len));
    assert_eq!(header_end("m.gguf", &st[..8]), None);
    assert_eq!(header_end("m.safetensors", &st[..7]), None);
    assert_eq!(header_end("m.safetensors", &(MAX_HEADER_BYTES + 1).to_le_bytes()), None);
    // What it says to read is what check_safetensors needs.
    assert_eq!(check_safetensors("m", st.len() as f64, &st[..8 + len as usize]), Ok(()));
}

#[test]
fn roles_come_from_names_and_only_config_and_tokenizer_are_required() {
    assert_eq!(role("Config.JSON", b""), Role::Config);
    assert_eq!(role("model.safetensors.index.json", b""), Role::Index);
    assert_eq!(role("pytorch_model.bin", b""), Role::OtherWeights);
    assert_eq!(role("generation_config.json", CONFIG.as_bytes()), Role::Unused);
    assert_eq!(role("config (1).json", CONFIG.as_bytes()), Role::Config);
    assert_eq!(role("config (1).json", b""), Role::Unused);
    let required: Vec<Role> = [
        Role::Gguf,
        Role::Shard,
        Role::Config,
        Role::Tokenizer,
        Role::TokenizerConfig,
        Role::ChatTemplate,
        Role::Index,
        Role::OtherWeights,
        Role::Unused,
    ]
    .into_iter()
    .filter(|r| r.required())
    .collect();
    assert_eq!(required, vec![Role::Config, Role::Tokenizer]);
}

#[test]
fn an_index_that_lists_no_shard_is_refused() {
    // Before, every shard was left out as unlisted and naming the model indexed an empty list.
    let e = err(&set(vec![index(&[])]));
    assert_eq!(e, "model.safetensors.index.json: \"weight_map\" lists no file");
}
