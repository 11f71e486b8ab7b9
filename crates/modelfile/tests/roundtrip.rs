//! Tiny models written by `labelcast_modelfile::testing` and read back: every tensor type,
//! every metadata value type, llama Q/K un-permutation, qwen2 biases, safetensors shards, and
//! the errors for models that do not fit the layout.

use labelcast_modelfile::testing::{
    config_json, encode, micro_config, random_weights, tiny_config, write_gguf, write_safetensors, GgufWriter,
    NamedTensor,
};
use labelcast_modelfile::{Architecture, Array, Format, ModelFile, ModelFileError, TensorType, Value};

fn values(m: &ModelFile, name: &str) -> Vec<f32> {
    m.tensor_f32(name).unwrap().flatten_all().unwrap().to_vec1().unwrap()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// Worst-case error of each type on values in [-0.5, 0.5) (half a quantization step, with room).
fn tolerance(ty: TensorType) -> f32 {
    match ty {
        TensorType::F32 => 0.0,
        TensorType::F16 => 5e-4,
        TensorType::BF16 => 4e-3,
        TensorType::Q8_0 => 5e-3,
        TensorType::Q6K => 2e-2,
        TensorType::Q5K => 4e-2,
        TensorType::Q4_0 | TensorType::Q4_1 | TensorType::Q4K => 8e-2,
    }
}

/// The exact f32 values a tensor of `ty` decodes to: encode, then decode through a one-tensor
/// GGUF file (so the check covers our decoding, and candle's quantization is the reference).
fn decoded(ty: TensorType, dims: &[usize], v: &[f32]) -> Vec<f32> {
    let mut w = GgufWriter::new();
    w.kv("general.architecture", Value::String("llama".into()));
    w.tensor("x", ty, dims, v).unwrap();
    let f = labelcast_modelfile::gguf::GgufFile::parse("one", &w.to_bytes()).unwrap();
    let bytes = w.to_bytes();
    let t = &f.tensors[0];
    labelcast_modelfile::dtype::to_f32_tensor("x", ty, dims, &bytes[t.data.start as usize..t.data.end as usize])
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap()
}

#[test]
fn every_tensor_type_round_trips_with_unpermuted_q_and_k() {
    let c = tiny_config(Architecture::Llama);
    let weights = random_weights(&c, 1);
    for ty in TensorType::ALL {
        let file = write_gguf(&c, &weights, |_| ty).unwrap();
        let m = ModelFile::from_gguf("tiny.gguf", file).unwrap();
        assert_eq!(m.config, c, "{ty}");
        assert_eq!(m.format(), Format::Gguf { version: 3 });
        for (name, dims, v) in &weights {
            let got = values(&m, name);
            assert_eq!(m.dims(name), Some(dims.as_slice()), "{name}");
            assert_eq!(m.tensor_type(name).unwrap(), ty);
            let err = max_abs_diff(&got, v);
            assert!(err <= tolerance(ty), "{ty} {name}: max error {err}");
            if ty.is_quantized() {
                assert!(err > 0.0, "{ty} {name}: quantization should lose something");
            }
            // Quantization works within rows, so un-permuting after quantizing must equal
            // quantizing the Hugging Face rows: exact equality, for values and for raw bytes.
            assert_eq!(got, decoded(ty, dims, v), "{ty} {name}");
            let raw = m.raw(name).unwrap();
            assert_eq!(raw.ggml_type, ty);
            assert_eq!(raw.dims, dims.as_slice());
            assert_eq!(raw.bytes.as_ref(), encode(ty, dims, v).unwrap().as_slice(), "{ty} {name} raw");
            let permuted = name.contains("q_proj") || name.contains("k_proj");
            assert_eq!(raw.file_range.is_none(), permuted, "{name}");
        }
    }
}

#[test]
fn gguf_q_and_k_are_stored_permuted() {
    // Guards the test above against a writer and loader that both skip the permutation.
    let c = tiny_config(Architecture::Llama);
    let weights = random_weights(&c, 2);
    let file = write_gguf(&c, &weights, |_| TensorType::F32).unwrap();
    let parsed = labelcast_modelfile::gguf::GgufFile::parse("t", &file).unwrap();
    let q = parsed.tensor("blk.0.attn_q.weight").unwrap();
    let stored: Vec<f32> = file[q.data.start as usize..q.data.end as usize]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    let hf = &weights.iter().find(|w| w.0 == "model.layers.0.self_attn.q_proj.weight").unwrap().2;
    let row = |v: &[f32], r: usize| v[r * 256..(r + 1) * 256].to_vec();
    // Row 1 of the file is Hugging Face row 32 (head 0, second half, j = 0).
    assert_eq!(row(&stored, 1), row(hf, 32));
    assert_eq!(row(&stored, 2), row(hf, 1));
    let m = ModelFile::from_gguf("t", file).unwrap();
    assert_eq!(values(&m, "model.layers.0.self_attn.q_proj.weight"), *hf);
}

#[test]
fn qwen2_keeps_rows_and_biases_and_untied_head() {
    let mut c = tiny_config(Architecture::Qwen2);
    c.tie_word_embeddings = false;
    let weights = random_weights(&c, 3);
    assert!(weights.iter().any(|w| w.0 == "model.layers.1.self_attn.k_proj.bias"));
    assert!(weights.iter().any(|w| w.0 == "lm_head.weight"));
    let m = ModelFile::from_gguf("qwen.gguf", write_gguf(&c, &weights, |_| TensorType::F32).unwrap()).unwrap();
    assert_eq!(m.config, c);
    for (name, _, v) in &weights {
        assert_eq!(&values(&m, name), v, "{name}");
        assert!(m.raw(name).unwrap().file_range.is_some());
    }
}

#[test]
fn head_dim_from_key_length_and_gguf_v2() {
    let mut c = micro_config(Architecture::Llama);
    c.head_dim = 32; // 2 heads of 32 > hidden 32: needs attention.key_length
    let weights = random_weights(&c, 4);
    let mut file = write_gguf(&c, &weights, |_| TensorType::Q8_0).unwrap();
    file[4] = 2; // version 2 has the same layout for everything we write
    let m = ModelFile::from_gguf("v2.gguf", file).unwrap();
    assert_eq!(m.config, c);
    assert_eq!(m.format(), Format::Gguf { version: 2 });
}

#[test]
fn metadata_of_every_value_type() {
    let nested = Array::Array(vec![Array::U8(vec![1, 2]), Array::Array(vec![Array::String(vec!["deep".into()])])]);
    let kvs = vec![
        ("u8", Value::U8(200)),
        ("i8", Value::I8(-5)),
        ("u16", Value::U16(60000)),
        ("i16", Value::I16(-30000)),
        ("u32", Value::U32(4_000_000_000)),
        ("i32", Value::I32(-7)),
        ("f32", Value::F32(1e-5)),
        ("bool", Value::Bool(true)),
        ("str", Value::String("héllo".into())),
        ("u64", Value::U64(u64::MAX)),
        ("i64", Value::I64(i64::MIN)),
        ("f64", Value::F64(0.25)),
        ("strs", Value::Array(Array::String(vec!["a".into(), "".into(), "ü".into()]))),
        ("i32s", Value::Array(Array::I32(vec![1, -2, 3]))),
        ("f32s", Value::Array(Array::F32(vec![0.5, -1.5]))),
        ("u32s", Value::Array(Array::U32(vec![7, 8]))),
        ("bools", Value::Array(Array::Bool(vec![true, false]))),
        ("f64s", Value::Array(Array::F64(vec![2.5]))),
        ("i64s", Value::Array(Array::I64(vec![-1]))),
        ("u64s", Value::Array(Array::U64(vec![1 << 40]))),
        ("i8s", Value::Array(Array::I8(vec![-1, 1]))),
        ("u16s", Value::Array(Array::U16(vec![65535]))),
        ("i16s", Value::Array(Array::I16(vec![-32768]))),
        ("empty", Value::Array(Array::U32(vec![]))),
        ("nested", Value::Array(nested.clone())),
    ];
    let mut w = GgufWriter::new();
    for (k, v) in &kvs {
        w.kv(k, v.clone());
    }
    let f = labelcast_modelfile::gguf::GgufFile::parse("meta.gguf", &w.to_bytes()).unwrap();
    let md = &f.metadata;
    let read: Vec<(&str, &Value)> = md.iter().collect();
    assert_eq!(read, kvs.iter().map(|(k, v)| (*k, v)).collect::<Vec<_>>());

    assert_eq!(md.get_u32("u8").unwrap(), 200);
    assert_eq!(md.get_i32("i16").unwrap(), -30000);
    assert_eq!(md.get_u32("u32").unwrap(), 4_000_000_000);
    assert_eq!(md.get_u64("u64").unwrap(), u64::MAX);
    assert_eq!(md.get_f64("f32").unwrap(), 1e-5, "f32 read through its shortest decimal");
    assert_eq!(md.get_f64("u16").unwrap(), 60000.0);
    assert!(md.get_bool("bool").unwrap());
    assert_eq!(md.get_str("str").unwrap(), "héllo");
    assert_eq!(md.get_string_array("strs").unwrap(), ["a", "", "ü"]);
    assert_eq!(md.get_i32_array("i32s").unwrap(), [1, -2, 3]);
    assert_eq!(md.get_f32_array("f32s").unwrap(), [0.5, -1.5]);
    assert_eq!(md.get_int_array("u32s").unwrap(), [7, 8]);
    assert_eq!(md.get_string_array("empty").unwrap(), [] as [String; 0]);
    assert_eq!(md.get_array("nested").unwrap(), &nested);
    assert_eq!(md.opt_str("absent").unwrap(), None);

    let msg = md.get_u32("i32").unwrap_err().to_string();
    assert!(msg.contains("meta.gguf") && msg.contains("i32") && msg.contains("-7"), "{msg}");
    assert!(matches!(md.get_u32("i64"), Err(ModelFileError::MetadataType { .. })));
    assert!(matches!(md.get_str("u8"), Err(ModelFileError::MetadataType { .. })));
    assert!(matches!(md.get_string_array("i32s"), Err(ModelFileError::MetadataType { .. })));
    let msg = md.get_str("absent").unwrap_err().to_string();
    assert_eq!(msg, "meta.gguf: missing metadata key absent");
}

#[test]
fn safetensors_shards_give_the_same_model() {
    let c = tiny_config(Architecture::Qwen2);
    let weights = random_weights(&c, 5);
    let (a, b) = weights.split_at(weights.len() / 2);
    for ty in [TensorType::F32, TensorType::F16, TensorType::BF16] {
        let shards = vec![
            ("model-00001-of-00002.safetensors", write_safetensors(a, ty).unwrap()),
            ("model-00002-of-00002.safetensors", write_safetensors(b, ty).unwrap()),
        ];
        let m = ModelFile::from_safetensors("tiny", shards, &config_json(&c)).unwrap();
        assert_eq!(m.config, c);
        assert_eq!(m.format(), Format::Safetensors { shards: 2 });
        assert!(m.gguf_metadata().is_none());
        assert_eq!(m.config_json().unwrap()["model_type"], "qwen2");
        for (name, dims, v) in &weights {
            let err = max_abs_diff(&values(&m, name), v);
            assert!(err <= tolerance(ty), "{ty} {name}: {err}");
            assert_eq!(m.raw(name).unwrap().bytes.as_ref(), encode(ty, dims, v).unwrap().as_slice());
        }
    }
    // Llama safetensors are not permuted: values come back as written.
    let c = tiny_config(Architecture::Llama);
    let weights = random_weights(&c, 6);
    let m = ModelFile::from_safetensors(
        "l",
        [("m.safetensors", write_safetensors(&weights, TensorType::F32).unwrap())],
        &config_json(&c),
    )
    .unwrap();
    for (name, _, v) in &weights {
        assert_eq!(&values(&m, name), v, "{name}");
    }
}

#[test]
fn config_json_variants() {
    let c = tiny_config(Architecture::Llama);
    let weights = random_weights(&c, 7);
    let st = || [("m.safetensors", write_safetensors(&weights, TensorType::F32).unwrap())];
    let mut json: serde_json::Value = serde_json::from_str(&config_json(&c)).unwrap();
    json["model_type"] = "mistral".into();
    json.as_object_mut().unwrap().remove("head_dim");
    json.as_object_mut().unwrap().remove("num_key_value_heads");
    let m = ModelFile::from_safetensors("mistral", st(), &json.to_string());
    // Without num_key_value_heads every head has its own KV: k_proj is the wrong shape.
    assert!(
        matches!(m, Err(ModelFileError::ShapeMismatch { ref name, .. }) if name.ends_with("k_proj.weight")),
        "{m:?}"
    );
    json["num_key_value_heads"] = 2.into();
    json["head_dim"] = serde_json::Value::Null;
    let m = ModelFile::from_safetensors("mistral", st(), &json.to_string()).unwrap();
    assert_eq!(m.config, c);

    json["model_type"] = "gpt2".into();
    let e = ModelFile::from_safetensors("x", st(), &json.to_string()).unwrap_err();
    assert!(matches!(e, ModelFileError::UnsupportedArchitecture(ref a) if a == "gpt2"), "{e}");
    json["model_type"] = "llama".into();
    json["rope_scaling"] = serde_json::json!({"rope_type": "llama3", "factor": 32.0});
    let e = ModelFile::from_safetensors("x", st(), &json.to_string()).unwrap_err();
    assert!(e.to_string().contains("rope_scaling"), "{e}");
    json["rope_scaling"] = serde_json::Value::Null;
    json["tie_word_embeddings"] = false.into();
    let e = ModelFile::from_safetensors("x", st(), &json.to_string()).unwrap_err();
    assert!(matches!(e, ModelFileError::MissingTensor(ref n) if n == "lm_head.weight"), "{e}");
    let e = ModelFile::from_safetensors("x", st(), "{\"model_type\": \"llama\"}").unwrap_err();
    assert!(e.to_string().contains("x/config.json") && e.to_string().contains("hidden_size"), "{e}");
    let e = ModelFile::from_safetensors("x", st(), "not json").unwrap_err();
    assert!(matches!(e, ModelFileError::Corrupt { .. }), "{e}");
    let twice = [st()[0].clone(), st()[0].clone()];
    let e = ModelFile::from_safetensors("x", twice, &config_json(&c)).unwrap_err();
    assert!(e.to_string().contains("appears twice"), "{e}");
    let none: [(&str, Vec<u8>); 0] = [];
    assert!(ModelFile::from_safetensors("x", none, &config_json(&c)).is_err());
}

fn without(weights: &[NamedTensor], name: &str) -> Vec<NamedTensor> {
    weights.iter().filter(|w| w.0 != name).cloned().collect()
}

#[test]
fn models_that_do_not_fit_the_layout() {
    let c = micro_config(Architecture::Llama);
    let weights = random_weights(&c, 8);
    let gguf = |w: &[NamedTensor]| write_gguf(&c, w, |_| TensorType::F32).unwrap();

    let e = ModelFile::from_gguf("m", gguf(&without(&weights, "model.layers.0.mlp.up_proj.weight"))).unwrap_err();
    assert_eq!(e.to_string(), "missing tensor model.layers.0.mlp.up_proj.weight");

    let mut bad = weights.clone();
    let up = bad.iter_mut().find(|w| w.0 == "model.layers.0.mlp.up_proj.weight").unwrap();
    up.1 = vec![32, 64];
    let e = ModelFile::from_gguf("m", gguf(&bad)).unwrap_err();
    assert_eq!(e.to_string(), "tensor model.layers.0.mlp.up_proj.weight: expected shape [64, 32], found [32, 64]");

    // A needed tensor in a type we cannot compute with (Q5_0 = 6, 22 bytes per 32 elements).
    let mut w = GgufWriter::new();
    let base = ModelFile::from_gguf("m", gguf(&weights)).unwrap();
    for (k, v) in base.gguf_metadata().unwrap().iter() {
        w.kv(k, v.clone());
    }
    for name in base.names() {
        let raw = base.raw(name).unwrap();
        let dims: Vec<u64> = raw.dims.iter().rev().map(|&d| d as u64).collect();
        if name == "model.norm.weight" {
            w.raw_tensor(raw.source_name, 6, &dims, vec![0; 22]);
        } else {
            w.raw_tensor(raw.source_name, 0, &dims, raw.bytes.to_vec());
        }
    }
    let e = ModelFile::from_gguf("m", w.to_bytes()).unwrap_err();
    assert!(
        matches!(e, ModelFileError::UnsupportedTensorType { ref name, ref dtype } if name == "model.norm.weight" && dtype == "Q5_0"),
        "{e}"
    );

    // Architecture and hyper-parameters come from metadata.
    let with_kv = |key: &str, v: Value| {
        let mut w = GgufWriter::new();
        for (k, old) in base.gguf_metadata().unwrap().iter() {
            w.kv(k, if k == key { v.clone() } else { old.clone() });
        }
        for name in base.names() {
            let raw = base.raw(name).unwrap();
            let dims: Vec<u64> = raw.dims.iter().rev().map(|&d| d as u64).collect();
            w.raw_tensor(raw.source_name, 0, &dims, raw.bytes.to_vec());
        }
        ModelFile::from_gguf("m.gguf", w.to_bytes())
    };
    let e = with_kv("general.architecture", Value::String("gpt2".into())).unwrap_err();
    assert_eq!(e.to_string(), "unsupported architecture \"gpt2\" (supported: llama, mistral, qwen2)");
    let e = with_kv("llama.block_count", Value::U64(1 << 40)).unwrap_err();
    assert!(matches!(e, ModelFileError::Config(_)), "{e}");
    let e = with_kv("llama.block_count", Value::U32(2)).unwrap_err();
    assert!(matches!(e, ModelFileError::MissingTensor(ref n) if n.starts_with("model.layers.1.")), "{e}");
    let e = with_kv("llama.attention.head_count", Value::U32(0)).unwrap_err();
    assert!(matches!(e, ModelFileError::Config(_)), "{e}");
    let e = with_kv("llama.attention.head_count", Value::String("2".into())).unwrap_err();
    assert_eq!(
        e.to_string(),
        "m.gguf: metadata key llama.attention.head_count: expected a non-negative integer, found string"
    );
    let e = with_kv("llama.attention.layer_norm_rms_epsilon", Value::F32(-1.0)).unwrap_err();
    assert!(matches!(e, ModelFileError::Config(_)), "{e}");
    let e = with_kv("general.architecture", Value::U32(1)).unwrap_err();
    assert!(matches!(e, ModelFileError::MetadataType { .. }), "{e}");
}
