//! `--model` folders: the page's rule (labelcast-modelfile's folder, tested there) applied to
//! the file system, and the same bytes loaded and hashed.

use super::*;

fn tiny() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/reference/models/tiny-llama")
}

/// A fresh folder holding copies of the tiny model's `files`.
fn folder(name: &str, files: &[&str]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("labelcast-cli-folder-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    for f in files {
        fs::copy(tiny().join(f), dir.join(f)).unwrap();
    }
    dir
}

const ALL: [&str; 4] = ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"];

fn sha256_file(path: &Path) -> String {
    format!("{:x}", Sha256::digest(fs::read(path).unwrap()))
}

#[test]
fn a_missing_file_is_named_as_on_the_page() {
    let dir = folder("no-config", &["model.safetensors", "tokenizer.json"]);
    fs::write(dir.join("notes.txt"), "x").unwrap();
    let Err(e) = resolve(&dir) else { panic!("a folder without config.json was accepted") };
    assert!(matches!(e, CliError::Usage(_)), "{e:?}");
    assert_eq!(
        e.to_string(),
        format!(
            "{}: config.json is missing: a safetensors model needs its *.safetensors file(s), config.json and \
             tokenizer.json (tokenizer_config.json and chat_template.jinja too, for its chat template) \
             (not used: notes.txt).",
            dir.display()
        )
    );
    let dir = folder("empty", &[]);
    let e = resolve(&dir).err().expect("an empty folder was accepted").to_string();
    assert!(e.starts_with(&format!("{}: no files to load a model from", dir.display())), "{e}");
}

#[test]
fn shards_the_index_does_not_list_are_neither_loaded_nor_hashed() {
    let dir = folder("index", &ALL);
    // Mistral's folders: the sharded weights, their index, and a consolidated copy.
    fs::copy(tiny().join("model.safetensors"), dir.join("consolidated.safetensors")).unwrap();
    let index = serde_json::json!({"metadata": {}, "weight_map": {"lm_head.weight": "model.safetensors"}});
    fs::write(dir.join("model.safetensors.index.json"), index.to_string()).unwrap();
    fs::write(dir.join("README.md"), "# tiny").unwrap();
    let Model::Safetensors(files) = resolve(&dir).unwrap() else { panic!("not read as safetensors") };
    assert_eq!(files.shards, vec![dir.join("model.safetensors")]);
    assert_eq!(files.config, dir.join("config.json"));
    assert_eq!(files.tokenizer, dir.join("tokenizer.json"));
    assert_eq!(files.tokenizer_config, Some(dir.join("tokenizer_config.json")));
    assert_eq!(files.chat_template, None);

    let want = sha256_file(&tiny().join("model.safetensors"));
    assert_eq!(sha256_of(&dir).unwrap(), want);
    let (_, hashed) = load_hashed(&dir, BackendChoice::Cpu).unwrap();
    assert_eq!(hashed, want);
}

#[test]
fn a_folder_holding_one_gguf_is_that_gguf() {
    let dir = folder("gguf", &[]);
    let gguf = dir.join("m.gguf");
    fs::write(&gguf, b"GGUF and more").unwrap();
    fs::write(dir.join("README.md"), "# m").unwrap();
    assert!(matches!(resolve(&dir).unwrap(), Model::Gguf(p) if p == gguf));
    assert_eq!(sha256_of(&dir).unwrap(), sha256_file(&gguf));
    fs::write(dir.join("n.gguf"), b"GGUF").unwrap();
    let e = resolve(&dir).err().expect("two .gguf files were accepted").to_string();
    assert!(e.ends_with("2 .gguf files were chosen (m.gguf and n.gguf): choose one"), "{e}");
}
