//! The browser side of picking a model from disk: reads only the bytes
//! `labelcast_modelfile::folder` needs to tell what each file is (a few bytes, a safetensors header, small JSON files), then
//! hands the worker the `File`s themselves. Posting a `File` passes a reference to the file
//! on disk: the worker reads its weights from it tensor by tensor.

use js_sys::{Reflect, Uint8Array};
use labelcast_modelfile::folder::{self, classify, header_end, Picked, Probe, Role};
use labelcast_protocol::ModelFiles;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, File};

use crate::steps::model::model_files::upload_order;

/// What the worker is sent for a model from disk.
pub struct Upload {
    pub name: String,
    pub files: ModelFiles,
    pub blobs: Vec<Blob>,
    pub notes: Vec<String>,
}

/// Whether a drop holds a model's files rather than a data file, by name.
pub fn looks_like_model(files: &[File]) -> bool {
    files.iter().any(|f| matches!(folder::role(&f.name(), &[]), Role::Gguf | Role::Shard))
}

fn js_message(v: &JsValue) -> String {
    v.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| v.as_string())
        .unwrap_or_else(|| format!("{v:?}"))
}

/// Why the files picked cannot be loaded as a model.
#[derive(Debug, thiserror::Error)]
pub enum PickError {
    #[error("{file}: the browser could not read the file: {why}")]
    Read { file: String, why: String },
    /// What the files are not (a model's files missing or too many), by the CLI's rule.
    #[error(transparent)]
    Folder(#[from] labelcast_modelfile::folder::FolderError),
}

async fn read(file: &File, end: f64) -> Result<Vec<u8>, PickError> {
    let fail = |e: JsValue| PickError::Read { file: file.name(), why: js_message(&e) };
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

async fn probe(file: &File) -> Result<Picked, PickError> {
    let (name, size) = (file.name(), file.size());
    let bytes = match folder::probe(&name, size) {
        Probe::Nothing => Vec::new(),
        Probe::Whole => read(file, size).await?,
        Probe::Head(n) => {
            let head = read(file, n.into()).await?;
            match header_end(&name, &head) {
                Some(end) => read(file, end as f64).await?,
                None => head,
            }
        }
    };
    Ok(Picked { name, size, path: folders(file), bytes })
}

/// Tells what the picked files are and what the worker is to be sent.
pub async fn pick(files: Vec<File>) -> Result<Upload, PickError> {
    let mut picked = Vec::with_capacity(files.len());
    for f in &files {
        picked.push(probe(f).await?);
    }
    let c = classify(&picked)?;
    let (model_files, order) = upload_order(&picked, &c.set);
    let blobs = order.into_iter().map(|i| files[i].clone().into()).collect();
    Ok(Upload { name: c.name, files: model_files, blobs, notes: c.notes })
}
