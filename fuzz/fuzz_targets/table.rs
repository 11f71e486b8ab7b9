//! The pool parser (CSV/TSV/JSONL/JSON array): any bytes give a table or an error, never a
//! panic; the first byte picks the format hint and whether a prompt column is required.
#![no_main]
use labelcast_core::table::{read_table, Format, ReadOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, body)) = data.split_first() else { return };
    let format = match mode % 3 {
        0 => None,
        1 => Some(Format::Csv),
        _ => Some(Format::Jsonl),
    };
    let name = if mode & 4 != 0 { "pool.tsv" } else { "pool.csv" };
    let opts = ReadOptions { format, require_prompt: mode & 8 != 0, ..ReadOptions::default() };
    if let Ok(t) = read_table(name, body, &opts) {
        // Whatever was read can be written and read back.
        let _ = read_table(
            "again.csv",
            t.to_csv().as_bytes(),
            &ReadOptions { require_prompt: false, ..ReadOptions::default() },
        );
    }
});
