//! Hostile input: truncated, mutated, forged and non-GGUF files must give a clear error naming
//! the file, never a panic or a huge allocation.

use labelcast_modelfile::gguf::GgufFile;
use labelcast_modelfile::testing::{
    config_json, micro_config, random_weights, write_gguf, write_safetensors, GgufWriter,
};
use labelcast_modelfile::{Architecture, Array, ModelFile, ModelFileError, TensorType, Value};

const FILE: &str = "hostile.gguf";

/// A small valid llama file with tensors in three 32-block types and metadata of several kinds.
fn small_model() -> Vec<u8> {
    let c = micro_config(Architecture::Llama);
    let weights = random_weights(&c, 11);
    let types = [TensorType::Q4_1, TensorType::Q8_0, TensorType::F16, TensorType::F32];
    write_gguf(&c, &weights, |name| types[name.len() % types.len()]).unwrap()
}

/// Parses and, if that succeeds, touches every tensor both ways: nothing may panic.
fn exercise(bytes: Vec<u8>) -> Result<(), ModelFileError> {
    let m = ModelFile::from_gguf(FILE, bytes)?;
    for name in m.names().map(str::to_string).collect::<Vec<_>>() {
        let _ = m.tensor_f32(&name);
        let _ = m.raw(&name);
    }
    Ok(())
}

fn corrupt_why(e: ModelFileError) -> String {
    match e {
        ModelFileError::Corrupt { file, why } => {
            assert_eq!(file, FILE);
            why
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

fn truncated_why(e: ModelFileError) -> String {
    match e {
        ModelFileError::Truncated { file, why } => {
            assert_eq!(file, FILE);
            why
        }
        other => panic!("expected Truncated, got {other:?}"),
    }
}

#[test]
fn every_truncation_is_an_error() {
    let full = small_model();
    assert!(exercise(full.clone()).is_ok());
    for cut in 0..full.len() {
        match ModelFile::from_gguf(FILE, full[..cut].to_vec()) {
            Err(ModelFileError::Truncated { file, .. }) => assert_eq!(file, FILE),
            other => panic!("cut at {cut} of {}: {other:?}", full.len()),
        }
    }
}

#[test]
fn random_byte_flips_never_panic() {
    let full = small_model();
    let header_len = GgufFile::parse(FILE, &full).unwrap().data_offset as usize;
    let mut state = 0x1234_5678_9abc_def0u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let (mut ok, mut err) = (0, 0);
    for _ in 0..4000 {
        let mut bytes = full.clone();
        for _ in 0..1 + next() % 4 {
            // Mostly the header, where a flip changes structure; sometimes the data.
            let span = if next() % 4 == 0 { bytes.len() } else { header_len };
            let at = (next() % span as u64) as usize;
            bytes[at] ^= 1 << (next() % 8);
        }
        match exercise(bytes) {
            Ok(()) => ok += 1,
            Err(_) => err += 1,
        }
    }
    assert!(ok > 0 && err > 0, "ok {ok}, err {err}");
}

#[test]
fn a_renamed_text_file_is_not_gguf() {
    let why = corrupt_why(ModelFile::from_gguf(FILE, b"Hello, this is a CSV file\n1,2,3\n".to_vec()).unwrap_err());
    assert_eq!(why, "not a GGUF file (magic \"Hell\", expected \"GGUF\")");
    let why = corrupt_why(ModelFile::from_gguf(FILE, vec![0x89, b'P', b'N', b'G', 0, 0, 0, 0]).unwrap_err());
    assert!(why.contains("magic \"\\x89PNG\""), "{why}");
    let msg = ModelFile::from_gguf(FILE, b"{\"a\":1}".to_vec()).unwrap_err().to_string();
    assert!(msg.starts_with("hostile.gguf: not a valid model file: not a GGUF file"), "{msg}");
    truncated_why(ModelFile::from_gguf(FILE, Vec::new()).unwrap_err());
    truncated_why(ModelFile::from_gguf(FILE, b"GGUF".to_vec()).unwrap_err());
}

/// Header fields written by hand: magic, version, tensor count, kv count.
fn header(version: u32, n_tensors: u64, n_kv: u64) -> Vec<u8> {
    let mut v = b"GGUF".to_vec();
    v.extend(version.to_le_bytes());
    v.extend(n_tensors.to_le_bytes());
    v.extend(n_kv.to_le_bytes());
    v
}

fn kv_header(key: &str, ty: u32) -> Vec<u8> {
    let mut v = header(3, 0, 1);
    v.extend((key.len() as u64).to_le_bytes());
    v.extend(key.as_bytes());
    v.extend(ty.to_le_bytes());
    v
}

fn parse(bytes: &[u8]) -> Result<GgufFile, ModelFileError> {
    GgufFile::parse(FILE, bytes)
}

/// Trailing bytes, so that the up-front count checks (n items need at least n * minimum size
/// bytes) pass and the parser reaches the field under test.
fn padded(mut b: Vec<u8>) -> Vec<u8> {
    b.extend([0u8; 64]);
    b
}

#[test]
fn forged_lengths_and_counts() {
    // A string length of 2^60: no allocation, an error naming what was read.
    let mut b = header(3, 0, 1);
    b.extend((1u64 << 60).to_le_bytes());
    b.extend(b"abc");
    let why = truncated_why(parse(&padded(b)).unwrap_err());
    assert!(why.contains("key of 1152921504606846976 bytes") && why.contains("metadata pair 1 of 1"), "{why}");

    let mut b = kv_header("tokenizer.ggml.tokens", 9);
    b.extend(8u32.to_le_bytes());
    b.extend((1u64 << 62).to_le_bytes());
    let why = truncated_why(parse(&b).unwrap_err());
    assert!(why.contains("tokenizer.ggml.tokens") && why.contains("array length"), "{why}");

    let mut b = kv_header("x", 9);
    b.extend(10u32.to_le_bytes());
    b.extend(u64::MAX.to_le_bytes());
    truncated_why(parse(&b).unwrap_err());

    truncated_why(parse(&header(3, 1 << 62, 0)).unwrap_err());
    truncated_why(parse(&header(3, 0, u64::MAX)).unwrap_err());
    truncated_why(parse(&header(3, u64::MAX, u64::MAX)).unwrap_err());
}

#[test]
fn forged_structure() {
    assert!(corrupt_why(parse(&header(1, 0, 0)).unwrap_err()).contains("version 1"));
    assert!(corrupt_why(parse(&header(7, 0, 0)).unwrap_err()).contains("version 7"));
    assert!(corrupt_why(parse(&header(3u32.swap_bytes(), 0, 0)).unwrap_err()).contains("big-endian"));
    assert!(parse(&header(2, 0, 0)).is_ok() && parse(&header(3, 0, 0)).is_ok());

    let why = corrupt_why(parse(&padded(kv_header("k", 13))).unwrap_err());
    assert_eq!(why, "metadata key k: unknown value type 13");
    let mut b = kv_header("k", 9);
    b.extend(99u32.to_le_bytes());
    assert!(corrupt_why(parse(&padded(b)).unwrap_err()).contains("unknown array element type 99"));

    // Arrays nested 100 deep: refused before recursing far.
    let mut b = kv_header("deep", 9);
    for _ in 0..100 {
        b.extend(9u32.to_le_bytes());
        b.extend(1u64.to_le_bytes());
    }
    assert!(corrupt_why(parse(&b).unwrap_err()).contains("nested"));

    let mut b = header(3, 0, 1);
    b.extend(2u64.to_le_bytes());
    b.extend([0xff, 0xfe]);
    assert!(corrupt_why(parse(&padded(b)).unwrap_err()).contains("not UTF-8"));

    let mut w = GgufWriter::new();
    w.kv("a", Value::U8(1)).kv("a", Value::U8(2));
    assert!(corrupt_why(parse(&w.to_bytes()).unwrap_err()).contains("appears twice"));

    for bad in [Value::U32(0), Value::U32(3), Value::String("32".into()), Value::U64(1 << 40)] {
        let mut w = GgufWriter::new();
        w.kv("general.alignment", bad);
        assert!(corrupt_why(parse(&w.to_bytes()).unwrap_err()).contains("general.alignment"));
    }
    let mut w = GgufWriter::new();
    w.kv("general.alignment", Value::U32(64)).raw_tensor("t", 0, &[4], vec![0; 16]);
    let f = parse(&w.to_bytes()).unwrap();
    assert_eq!((f.alignment, f.data_offset % 64), (64, 0));
    assert_eq!(f.tensors[0].data, f.data_offset..f.data_offset + 16);
}

fn one_tensor(ty: u32, dims: &[u64], data: Vec<u8>) -> Vec<u8> {
    let mut w = GgufWriter::new();
    w.kv("general.architecture", Value::String("llama".into()));
    w.raw_tensor("blk.0.attn_q.weight", ty, dims, data);
    w.to_bytes()
}

#[test]
fn forged_tensor_infos() {
    let why = truncated_why(parse(&one_tensor(0, &[4, 4], vec![0; 60])).unwrap_err());
    assert!(why.contains("tensor blk.0.attn_q.weight data") && why.contains("past the end"), "{why}");
    assert!(parse(&one_tensor(0, &[4, 4], vec![0; 64])).is_ok());

    let why = corrupt_why(parse(&one_tensor(0, &[1 << 32, 1 << 32, 1 << 32], vec![])).unwrap_err());
    assert!(why.contains("overflow"), "{why}");
    let why = corrupt_why(parse(&one_tensor(0, &[1, 2, 3, 4, 5], vec![])).unwrap_err());
    assert!(why.contains("5 dimensions"), "{why}");
    let why = corrupt_why(parse(&one_tensor(99, &[4], vec![0; 16])).unwrap_err());
    assert!(why.contains("unknown tensor type id 99"), "{why}");
    // Q4_1 rows must be whole 32-element blocks.
    let why = corrupt_why(parse(&one_tensor(3, &[16, 2], vec![0; 20])).unwrap_err());
    assert!(why.contains("not a multiple of the Q4_1 block size 32"), "{why}");

    // Offsets: misaligned, and pointing far past the end.
    let mut b = one_tensor(0, &[4], vec![0; 16]);
    // The offset field follows the name, n_dims (4), one dim (8) and the type (4).
    let name = b"blk.0.attn_q.weight";
    let info_end = b.windows(name.len()).position(|w| w == name).unwrap() + name.len() + 4 + 8 + 4;
    b[info_end..info_end + 8].copy_from_slice(&3u64.to_le_bytes());
    assert!(corrupt_why(parse(&b).unwrap_err()).contains("not a multiple of the alignment"));
    b[info_end..info_end + 8].copy_from_slice(&(u64::MAX - 31).to_le_bytes());
    assert!(truncated_why(parse(&b).unwrap_err()).contains("past the end"));

    let mut w = GgufWriter::new();
    w.raw_tensor("t", 0, &[1], vec![0; 4]).raw_tensor("t", 0, &[1], vec![0; 4]);
    assert!(corrupt_why(parse(&w.to_bytes()).unwrap_err()).contains("appears twice"));

    // Two tensors pointing at the same bytes: refused, naming both.
    let mut w = GgufWriter::new();
    w.raw_tensor("a", 0, &[8], vec![0; 32]).raw_tensor("b", 0, &[8], vec![0; 32]);
    let mut b = w.to_bytes();
    let at = b.windows(1).rposition(|w| w == b"b").unwrap() + 1 + 4 + 8 + 4;
    assert_eq!(u64::from_le_bytes(b[at..at + 8].try_into().unwrap()), 32, "b's offset field");
    b[at..at + 8].copy_from_slice(&0u64.to_le_bytes());
    let why = corrupt_why(parse(&b).unwrap_err());
    assert!(why.contains("tensor b") && why.contains("overlaps tensor a"), "{why}");
}

#[test]
fn extra_llama_biases_must_split_into_heads() {
    let c = micro_config(Architecture::Llama);
    let mut weights = random_weights(&c, 13);
    weights.push(("model.layers.0.self_attn.q_proj.bias".into(), vec![3], vec![0.0; 3]));
    let e = ModelFile::from_gguf(FILE, write_gguf(&c, &weights, |_| TensorType::F32).unwrap()).unwrap_err();
    assert!(e.to_string().contains("model.layers.0.self_attn.q_proj.bias"), "{e}");
    // A bias of the right size is un-permuted like its weight.
    *weights.last_mut().unwrap() =
        ("model.layers.0.self_attn.q_proj.bias".into(), vec![32], (0..32).map(|x| x as f32).collect());
    let m = ModelFile::from_gguf(FILE, write_gguf(&c, &weights, |_| TensorType::F32).unwrap()).unwrap();
    let b = m.tensor_f32("model.layers.0.self_attn.q_proj.bias").unwrap().to_vec1::<f32>().unwrap();
    assert_eq!(b, (0..32).map(|x| x as f32).collect::<Vec<_>>());
}

#[test]
fn misaligned_buffer_still_decodes() {
    struct Shifted(Vec<u8>);
    impl AsRef<[u8]> for Shifted {
        fn as_ref(&self) -> &[u8] {
            &self.0[1..]
        }
    }
    let file = small_model();
    let aligned = ModelFile::from_gguf(FILE, file.clone()).unwrap();
    let mut shifted = vec![0u8];
    shifted.extend(&file);
    let shifted = ModelFile::from_gguf(FILE, labelcast_modelfile::SharedBytes::new(Shifted(shifted))).unwrap();
    for name in aligned.names() {
        let a = aligned.tensor_f32(name).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let b = shifted.tensor_f32(name).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(a, b, "{name}");
    }
}

#[test]
fn hostile_safetensors() {
    let c = micro_config(Architecture::Llama);
    let weights = random_weights(&c, 12);
    let st = write_safetensors(&weights, TensorType::F16).unwrap();
    let json = config_json(&c);
    assert!(ModelFile::from_safetensors("m", [("m.safetensors", st.clone())], &json).is_ok());
    for cut in (0..st.len()).step_by(7).chain([st.len() - 1]) {
        let e = ModelFile::from_safetensors("m", [("m.safetensors", st[..cut].to_vec())], &json).unwrap_err();
        assert!(e.to_string().starts_with("m.safetensors: "), "{e}");
    }
    let mut huge = (1u64 << 60).to_le_bytes().to_vec();
    huge.extend(b"{}");
    let e = ModelFile::from_safetensors("m", [("m.safetensors", huge)], &json).unwrap_err();
    assert!(e.to_string().starts_with("m.safetensors: "), "{e}");
    let e = ModelFile::from_safetensors("m", [("notes.txt", b"hello world, not a model".to_vec())], &json).unwrap_err();
    assert!(e.to_string().starts_with("notes.txt: "), "{e}");
    // An integer tensor the math needs: named with its type.
    let mut header =
        String::from("{\"model.norm.weight\":{\"dtype\":\"I32\",\"shape\":[32],\"data_offsets\":[0,128]}}");
    while header.len() % 8 != 0 {
        header.push(' ');
    }
    let mut b = (header.len() as u64).to_le_bytes().to_vec();
    b.extend(header.as_bytes());
    b.extend([0u8; 128]);
    let rest: Vec<_> = weights.into_iter().filter(|w| w.0 != "model.norm.weight").collect();
    let shards = [("a.safetensors", b), ("b.safetensors", write_safetensors(&rest, TensorType::F32).unwrap())];
    let e = ModelFile::from_safetensors("m", shards, &json).unwrap_err();
    assert!(
        matches!(e, ModelFileError::UnsupportedTensorType { ref name, ref dtype } if name == "model.norm.weight" && dtype == "I32"),
        "{e}"
    );
}

#[test]
fn every_array_type_survives_truncation() {
    let mut w = GgufWriter::new();
    w.kv("s", Value::Array(Array::String(vec!["ab".into(), "c".into()])))
        .kv("n", Value::Array(Array::Array(vec![Array::F64(vec![1.0]), Array::Bool(vec![true])])))
        .kv("i", Value::Array(Array::I16(vec![1, 2, 3])))
        // A tensor last, so that every cut (also in the padding before the data) loses data.
        .raw_tensor("t", 0, &[1], vec![0; 4]);
    let full = w.to_bytes();
    assert!(parse(&full).is_ok());
    for cut in 0..full.len() {
        truncated_why(parse(&full[..cut]).unwrap_err());
    }
}
