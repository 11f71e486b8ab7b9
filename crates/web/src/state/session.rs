//! The model side of the page's state: the work reducer (`workflow::Work`), the labels, the
//! prompting choices, and the jobs on the model workers. Loading a model is `model_load`'s,
//! the labels' files `labels`'.

use std::cell::RefCell;
use std::rc::Rc;

use labelcast_core::method::SCORE_BATCH;
use labelcast_protocol::{LongRows, Request};
use yew::prelude::*;

use crate::browser::model_cache;
use crate::browser::pool::{EnginePool, Pool};
use crate::browser::storage;
use crate::browser::store::Prompting;
use crate::components::job_progress::now_ms;
use crate::steps::annotate::annotate_model::{self as annotate, Labels};
use crate::steps::data::data_state::{DataState, SharedTable};
use crate::workflow::{Action, ModelStatus, Work};

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
    pub(super) client: Rc<RefCell<Option<Pool>>>,
    /// Cancels the model download in progress.
    pub(super) download: Rc<RefCell<Option<web_sys::AbortController>>>,
}

pub(super) fn table_of(data: &DataState) -> Option<SharedTable> {
    match data {
        DataState::Loaded { table, .. } => Some(table.clone()),
        _ => None,
    }
}

impl Session {
    /// A callback that calls `f` with this session: the steps' callbacks, wired in one line.
    pub fn callback<In: 'static>(&self, f: impl Fn(&Session, In) + 'static) -> Callback<In> {
        let s = self.clone();
        Callback::from(move |x| f(&s, x))
    }

    pub(super) fn client(&self) -> Option<Pool> {
        self.client.borrow().clone()
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
    pub fn set_backend(&self, backend: labelcast_protocol::BackendChoice) {
        let Some(c) = self.client() else { return };
        if EnginePool::set_backend(&c, backend) {
            self.restart();
        }
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
