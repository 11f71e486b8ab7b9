//! The model side of the page: the worker client, the work reducer, the labels, and the
//! callbacks the steps call. A hook, so `App` stays a layout.

use labelcast_protocol::LongRows;

use crate::browser::store::Prompting;
use std::cell::RefCell;
use std::rc::Rc;

use labelcast_protocol::{ModelFiles, Request};
use yew::prelude::*;

use crate::browser::download::{derived_name, download};
use crate::browser::model_cache;
use crate::browser::model_fetch::fetch_blob;
use crate::browser::pool::{EnginePool, Pool};
use crate::browser::{file_read, storage};
use crate::components::job_progress::now_ms;
use crate::format;
use crate::steps::annotate::annotate_model::{self as annotate, Labels};
use crate::steps::annotate::label_error::LabelError;
use crate::steps::annotate::label_fill;
use crate::steps::data::data_state::{DataState, SharedTable};
use crate::steps::model::model_error::ModelError;
use crate::steps::model::model_pick;
use crate::steps::model::model_source;
use crate::workflow::{Action, ModelStatus, Work};
use labelcast_core::method::SCORE_BATCH;

impl Reducible for Work {
    type Action = Action;
    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        Rc::new((*self).clone().reduce(action))
    }
}

#[derive(Clone)]
pub struct Session {
    pub work: UseReducerHandle<Work>,
    pub labels: UseStateHandle<Rc<Labels>>,
    pub chat: UseStateHandle<bool>,
    /// What scoring and CoS-Low do with a row longer than the model's context.
    pub long_rows: UseStateHandle<LongRows>,
    /// The task instruction: the system message of rows whose file gives none.
    pub instruction: UseStateHandle<String>,
    /// How the prompts of the sample's scores were given to the model (chat template, task
    /// instruction), so that step 2 can say when they no longer match the choices shown.
    pub scored_with: UseStateHandle<Option<Prompting>>,
    pub import_message: UseStateHandle<Option<(bool, String)>>,
    /// What filling labels from a file of labeled rows found (ok, message).
    pub fill_message: UseStateHandle<Option<(bool, String)>>,
    /// Models kept in the browser's Cache API: (url, bytes).
    pub cached: UseStateHandle<Rc<Vec<(String, f64)>>>,
    /// What the page changed in the model URL given (a Hugging Face page link made a download
    /// link), or what it left out of the model files chosen.
    pub model_note: UseStateHandle<Option<String>>,
    client: Rc<RefCell<Option<Pool>>>,
    /// Cancels the model download in progress.
    download: Rc<RefCell<Option<web_sys::AbortController>>>,
}

fn table_of(data: &DataState) -> Option<SharedTable> {
    match data {
        DataState::Loaded { table, .. } => Some(table.clone()),
        _ => None,
    }
}

impl Session {
    fn client(&self) -> Option<Pool> {
        self.client.borrow().clone()
    }

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

    pub fn score(&self, data: &DataState, size: usize, seed: u64) {
        let Some(t) = table_of(data) else { return };
        let rows = annotate::sample_rows(t.0.borrow().rows.len(), size, seed);
        self.start_scoring(&t, rows, false);
    }

    /// Scores labeled rows outside the scored sample, for their difficulty in the training
    /// order; the sample, the rows to annotate and CoS-Low stay as they are.
    pub fn score_labeled(&self, data: &DataState, rows: Rc<Vec<usize>>) {
        let Some(t) = table_of(data) else { return };
        if !rows.is_empty() {
            self.start_scoring(&t, rows.to_vec(), true);
        }
    }

    fn start_scoring(&self, t: &SharedTable, rows: Vec<usize>, extra: bool) {
        // The worker runs one job at a time (the page disables the buttons meanwhile).
        let Some(c) = self.client().filter(|_| self.work.running_job().is_none()) else { return };
        let t = t.0.borrow();
        let prompts = match annotate::prompts(&t, &rows, Some(self.instruction.as_str())) {
            Ok(p) => p,
            Err(e) => {
                self.work.dispatch(Action::Reply {
                    reply: labelcast_protocol::Reply::Failed { job: None, message: e.to_string() },
                    now: now_ms(),
                });
                return;
            }
        };
        let job = EnginePool::job(&c);
        let (rows, now) = (Rc::new(rows), now_ms());
        if extra {
            self.work.dispatch(Action::StartExtra { job, rows, now });
        } else {
            self.work.dispatch(Action::ResetCosLow);
            self.work.dispatch(Action::StartScoring { job, rows, now });
            self.scored_with.set(Some(Prompting { chat: *self.chat, instruction: (*self.instruction).clone() }));
        }
        EnginePool::request(
            &c,
            &Request::Score {
                job,
                prompts,
                chat_template: *self.chat,
                max_new_tokens: annotate::MAX_NEW_TOKENS,
                // The CLI's batch, so both score alike; `?batch=N` sets another, for measuring.
                batch_size: crate::browser::page_query::number("batch").filter(|&n| n > 0).unwrap_or(SCORE_BATCH),
                long_prompts: *self.long_rows,
                part: None,
            },
        );
    }

    /// Stops the running job; the worker keeps its model. A worker that does not answer in
    /// time is restarted instead.
    pub fn cancel(&self) {
        let (Some(c), Some(job)) = (self.client(), self.work.running_job()) else { return };
        self.work.dispatch(Action::Cancelling { job });
        let s = self.clone();
        EnginePool::cancel(&c, job, move || s.restart());
    }

    /// Terminates the worker and starts a fresh one, which loads the model again.
    pub fn restart(&self) {
        let Some(c) = self.client() else { return };
        let reloading = EnginePool::restart(&c);
        let name = match &self.work.model {
            ModelStatus::Ready { model, .. } => Some(model.file.clone()),
            ModelStatus::Loading { name, .. } | ModelStatus::Downloading { name, .. } => Some(name.clone()),
            _ => None,
        };
        self.work.dispatch(Action::Cancelled { reloading: name.filter(|_| reloading) });
    }

    /// The page's backend choice: a loaded model is loaded again on it (through a fresh
    /// worker, since a model on WebGPU cannot move to the CPU in place).
    pub fn set_backend(&self, backend: labelcast_protocol::BackendPreference) {
        let Some(c) = self.client() else { return };
        if EnginePool::set_backend(&c, backend) {
            self.restart();
        }
    }

    pub fn set_label(&self, row: usize, text: String) {
        let mut next = (**self.labels).clone();
        next.insert(row, text);
        self.labels.set(Rc::new(next));
    }

    pub fn export_labels(&self, data: &DataState, rows: &[usize]) {
        let Some(t) = table_of(data) else { return };
        let t = t.0.borrow();
        let result = annotate::labeled_table(&t, rows, &self.labels, Some(self.instruction.as_str()))
            .and_then(|out| Ok(download(&derived_name(&t.file, "to-label", "csv"), &out.to_csv(), "text/csv")?));
        if let Err(e) = result {
            self.import_message.set(Some((false, e.to_string())));
        }
    }

    pub fn import_labels(&self, data: &DataState, rows: Rc<Vec<usize>>, file: web_sys::File) {
        let Some(t) = table_of(data) else { return };
        let s = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let name = file.name();
            let result = match file_read::read_file(&file, |_| {}).await {
                Ok(bytes) => annotate::import_labels(&t.0.borrow(), &rows, &name, &bytes),
                Err(source) => Err(LabelError::Read { file: name.clone(), source }),
            };
            match result {
                Ok((found, notes)) => {
                    let mut next = (**s.labels).clone();
                    let n = found.len();
                    next.extend(found);
                    s.labels.set(Rc::new(next));
                    let msg =
                        format!("Imported {} from {name}. {}", format::count(n, "label", "labels"), notes.join(" "));
                    s.import_message.set(Some((true, msg)));
                }
                Err(e) => s.import_message.set(Some((false, e.to_string()))),
            }
        });
    }

    /// Labels from a file of already-labeled rows for every pool row it matches; rows that
    /// have a label keep it (see `label_fill`).
    pub fn fill_labels(&self, data: &DataState, file: web_sys::File) {
        let Some(t) = table_of(data) else { return };
        let s = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let name = file.name();
            let result = match file_read::read_file(&file, |_| {}).await {
                Ok(bytes) => label_fill::fill_labels(&t.0.borrow(), &s.labels, &name, &bytes)
                    .map(|f| (f.message(&name), f.labels)),
                Err(source) => Err(LabelError::Read { file: name.clone(), source }),
            };
            match result {
                Ok((message, found)) => {
                    let mut next = (**s.labels).clone();
                    next.extend(found);
                    s.labels.set(Rc::new(next));
                    s.fill_message.set(Some((true, message)));
                }
                Err(e) => s.fill_message.set(Some((false, e.to_string()))),
            }
        });
    }

    pub fn coslow(&self, data: &DataState, rows: &[usize]) {
        let (Some(t), Some(c)) = (table_of(data), self.client()) else { return };
        if self.work.running_job().is_some() {
            return;
        }
        let examples = match annotate::examples(&t.0.borrow(), rows, &self.labels, Some(self.instruction.as_str())) {
            Ok(e) => e,
            Err(e) => {
                self.import_message.set(Some((false, e.to_string())));
                return;
            }
        };
        let job = EnginePool::job(&c);
        self.work.dispatch(Action::StartCosLow { job, rows: Rc::new(rows.to_vec()), now: now_ms() });
        EnginePool::request(
            &c,
            &Request::CosLow {
                job,
                examples,
                chat_template: *self.chat,
                rank: annotate::LORA_RANK,
                alpha: annotate::LORA_ALPHA,
                seed: annotate::SEED,
                long_examples: *self.long_rows,
                share: None,
            },
        );
    }

    /// A new pool: its scores, labels and CoS-Low are gone.
    pub fn reset_data(&self) {
        self.work.dispatch(Action::ResetData);
        self.labels.set(Rc::new(Labels::new()));
        self.import_message.set(None);
        self.fill_message.set(None);
        storage::clear();
    }
}

#[hook]
pub fn use_session() -> Session {
    let work = use_reducer(Work::default);
    let labels = use_state(|| Rc::new(Labels::new()));
    let chat = use_state(|| true);
    let long_rows = use_state(LongRows::default);
    let instruction = use_state(String::new);
    let scored_with = use_state(|| None);
    let import_message = use_state(|| None);
    let fill_message = use_state(|| None);
    let cached = use_state(|| Rc::new(Vec::new()));
    let model_note = use_state(|| None);
    let client = use_mut_ref(|| None::<Pool>);
    let download = use_mut_ref(|| None);
    {
        let (client, work, cached) = (client.clone(), work.clone(), cached.clone());
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                if let Ok(list) = model_cache::list().await {
                    cached.set(Rc::new(list));
                }
            });
            let dispatch = work.dispatcher();
            let on_reply = Callback::from(move |reply| dispatch.dispatch(Action::Reply { reply, now: now_ms() }));
            *client.borrow_mut() = Some(EnginePool::new(on_reply));
        });
    }
    Session {
        work,
        labels,
        chat,
        long_rows,
        instruction,
        scored_with,
        import_message,
        fill_message,
        cached,
        model_note,
        client,
        download,
    }
}
