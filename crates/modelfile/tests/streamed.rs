//! A GGUF read range by range (`ModelFile::from_gguf_source`, as the browser reads a model too
//! large for its memory) gives the same model as the file held in memory, while never reading
//! more than one tensor at a time.

use labelcast_modelfile::gguf::GgufFile;
use labelcast_modelfile::testing::{random_weights, tiny_config, write_gguf};
use labelcast_modelfile::{Architecture, ByteSource, ModelFile, ModelFileError, TensorType, Value};
use std::ops::Range;
use std::sync::{Arc, Mutex};

/// A file in memory that counts what is read from it.
struct Counting {
    bytes: Vec<u8>,
    reads: Mutex<Vec<Range<u64>>>,
}

impl Counting {
    fn new(bytes: Vec<u8>) -> Arc<Self> {
        Arc::new(Self { bytes, reads: Mutex::new(Vec::new()) })
    }

    fn largest_read(&self) -> u64 {
        self.reads.lock().unwrap().iter().map(|r| r.end - r.start).max().unwrap_or(0)
    }
}

impl ByteSource for Counting {
    fn len(&self) -> u64 {
        self.bytes.len() as u64
    }

    fn read(&self, range: Range<u64>) -> Result<Vec<u8>, String> {
        self.reads.lock().unwrap().push(range.clone());
        Ok(self.bytes[range.start as usize..range.end as usize].to_vec())
    }
}

fn tiny_llama(type_of: impl Fn(&str) -> TensorType) -> Vec<u8> {
    let c = tiny_config(Architecture::Llama);
    write_gguf(&c, &random_weights(&c, 7), type_of).unwrap()
}

#[test]
fn a_streamed_gguf_is_the_same_model_as_one_in_memory() {
    let bytes = tiny_llama(|n| if n.ends_with("norm.weight") { TensorType::F32 } else { TensorType::Q8_0 });
    let source = Counting::new(bytes.clone());
    let streamed = ModelFile::from_gguf_source("s.gguf", source.clone()).unwrap();
    let held = ModelFile::from_gguf("s.gguf", bytes.clone()).unwrap();
    assert!(!streamed.in_memory() && held.in_memory());
    assert_eq!(streamed.config, held.config);
    assert_eq!(streamed.gguf_metadata().unwrap().get_str("general.name").unwrap(), "tiny test model");
    assert_eq!(streamed.stored_bytes(), held.stored_bytes());
    // The header was read from a prefix of the file; no tensor yet.
    let data_offset = GgufFile::parse("s.gguf", &bytes).unwrap().data_offset;
    assert!(source.reads.lock().unwrap().iter().all(|r| r.start == 0), "only the header is read at load");
    assert!(data_offset > 0);

    let mut largest_tensor = 0;
    for name in held.names().map(str::to_string).collect::<Vec<_>>() {
        let (a, b) = (streamed.raw(&name).unwrap(), held.raw(&name).unwrap());
        assert_eq!(a.bytes, b.bytes, "{name}");
        assert_eq!(a.file_range, b.file_range, "{name}");
        largest_tensor = largest_tensor.max(b.bytes.len() as u64);
        let (fa, fb) = (streamed.tensor_f32(&name).unwrap(), held.tensor_f32(&name).unwrap());
        assert_eq!(
            fa.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            fb.flatten_all().unwrap().to_vec1::<f32>().unwrap()
        );
        // Rows in pieces, as the GPU uploads them, including the un-permuted q/k projections.
        let dims = held.dims(&name).unwrap().to_vec();
        let rows: usize = dims[..dims.len() - 1].iter().product();
        let mut joined = Vec::new();
        let mut r0 = 0;
        while r0 < rows {
            let r1 = (r0 + 3).min(rows);
            joined.extend_from_slice(&streamed.raw_rows(&name, r0..r1).unwrap());
            r0 = r1;
        }
        assert_eq!(joined, b.bytes.as_ref(), "{name} in pieces of rows");
    }
    // Reads after the header: one tensor (or less) at a time.
    let after_header: Vec<_> =
        source.reads.lock().unwrap().iter().filter(|r| r.start >= data_offset).map(|r| r.end - r.start).collect();
    assert!(!after_header.is_empty());
    assert!(after_header.iter().all(|&n| n <= largest_tensor), "{after_header:?} vs {largest_tensor}");
    let e = streamed.raw_rows("model.norm.weight", 0..2).unwrap_err().to_string();
    assert!(e.contains("rows 0..2 of 1"), "{e}");
}

#[test]
fn a_header_longer_than_the_first_read_is_read_again_longer() {
    // 20 MiB of metadata: past the 16 MiB the loader reads first.
    let c = tiny_config(Architecture::Llama);
    let mut bytes = write_gguf(&c, &random_weights(&c, 7), |_| TensorType::F32).unwrap();
    let mut w = labelcast_modelfile::testing::GgufWriter::new();
    w.kv("general.comment", Value::String("x".repeat(20 << 20)));
    // Prepend the long key to a copy of the model's own header: rebuild through the writer.
    let parsed = GgufFile::parse("m", &bytes).unwrap();
    for (k, v) in parsed.metadata.iter() {
        w.kv(k, v.clone());
    }
    for t in &parsed.tensors {
        w.raw_tensor(&t.name, t.ggml_type, &t.dims, bytes[t.data.start as usize..t.data.end as usize].to_vec());
    }
    bytes = w.to_bytes();
    let source = Counting::new(bytes.clone());
    let m = ModelFile::from_gguf_source("long.gguf", source.clone()).unwrap();
    assert_eq!(m.config, ModelFile::from_gguf("long.gguf", bytes).unwrap().config);
    let prefixes: Vec<_> = source.reads.lock().unwrap().iter().filter(|r| r.start == 0).map(|r| r.end).collect();
    assert_eq!(prefixes.len(), 2, "{prefixes:?}");
    assert!(source.largest_read() > 20 << 20);
}

#[test]
fn a_streamed_file_that_ends_early_or_fails_says_so() {
    let bytes = tiny_llama(|_| TensorType::F32);
    let short = bytes[..bytes.len() - 10].to_vec();
    let e = ModelFile::from_gguf_source("short.gguf", Counting::new(short)).unwrap_err();
    assert!(matches!(e, ModelFileError::Truncated { .. }), "{e}");

    struct Failing(u64);
    impl ByteSource for Failing {
        fn len(&self) -> u64 {
            self.0
        }
        fn read(&self, _: Range<u64>) -> Result<Vec<u8>, String> {
            Err("the file was removed".into())
        }
    }
    let e = ModelFile::from_gguf_source("gone.gguf", Arc::new(Failing(1000))).unwrap_err().to_string();
    assert_eq!(e, "gone.gguf: could not be read: the file was removed");
}

#[test]
fn streamed_safetensors_shards_are_the_same_model_as_shards_in_memory() {
    use labelcast_modelfile::testing::{config_json, write_safetensors};
    let c = tiny_config(Architecture::Qwen2);
    let w = random_weights(&c, 9);
    let (a, b) = w.split_at(w.len() / 2);
    let shards = [write_safetensors(a, TensorType::BF16).unwrap(), write_safetensors(b, TensorType::F32).unwrap()];
    let json = config_json(&c);
    let held = ModelFile::from_safetensors(
        "m",
        shards.iter().enumerate().map(|(i, s)| (format!("s{i}.safetensors"), s.clone())),
        &json,
    )
    .unwrap();
    let sources: Vec<(String, Arc<dyn ByteSource>)> = shards
        .iter()
        .enumerate()
        .map(|(i, s)| (format!("s{i}.safetensors"), Counting::new(s.clone()) as Arc<dyn ByteSource>))
        .collect();
    let streamed = ModelFile::from_safetensors_sources("m", sources, &json).unwrap();
    assert!(!streamed.in_memory());
    assert_eq!(streamed.config, held.config);
    for name in held.names().map(str::to_string).collect::<Vec<_>>() {
        assert_eq!(streamed.raw(&name).unwrap().bytes, held.raw(&name).unwrap().bytes, "{name}");
    }
    // A shard cut short, or with a header past its end, is named with the safetensors error.
    let cut = shards[0][..shards[0].len() - 4].to_vec();
    let e = ModelFile::from_safetensors_sources("m", vec![("s0.safetensors".into(), Counting::new(cut))], &json)
        .unwrap_err();
    assert!(matches!(&e, ModelFileError::Truncated { file, .. } if file == "s0.safetensors"), "{e}");
    let mut long = shards[0].clone();
    let claimed = (long.len() as u64).to_le_bytes();
    long[..8].copy_from_slice(&claimed);
    let e = ModelFile::from_safetensors_sources("m", vec![("s0.safetensors".into(), Counting::new(long))], &json)
        .unwrap_err();
    assert!(e.to_string().starts_with("s0.safetensors: file ends early"), "{e}");
}
