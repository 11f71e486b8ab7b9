//! A GGUF read range by range (as the browser's worker reads a model too large for its memory)
//! loads onto the GPU tensor by tensor and scores exactly as the same file held in memory; the
//! GPU memory stated before loading is what the upload takes.

use std::ops::Range;
use std::sync::Arc;

use labelcast_engine::backend::gpu::gpu_weight_bytes;
use labelcast_engine::infer::ScoreOptions;
use labelcast_engine::model::{cpu_bytes, parse_gguf, parse_gguf_source, ByteSource};
use labelcast_engine::{AnyEngine, BackendChoice, Prompt};
use labelcast_gpu::testing::{block_on, test_gpu};
use labelcast_modelfile::gguf::GgufFile;
use labelcast_modelfile::synth::{self, Quant};
use labelcast_modelfile::TensorType;

/// A file read range by range (the tiny file's header read covers all of it: what is read
/// after it, tensor by tensor, is labelcast-modelfile's tests/streamed.rs).
struct Ranges(Vec<u8>);

impl ByteSource for Ranges {
    fn len(&self) -> u64 {
        self.0.len() as u64
    }
    fn read(&self, r: Range<u64>) -> Result<Vec<u8>, String> {
        Ok(self.0[r.start as usize..r.end as usize].to_vec())
    }
}

#[test]
fn a_streamed_gguf_scores_on_the_gpu_as_the_file_in_memory() {
    if test_gpu().is_none() {
        return;
    }
    // SmolLM2's shapes cut to 2 layers, random Q8_0 weights, its real tokenizer and template.
    let path = std::env::var("LABELCAST_SMOLLM2_GGUF").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../models/SmolLM2-135M-Instruct.Q4_1.gguf").into()
    });
    let real = std::fs::read(&path).unwrap();
    let kvs: Vec<_> =
        GgufFile::parse(&path, &real).unwrap().metadata.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    let mut c = synth::config("smollm2-135m-instruct").unwrap();
    c.num_layers = 2;
    let mut bytes = Vec::new();
    synth::write(&c, Quant::Uniform(TensorType::Q8_0), &kvs, 5, &mut bytes, |_, _| {}).unwrap();
    let (streamed, text) = parse_gguf_source("s.gguf", Arc::new(Ranges(bytes.clone()))).unwrap();
    let (held, held_text) = parse_gguf("s.gguf", bytes.clone()).unwrap();
    assert_eq!(gpu_weight_bytes(&streamed).unwrap(), gpu_weight_bytes(&held).unwrap());
    assert_eq!(cpu_bytes(&streamed).unwrap(), cpu_bytes(&held).unwrap());
    // Q8_0 blocks are repacked from 34 to 36 bytes on the GPU; norms stay f32.
    assert!(gpu_weight_bytes(&held).unwrap() > held.stored_bytes());

    let prompts: Vec<Prompt> = ["What is the capital of France?", "Name a color."].map(Prompt::from).to_vec();
    let opts = ScoreOptions { max_new_tokens: 4, ..Default::default() };
    let score = |file, text| {
        let e = block_on(AnyEngine::from_model_file(file, text, BackendChoice::Gpu, &mut |_| {})).unwrap();
        block_on(e.score(&prompts, &opts, |_| {})).unwrap()
    };
    let a = score(streamed, text);
    let b = score(held, held_text);
    for (a, b) in a.iter().zip(&b) {
        assert_eq!(a.generated_ids, b.generated_ids);
        assert!(!a.generated_ids.is_empty());
        assert_eq!(a.stats.avg_confidence, b.stats.avg_confidence);
    }
}
