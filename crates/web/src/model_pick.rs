//! The browser side of picking a model from disk: reads only the bytes `model_files` needs
//! to tell what each file is (a few bytes, a safetensors header, small JSON files), then
//! hands the worker the `File`s themselves. Posting a `File` passes a reference to the file
//! on disk: the worker reads its weights from it tensor by tensor.

use js_sys::{Reflect, Uint8Array};
use labelcast_protocol::ModelFiles;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, File, FileList};

use crate::model_files::{self, classify, ModelSet, Picked, Probe, MAX_HEADER_BYTES};

/// What the worker is sent for a model from disk.
pub struct Upload {
    pub name: String,
    pub files: ModelFiles,
    pub blobs: Vec<Blob>,
    pub notes: Vec<String>,
}

/// The Files of a file input or a drop.
pub fn list(files: Option<FileList>) -> Vec<File> {
    files.map(|fs| (0..fs.length()).filter_map(|i| fs.get(i)).collect()).unwrap_or_default()
}

/// Whether a drop holds a model's files rather than a data file, by name.
pub fn looks_like_model(files: &[File]) -> bool {
    files.iter().any(|f| {
        let n = f.name().to_ascii_lowercase();
        n.ends_with(".gguf") || n.ends_with(".safetensors")
    })
}

fn js_message(v: &JsValue) -> String {
    v.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| v.as_string())
        .unwrap_or_else(|| format!("{v:?}"))
}

async fn read(file: &File, end: f64) -> Result<Vec<u8>, String> {
    let fail = |e: JsValue| format!("{}: the browser could not read the file: {}", file.name(), js_message(&e));
    let slice = file.slice_with_f64_and_f64(0.0, end.min(file.size())).map_err(fail)?;
    let buffer = JsFuture::from(slice.array_buffer()).await.map_err(fail)?;
    Ok(Uint8Array::new(&buffer).to_vec())
}

/// The folders a file was picked in (a folder pick's `webkitRelativePath`, "dir/sub/name").
fn folders(file: &File) -> Vec<String> {
    let path = Reflect::get(file, &"webkitRelativePath".into()).ok().and_then(|v| v.as_string()).unwrap_or_default();
    let mut parts: Vec<String> = path.split('/').filter(|s| !s.is_empty()).map(str::to_string).collect();
    parts.pop();
    parts
}

async fn probe(file: &File) -> Result<Picked, String> {
    let (name, size) = (file.name(), file.size());
    let bytes = match model_files::probe(&name, size) {
        Probe::Nothing => Vec::new(),
        Probe::Whole => read(file, size).await?,
        Probe::Head(n) => {
            let head = read(file, n.into()).await?;
            let header_len = head.get(..8).and_then(|b| b.try_into().ok()).map(u64::from_le_bytes);
            match header_len {
                // A safetensors file: read the header its first 8 bytes announce, when it can be one.
                Some(len) if name.to_ascii_lowercase().ends_with(".safetensors") && len <= MAX_HEADER_BYTES => {
                    read(file, 8.0 + len as f64).await?
                }
                _ => head,
            }
        }
    };
    Ok(Picked { name, size, path: folders(file), bytes })
}

/// Tells what the picked files are and what the worker is to be sent.
pub async fn pick(files: Vec<File>) -> Result<Upload, String> {
    let mut picked = Vec::with_capacity(files.len());
    for f in &files {
        picked.push(probe(f).await?);
    }
    let c = classify(&picked)?;
    let blob = |i: usize| -> Blob { files[i].clone().into() };
    let (files, blobs) = match &c.set {
        ModelSet::Gguf(i) => (ModelFiles::Gguf, vec![blob(*i)]),
        ModelSet::Safetensors(s) => {
            let mut blobs: Vec<Blob> = s.shards.iter().map(|&i| blob(i)).collect();
            // In ModelFiles::Safetensors's order: the optional files last, those present only.
            let optional = s.tokenizer_config.into_iter().chain(s.chat_template);
            blobs.extend([s.config, s.tokenizer].into_iter().chain(optional).map(blob));
            let files = ModelFiles::Safetensors {
                shards: s.shards.iter().map(|&i| picked[i].name.clone()).collect(),
                tokenizer_config: s.tokenizer_config.is_some(),
                chat_template: s.chat_template.is_some(),
            };
            (files, blobs)
        }
    };
    Ok(Upload { name: c.name, files, blobs, notes: c.notes })
}
