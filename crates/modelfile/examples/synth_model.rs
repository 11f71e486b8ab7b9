//! Writes a synthetic GGUF of a published model's real shapes (random weights, the tokenizer
//! and chat template of a real GGUF), for measuring loading, memory and speed at full size:
//!
//! ```sh
//! cargo run --release -p labelcast-modelfile --example synth_model -- \
//!     --family llama-3.1-8b-instruct --type q4_k_m \
//!     --tokenizer-from models/SmolLM2-135M-Instruct.Q4_1.gguf --out /tmp/llama-8b-synthetic.gguf
//! ```
//!
//! Families: llama-3.1-8b-instruct, mistral-7b-instruct-v0.3, qwen2.5-14b-instruct,
//! smollm2-135m-instruct. Types: q4_0 or q8_0 (every matrix; embedding and output Q8_0), or
//! q4_k_m (llama.cpp's mix of Q4_K and Q6_K). `--layers N` keeps the widths and vocabulary but only N layers (a
//! mid-size model with the full-size tensors).

use std::io::{BufWriter, Write};
use std::time::Instant;

use labelcast_modelfile::gguf::GgufFile;
use labelcast_modelfile::synth::{self, Quant};
use labelcast_modelfile::TensorType;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let usage = || -> ! {
        eprintln!(
            "usage: synth_model --family {} [--type q4_0|q8_0|q4_k_m] [--layers N] [--seed N] --tokenizer-from M.gguf --out FILE",
            synth::FAMILIES.join("|")
        );
        std::process::exit(2)
    };
    let family = flag("--family").unwrap_or_else(|| usage());
    let Some(mut config) = synth::config(&family) else { usage() };
    if let Some(n) = flag("--layers") {
        config.num_layers = n.parse().unwrap_or_else(|_| usage());
    }
    let quant = match flag("--type").as_deref() {
        None | Some("q4_0") => Quant::Uniform(TensorType::Q4_0),
        Some("q8_0") => Quant::Uniform(TensorType::Q8_0),
        Some("q4_k_m") => Quant::Q4KM,
        Some(_) => usage(),
    };
    let seed = flag("--seed").map_or(Ok(1), |s| s.parse()).unwrap_or_else(|_| usage());
    let (Some(tok), Some(out)) = (flag("--tokenizer-from"), flag("--out")) else { usage() };
    let bytes = std::fs::read(&tok).unwrap_or_else(|e| panic!("{tok}: {e}"));
    let header = GgufFile::parse(&tok, &bytes).unwrap_or_else(|e| panic!("{e}"));
    let kvs: Vec<_> = header.metadata.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    let t = Instant::now();
    let file = std::fs::File::create(&out).unwrap_or_else(|e| panic!("{out}: {e}"));
    let mut w = BufWriter::with_capacity(1 << 22, file);
    let mut shown = 0;
    let written = synth::write(&config, quant, &kvs, seed, &mut w, |i, n| {
        if i * 10 / n > shown {
            shown = i * 10 / n;
            eprint!("\r{}%", shown * 10);
        }
    })
    .and_then(|n| w.flush().map(|_| n))
    .unwrap_or_else(|e| panic!("{out}: {e}"));
    eprintln!(
        "\r{out}: {family} with {} layers, {:.2} GB, written in {:.1} s",
        config.num_layers,
        written as f64 / 1e9,
        t.elapsed().as_secs_f64()
    );
}
