//! The labels-file matcher: a fixed pool, and any bytes as the dropped labels file.
#![no_main]
use labelcast_core::table::{read_table, ReadOptions};
use labelcast_web::annotate_model::Labels;
use labelcast_web::label_fill::fill_labels;
use libfuzzer_sys::fuzz_target;

const POOL: &str =
    "id,prompt,answer\n1,What is 2+2?,4\n2,Capital of France?,\n3,\"Say \"\"hi\"\"\",hi\n4,What is 2+2?,\n";

fuzz_target!(|data: &[u8]| {
    let pool = read_table("pool.csv", POOL.as_bytes(), &ReadOptions::default()).expect("the fixed pool reads");
    let _ = fill_labels(&pool, &Labels::default(), "labels.csv", data);
});
