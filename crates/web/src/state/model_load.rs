//! Loading a model into the workers: from an address (the browser's model cache first, else a
//! download kept there), or from files picked or dropped. Failures become the model's status.

use std::rc::Rc;

use labelcast_protocol::ModelFiles;

use crate::browser::model_cache;
use crate::browser::model_fetch::fetch_blob;
use crate::browser::pool::EnginePool;
use crate::format;
use crate::state::session::Session;
use crate::steps::model::model_error::ModelError;
use crate::steps::model::{model_pick, model_source};
use crate::workflow::Action;

impl Session {
    /// Loads the model at `url`: from the browser's cache when it was downloaded before, else
    /// downloaded and kept in the cache. Only from this origin or a model host the page's
    /// Content-Security-Policy allows (`model_source`), decided before any request.
    pub fn load_url(&self, url: String) {
        let checked = model_cache::resolve(&url)
            .map_err(ModelError::from)
            .and_then(|(abs, origin)| Ok(model_source::check(&abs, &origin)?));
        let src = match checked {
            Ok(src) => src,
            Err(e) => {
                self.model_note.set(None);
                return self.failed(e);
            }
        };
        self.model_note.set(src.note.clone());
        let name = model_source::file_name(&src.url);
        // At once, so the previous model's status (a failure) does not stay on screen while
        // the browser storage is asked for a copy and for its free space.
        self.work.dispatch(Action::Loading { name: name.clone(), stage: "looking for a copy in this browser".into() });
        let s = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            if let Some(blob) = model_cache::get(&src.url).await {
                return s.load_blob(name, blob);
            }
            let Ok(abort) = web_sys::AbortController::new() else {
                return s.failed(ModelError::NoAbort);
            };
            if let Some(old) = s.download.replace(Some(abort.clone())) {
                old.abort();
            }
            let work = s.work.clone();
            let progress = |read, total| work.dispatch(Action::Download { name: name.clone(), read, total });
            // Into the model cache as it arrives; where the browser has none, into memory.
            let cache = model_cache::open().await.ok();
            let fetched = fetch_blob(&src.url, src.same_origin, &abort, cache.as_ref(), progress).await;
            s.download.borrow_mut().take_if(|a| *a == abort);
            match fetched {
                Ok(blob) => {
                    s.refresh_cached();
                    s.load_blob(name.clone(), blob);
                }
                Err(e) => s.failed(e.into()),
            }
        });
    }

    /// The model's status says why it could not be loaded.
    fn failed(&self, e: ModelError) {
        self.work.dispatch(Action::DownloadFailed(e.to_string()));
    }

    /// Stops the model download in progress; `load_url` reports it as cancelled.
    pub fn cancel_download(&self) {
        if let Some(a) = self.download.borrow_mut().take() {
            a.abort();
        }
    }

    pub fn refresh_cached(&self) {
        let cached = self.cached.clone();
        wasm_bindgen_futures::spawn_local(async move {
            if let Ok(list) = model_cache::list().await {
                cached.set(Rc::new(list));
            }
        });
    }

    pub fn delete_cached(&self, url: String) {
        let s = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            if let Err(e) = model_cache::delete(&url).await {
                s.failed(e.into());
            }
            s.refresh_cached();
        });
    }

    /// Loads a model from files picked or dropped together: one .gguf, or a safetensors
    /// model's files (`model_files` says which, or what is missing or wrong).
    pub fn load_files(&self, files: Vec<web_sys::File>) {
        self.model_note.set(None);
        let name = match &files[..] {
            [one] => one.name(),
            _ => format::count(files.len(), "file", "files"),
        };
        self.work.dispatch(Action::Loading { name, stage: "checking the files".into() });
        let s = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let up = match model_pick::pick(files).await {
                Ok(up) => up,
                Err(e) => return s.failed(e.into()),
            };
            // No size limit here: the worker reads the weights tensor by tensor, and says what the
            // backend can hold.
            s.model_note.set((!up.notes.is_empty()).then(|| up.notes.join(" ")));
            s.load_model(up.name, up.files, up.blobs);
        });
    }

    fn load_blob(&self, name: String, blob: web_sys::Blob) {
        self.load_model(name, ModelFiles::Gguf, vec![blob]);
    }

    fn load_model(&self, name: String, files: ModelFiles, blobs: Vec<web_sys::Blob>) {
        let stage = match blobs.len() {
            1 => "sending the file to the worker".to_string(),
            n => format!("sending its {n} files to the worker"),
        };
        self.work.dispatch(Action::Loading { name: name.clone(), stage });
        if let Some(c) = self.client() {
            EnginePool::load(&c, name, files, blobs);
        }
    }
}
