//! The tiny reference models (tests/reference/models: llama, llama3 rope scaling, mistral's
//! sliding window, qwen2), loaded from their safetensors bytes onto the GPU backend and the
//! CPU backend as a user's model would be: confidence scores of real prompts and CoS-Low of
//! real labeled examples must agree within the 2e-3.
//!
//! One body, two runs: natively (`cargo test -p labelcast-engine --test gpu_reference`, on
//! lavapipe in CI) and in headless Chromium's WebGPU (`--target wasm32-unknown-unknown`, with
//! wasm-bindgen-test-runner; scripts/test.sh). The model files are compiled in, since a test
//! in the browser has no filesystem.

use labelcast_core::table::{read_table, ReadOptions, Table};
use labelcast_engine::model::HfText;
use labelcast_engine::{Engine, Example, Gpu, LoraOptions, Prompt, ScoreOptions};

/// The limit for avg_confidence and CoS-Low between the backends.
const LIMIT: f64 = 2e-3;

struct TinyModel {
    name: &'static str,
    config: &'static str,
    weights: &'static [u8],
    tokenizer: &'static [u8],
    tokenizer_config: &'static [u8],
}

macro_rules! tiny_model {
    ($name:literal) => {
        TinyModel {
            name: $name,
            config: include_str!(concat!("../../../tests/reference/models/", $name, "/config.json")),
            weights: include_bytes!(concat!("../../../tests/reference/models/", $name, "/model.safetensors")),
            tokenizer: include_bytes!(concat!("../../../tests/reference/models/", $name, "/tokenizer.json")),
            tokenizer_config: include_bytes!(concat!(
                "../../../tests/reference/models/",
                $name,
                "/tokenizer_config.json"
            )),
        }
    };
}

const MODELS: [TinyModel; 4] =
    [tiny_model!("tiny-llama"), tiny_model!("tiny-llama3"), tiny_model!("tiny-mistral"), tiny_model!("tiny-qwen2")];

/// `eprintln!` natively; the browser console in wasm32 (the runner shows it with --nocapture).
macro_rules! report {
    ($($t:tt)*) => {{
        #[cfg(not(target_arch = "wasm32"))]
        eprintln!($($t)*);
        #[cfg(target_arch = "wasm32")]
        wasm_bindgen_test::console_log!($($t)*);
    }};
}

fn labeled() -> Table {
    let bytes = include_bytes!("../../../tests/data/labeled.csv");
    read_table("labeled.csv", bytes, &ReadOptions::default()).unwrap()
}

/// Largest |CPU − GPU| differences of one model.
#[derive(Debug, Default)]
struct Diffs {
    avg_confidence: f64,
    coslow: f64,
    cosine: f64,
}

async fn compare(m: &TinyModel, gpu: Gpu) -> Diffs {
    let shards = || vec![("model.safetensors".to_string(), m.weights.to_vec())];
    let text = HfText { tokenizer_config_json: Some(m.tokenizer_config), ..HfText::new(m.tokenizer) };
    let cpu = Engine::from_safetensors(m.name, shards(), m.config, text).unwrap();
    let g = Engine::from_safetensors_gpu(gpu, m.name, shards(), m.config, text).unwrap();
    let t = labeled();
    let (pc, ac) = (t.roles.prompt.unwrap(), t.roles.answer.unwrap());
    let mut d = Diffs::default();

    // Confidence of 8 real prompts, 12 greedy tokens each, in batches of 3 (padding included).
    let prompts: Vec<Prompt> = (0..8).map(|r| Prompt::from(t.get(r, pc))).collect();
    let opts = ScoreOptions { max_new_tokens: 12, batch_size: 3, ..Default::default() };
    let a = cpu.score(&prompts, &opts, |_| {}).await.unwrap();
    let b = g.score(&prompts, &opts, |_| {}).await.unwrap();
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        assert_eq!(x.generated_ids, y.generated_ids, "{}: prompt {i} generates other tokens", m.name);
        let (x, y) = (x.stats.avg_confidence.unwrap(), y.stats.avg_confidence.unwrap());
        d.avg_confidence = d.avg_confidence.max((x - y).abs());
    }

    // CoS-Low (LoRA variant, as the page computes it) of 10 labeled examples.
    let ex: Vec<Example> =
        (0..10).map(|r| Example { system: None, prompt: t.get(r, pc).into(), answer: t.get(r, ac).into() }).collect();
    let opts = LoraOptions { pack_tokens: 128, ..Default::default() };
    let x = cpu.coslow(&ex, &opts, |_| {}).await.unwrap();
    let y = g.coslow(&ex, &opts, |_| {}).await.unwrap();
    d.coslow = (x.coslow - y.coslow).abs();
    d.cosine =
        x.cosines.iter().flatten().zip(y.cosines.iter().flatten()).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    report!(
        "{}: CoS-Low cpu {:.6} gpu {:.6}; max diffs: avg_confidence {:.2e}, CoS-Low {:.2e}, cosine {:.2e}",
        m.name,
        x.coslow,
        y.coslow,
        d.avg_confidence,
        d.coslow,
        d.cosine
    );
    assert!(d.avg_confidence <= LIMIT, "{}: avg_confidence differs by {:.3e}", m.name, d.avg_confidence);
    assert!(d.coslow <= LIMIT, "{}: CoS-Low cpu {} gpu {}", m.name, x.coslow, y.coslow);
    assert!(d.cosine <= LIMIT, "{}: a cosine differs by {:.3e}", m.name, d.cosine);
    d
}

#[cfg(not(target_arch = "wasm32"))]
#[test]
fn reference_models_gpu_matches_cpu() {
    use labelcast_gpu::testing::{block_on, test_gpu};
    for m in &MODELS {
        let Some(gpu) = test_gpu() else { return };
        block_on(compare(m, gpu));
    }
}

#[cfg(target_arch = "wasm32")]
mod browser {
    use wasm_bindgen_test::*;
    wasm_bindgen_test_configure!(run_in_browser);

    #[wasm_bindgen_test]
    async fn reference_models_gpu_matches_cpu() {
        for m in &super::MODELS {
            let gpu = labelcast_gpu::testing::test_gpu_async().await;
            super::compare(m, gpu).await;
        }
    }
}
