//! Replays the table and labels fuzz targets' findings (tests/fuzz-regressions/<target>/) and
//! seed corpora (fuzz/corpus/<target>/) through the same calls as fuzz/fuzz_targets/: each must
//! end in Ok or an error, never a panic. The model-file and text targets are replayed in
//! crates/engine/tests/fuzz_regressions.rs.

use std::path::{Path, PathBuf};

use labelcast_core::table::{read_table, Format, ReadOptions};
use labelcast_web::annotate_model::Labels;
use labelcast_web::label_fill::fill_labels;

fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dirs = [root.join("tests/fuzz-regressions").join(target), root.join("fuzz/corpus").join(target)];
    let mut found: Vec<_> = dirs
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flat_map(|entries| entries.flatten())
        .map(|e| (e.path(), std::fs::read(e.path()).unwrap()))
        .collect();
    assert!(!found.is_empty(), "no inputs for {target}");
    found.sort();
    found
}

/// As fuzz/fuzz_targets/table.rs: the first byte picks the format hint and options.
#[test]
fn table_inputs() {
    for (path, data) in inputs("table") {
        let Some((&mode, body)) = data.split_first() else { continue };
        let format = [None, Some(Format::Csv), Some(Format::Jsonl)][usize::from(mode % 3)];
        let name = if mode & 4 != 0 { "pool.tsv" } else { "pool.csv" };
        let opts = ReadOptions { format, require_prompt: mode & 8 != 0, ..ReadOptions::default() };
        if let Ok(t) = read_table(name, body, &opts) {
            let again = ReadOptions { require_prompt: false, ..ReadOptions::default() };
            let _ = read_table("again.csv", t.to_csv().as_bytes(), &again);
        }
        eprintln!("ok: {}", path.display());
    }
}

/// As fuzz/fuzz_targets/labels.rs: a fixed pool, any bytes as the labels file.
#[test]
fn labels_inputs() {
    let pool_csv =
        "id,prompt,answer\n1,What is 2+2?,4\n2,Capital of France?,\n3,\"Say \"\"hi\"\"\",hi\n4,What is 2+2?,\n";
    let pool = read_table("pool.csv", pool_csv.as_bytes(), &ReadOptions::default()).unwrap();
    for (path, data) in inputs("labels") {
        let _ = fill_labels(&pool, &Labels::default(), "labels.csv", &data);
        eprintln!("ok: {}", path.display());
    }
}
