//! Reading the model's files (Blobs posted by the page) and turning them into the engine's
//! `ModelFile` and `ModelText` by the same rules as the CLI. Weights are never read whole into
//! the worker (a GGUF, or safetensors shards): headers are parsed from the files' first bytes
//! and each tensor read when the backend loads it (`BlobSource`), so a model larger than
//! wasm32's 4 GiB loads onto the GPU. The small text files are read whole.

use std::sync::Arc;

use js_sys::Uint8Array;
use labelcast_engine::model::{parse_gguf_source, parse_safetensors_sources, ByteSource, HfText, ModelFile, ModelText};
use labelcast_modelfile::folder::Role;
use labelcast_protocol::{name_from_hf_path, ModelFiles, Reply};
use sha2::{Digest, Sha256};
use wasm_bindgen_futures::JsFuture;
use web_sys::Blob;

use crate::blob_source::BlobSource;
use crate::error::{Result, WorkerError};
use crate::runtime::post;

/// Read in slices: `Blob.arrayBuffer()` on a whole 1 GB file would hold it twice (the
/// ArrayBuffer and its copy in wasm memory) and say nothing until done.
const SLICE_BYTES: f64 = 32.0 * 1024.0 * 1024.0;

fn mib(bytes: f64) -> String {
    format!("{:.0} MiB", bytes / (1024.0 * 1024.0))
}

/// The whole Blob (a small text file: config.json, tokenizer.json), read slice by slice into
/// one buffer of its size.
pub async fn read_blob(file: &str, blob: &Blob) -> Result<Vec<u8>> {
    let size = blob.size();
    let mut bytes = Vec::new();
    bytes
        .try_reserve_exact(size as usize)
        .map_err(|_| WorkerError::NoMemory { file: file.to_string(), size: mib(size) })?;
    each_slice(file, blob, "reading", |slice| bytes.extend_from_slice(slice)).await?;
    Ok(bytes)
}

/// The Blob's SHA-256, read a slice at a time (nothing of it kept).
async fn hash_blob(file: &str, blob: &Blob) -> Result<String> {
    let mut h = Sha256::new();
    each_slice(file, blob, "checking (SHA-256)", |slice| h.update(slice)).await?;
    Ok(format!("{:x}", h.finalize()))
}

/// Calls `f` on each slice of the Blob in order, telling the page how far `doing` has got.
async fn each_slice(file: &str, blob: &Blob, doing: &str, mut f: impl FnMut(&[u8])) -> Result<()> {
    let size = blob.size();
    let mut start = 0.0;
    while start < size {
        let end = (start + SLICE_BYTES).min(size);
        let unread = |e| WorkerError::Read { file: file.to_string(), why: format!("{e:?}") };
        let slice = blob.slice_with_f64_and_f64(start, end).map_err(unread)?;
        let buffer = JsFuture::from(slice.array_buffer()).await.map_err(unread)?;
        f(&Uint8Array::new(&buffer).to_vec());
        start = end;
        if size > SLICE_BYTES {
            post(&Reply::Loading { stage: format!("{doing} {file}: {} of {}", mib(start), mib(size)) });
        }
    }
    Ok(())
}

/// A parsed model, its name from its own metadata when it has one, its size in bytes and its
/// SHA-256 (the .gguf, or the *.safetensors shards in name order, as the CLI hashes it).
pub struct Parsed {
    pub file: ModelFile,
    pub text: ModelText,
    pub name: Option<String>,
    pub bytes: f64,
    pub sha256: String,
}

/// Reads and parses the Blobs of a load; `files` says what they are.
pub async fn parse(name: &str, files: &ModelFiles, blobs: &[Blob]) -> Result<Parsed> {
    if blobs.len() != files.blob_count() {
        return Err(WorkerError::Internal(format!(
            "{} files came with the load request, {} expected",
            blobs.len(),
            files.blob_count()
        )));
    }
    match files {
        ModelFiles::Gguf => {
            let blob = &blobs[0];
            // wasm32 has one thread: the Blob, which is not Send, is never shared across threads.
            #[allow(clippy::arc_with_non_send_sync)]
            let source: Arc<dyn ByteSource> = Arc::new(BlobSource::new(name, blob.clone())?);
            let magic =
                source.read(0..4.min(source.len())).map_err(|why| WorkerError::Read { file: name.into(), why })?;
            if magic != b"GGUF" {
                return Err(WorkerError::NotGguf { file: name.into() });
            }
            let sha256 = hash_blob(name, blob).await?;
            post(&Reply::Loading { stage: "parsing the model's header and building its tokenizer".into() });
            let (file, text) = parse_gguf_source(name, source)?;
            let general =
                file.gguf_metadata().and_then(|m| m.opt_str("general.name").ok().flatten()).map(str::to_string);
            Ok(Parsed { file, text, name: general, bytes: blob.size(), sha256 })
        }
        ModelFiles::Safetensors { shards, tokenizer_config, chat_template } => {
            // The shards are read tensor by tensor too; only the hash passes over them now.
            let mut sources: Vec<(String, Arc<dyn ByteSource>)> = Vec::with_capacity(shards.len());
            let mut h = Sha256::new();
            for (shard, blob) in shards.iter().zip(blobs) {
                each_slice(shard, blob, "checking (SHA-256)", |slice| h.update(slice)).await?;
                #[allow(clippy::arc_with_non_send_sync)]
                sources.push((shard.clone(), Arc::new(BlobSource::new(shard, blob.clone())?)));
            }
            let size = blobs[..shards.len()].iter().map(Blob::size).sum();
            let rest = &blobs[shards.len()..];
            // Named as labelcast-modelfile's folder rule, which chose them, names them.
            let config_name = Role::Config.file_name();
            let config = String::from_utf8(read_blob(config_name, &rest[0]).await?)
                .map_err(|e| WorkerError::NotText { file: format!("{name}/{config_name}"), why: e.to_string() })?;
            let tokenizer = read_blob(Role::Tokenizer.file_name(), &rest[1]).await?;
            // The optional files, in order; blob_count was checked above.
            let mut optional = rest[2..].iter();
            let tok_config = match tokenizer_config.then(|| optional.next()).flatten() {
                Some(blob) => Some(read_blob(Role::TokenizerConfig.file_name(), blob).await?),
                None => None,
            };
            let template = match chat_template.then(|| optional.next()).flatten() {
                Some(blob) => Some(read_blob(Role::ChatTemplate.file_name(), blob).await?),
                None => None,
            };
            post(&Reply::Loading { stage: "parsing the model and building its tokenizer".into() });
            let text = HfText {
                tokenizer_json: &tokenizer,
                tokenizer_config_json: tok_config.as_deref(),
                chat_template: template.as_deref(),
            };
            let (file, text) = parse_safetensors_sources(name, sources, &config, text)?;
            let hf_name = file
                .config_json()
                .and_then(|c| c.get("_name_or_path"))
                .and_then(|v| v.as_str())
                .and_then(name_from_hf_path);
            Ok(Parsed { file, text, name: hf_name, bytes: size, sha256: format!("{:x}", h.finalize()) })
        }
    }
}
