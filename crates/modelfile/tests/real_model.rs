//! The real default model, SmolLM2-135M-Instruct (Q4_1 weights, Q8_0 embeddings), against
//! numbers from llama.cpp's Python `gguf` reader (tests/reference/modelfile/gguf_reference.py).
//! Needs the model file: LABELCAST_SMOLLM2_GGUF, or models/SmolLM2-135M-Instruct.Q4_1.gguf
//! as fetched by scripts/fetch-model.sh. Fails (does not skip) without it.

use labelcast_modelfile::{Architecture, ModelFile, TensorType};
use std::path::PathBuf;
use std::sync::OnceLock;

fn model() -> &'static ModelFile {
    static MODEL: OnceLock<ModelFile> = OnceLock::new();
    MODEL.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        let path = std::env::var_os("LABELCAST_SMOLLM2_GGUF")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("models/SmolLM2-135M-Instruct.Q4_1.gguf"));
        let bytes = std::fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "cannot read the model {} ({e}): run scripts/fetch-model.sh (or set LABELCAST_SMOLLM2_GGUF)",
                path.display()
            )
        });
        ModelFile::from_gguf("SmolLM2-135M-Instruct.Q4_1.gguf", bytes).unwrap()
    })
}

fn reference() -> serde_json::Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/reference/modelfile/smollm2_tensors.json");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

#[test]
fn config_of_smollm2() {
    let m = model();
    let c = &m.config;
    println!("config read from the real file: {c:#?}");
    assert_eq!(c.arch, Architecture::Llama);
    assert_eq!(
        (c.hidden_size, c.num_layers, c.num_heads, c.num_kv_heads, c.head_dim, c.intermediate_size, c.vocab_size),
        (576, 30, 9, 3, 64, 1536, 49152)
    );
    assert_eq!(c.rope_theta, 100_000.0);
    assert_eq!(c.rms_norm_eps, 1e-5);
    assert_eq!(c.max_position_embeddings, 8192);
    assert!(c.tie_word_embeddings);
    assert!(!m.contains("lm_head.weight"));
    assert_eq!(m.names().count(), 272);
}

#[test]
fn tokenizer_metadata_is_typed() {
    let md = model().gguf_metadata().unwrap();
    assert_eq!(md.get_str("tokenizer.ggml.model").unwrap(), "gpt2");
    let tokens = md.get_string_array("tokenizer.ggml.tokens").unwrap();
    assert_eq!(tokens.len(), 49152);
    assert_eq!(md.get_i32_array("tokenizer.ggml.token_type").unwrap().len(), 49152);
    assert_eq!(md.get_string_array("tokenizer.ggml.merges").unwrap().len(), 48900);
    assert_eq!(md.get_u32("tokenizer.ggml.bos_token_id").unwrap(), 1);
    assert_eq!(md.get_u32("tokenizer.ggml.eos_token_id").unwrap(), 2);
    assert_eq!(tokens[2], "<|im_end|>");
    assert!(md.get_str("tokenizer.chat_template").unwrap().starts_with("{% for message in messages %}"));
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1.0)
}

#[test]
fn dequantized_tensors_match_gguf_py() {
    let m = model();
    let reference = reference();
    let tensors = reference["tensors"].as_array().unwrap();
    let mut types = std::collections::BTreeSet::new();
    for r in tensors {
        let name = r["hf_name"].as_str().unwrap();
        let ty = m.tensor_type(name).unwrap();
        assert_eq!(ty.name(), r["type"].as_str().unwrap(), "{name}");
        types.insert(ty.name());
        let t = m.tensor_f32(name).unwrap();
        let shape: Vec<usize> = r["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect();
        assert_eq!(t.dims(), shape.as_slice(), "{name}");
        let flat: Vec<f32> = t.flatten_all().unwrap().to_vec1().unwrap();
        let sum: f64 = flat.iter().map(|&x| f64::from(x)).sum();
        let sum_sq: f64 = flat.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
        let (want_sum, want_sq) = (r["sum"].as_f64().unwrap(), r["sum_sq"].as_f64().unwrap());
        assert!(close(sum, want_sum, 1e-9), "{name}: sum {sum} vs {want_sum}");
        assert!(close(sum_sq, want_sq, 1e-9), "{name}: sum of squares {sum_sq} vs {want_sq}");
        let first: Vec<f64> = r["first16"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        for (i, (&got, &want)) in flat.iter().zip(&first).enumerate() {
            assert!(close(got.into(), want, 1e-6), "{name}[{i}]: {got} vs {want}");
        }
        // Whole rows in Hugging Face order: for q/k this checks the un-permutation against
        // transformers' reverse_permute_weights applied to gguf-py's dequantization.
        if let Some(rows) = r.get("rows").and_then(|v| v.as_object()) {
            let cols = shape[1];
            for (row, want) in rows {
                let row: usize = row.parse().unwrap();
                for (j, w) in want.as_array().unwrap().iter().enumerate() {
                    let got = flat[row * cols + j];
                    assert!(close(got.into(), w.as_f64().unwrap(), 1e-6), "{name}[{row}, {j}]: {got} vs {w}");
                }
            }
        }
    }
    assert_eq!(types.into_iter().collect::<Vec<_>>(), ["F32", "Q4_1", "Q8_0"]);
}

#[test]
fn raw_blocks_are_what_the_file_holds() {
    let m = model();
    let embed = m.raw("model.embed_tokens.weight").unwrap();
    assert_eq!((embed.ggml_type, embed.dims), (TensorType::Q8_0, &[49152usize, 576][..]));
    assert_eq!(embed.bytes.len(), 49152 * 576 / 32 * 34);
    let (shard, range) = embed.file_range.clone().unwrap();
    assert_eq!(m.file_bytes()[shard].read("m", range).unwrap().as_ref(), embed.bytes.as_ref());

    // Decoding the raw (row-reordered) q blocks gives the un-permuted f32 tensor.
    let name = "model.layers.3.self_attn.q_proj.weight";
    let raw = m.raw(name).unwrap();
    assert_eq!((raw.ggml_type, raw.source_name), (TensorType::Q4_1, "blk.3.attn_q.weight"));
    assert!(raw.file_range.is_none());
    let from_raw = labelcast_modelfile::dtype::to_f32_tensor(name, raw.ggml_type, raw.dims, &raw.bytes).unwrap();
    let direct = m.tensor_f32(name).unwrap();
    let diff = (from_raw - direct).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
    assert_eq!(diff, 0.0);
}
