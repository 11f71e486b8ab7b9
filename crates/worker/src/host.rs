//! The worker's message loop: requests in, replies out, one engine kept between requests.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use js_sys::{Array, Reflect};
use labelcast_engine::backend::gpu::gpu_weight_bytes;
use labelcast_engine::grad::AdapterInit;
use labelcast_engine::model::{check_cpu_fits, cpu_bytes};
use labelcast_engine::{AnyEngine, Flow, LoraOptions, Progress, Prompt, PromptScores, ScoreOptions};
use labelcast_protocol::{
    BackendChoice, BackendInfo, BackendKind, ModelFiles, ModelInfo, Part, PromptIn, Reply, Request, ScoreRow, Share,
    Stage,
};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, DedicatedWorkerGlobalScope, MessageEvent};

use crate::error::{Result, WorkerError};

/// Tokens per gradient pack in the browser. The CLI's 512 took the worker's WebAssembly memory
/// to 3.8 GiB with SmolLM2 (its limit is 4 GiB, and freed memory is never returned); 128 keeps
/// the activations of a pack four times smaller. Packing changes only how examples are
/// grouped (each still attends to itself alone), so CoS-Low is the same up to float rounding.
const PACK_TOKENS: usize = 128;

thread_local! {
    static ENGINE: RefCell<Option<Rc<AnyEngine>>> = const { RefCell::new(None) };
    /// Every job up to this number is cancelled: the page numbers jobs in increasing order and
    /// cancels the one running, so one number covers it and any older one still queued.
    static CANCELLED: Cell<u32> = const { Cell::new(0) };
}

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

/// Plain JS objects (not Maps) so the page can also read them from JavaScript and tests.
fn to_js<T: Serialize>(value: &T) -> Result<JsValue, serde_wasm_bindgen::Error> {
    value.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
}

pub fn post(reply: &Reply) {
    match to_js(reply) {
        Ok(v) => {
            let _ = scope().post_message(&v);
        }
        Err(e) => {
            let msg =
                Reply::Failed { job: None, message: format!("internal error: a reply could not be encoded: {e}") };
            if let Ok(v) = to_js(&msg) {
                let _ = scope().post_message(&v);
            }
        }
    }
}

/// Posts `reply` with `row` beside its fields (under `row`), handing the array's memory over
/// instead of copying it.
pub(crate) fn post_with_row(reply: &Reply, row: &js_sys::Float32Array) {
    let sent = to_js(reply).ok().filter(|v| Reflect::set(v, &"row".into(), row).unwrap_or(false)).map(|v| {
        let transfer = Array::of1(&row.buffer());
        scope().post_message_with_transfer(&v, &transfer)
    });
    if !matches!(sent, Some(Ok(()))) {
        post(&Reply::Failed { job: None, message: "internal error: a gradient row could not be posted".into() });
    }
}

fn wasm_memory_bytes() -> f64 {
    wasm_bindgen::memory()
        .dyn_into::<js_sys::WebAssembly::Memory>()
        .ok()
        .and_then(|m| m.buffer().dyn_into::<js_sys::ArrayBuffer>().ok())
        .map_or(0.0, |b| b.byte_length() as f64)
}

pub(crate) fn now_ms() -> f64 {
    js_sys::Date::now()
}

pub fn start() {
    // A panic traps the wasm; tell the page in words first (it restarts the worker).
    std::panic::set_hook(Box::new(|info| {
        post(&Reply::Failed { job: None, message: format!("the model worker stopped on an internal error: {info}") });
    }));
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(|e: MessageEvent| {
        wasm_bindgen_futures::spawn_local(handle(e.data()));
    });
    scope().set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // The handler lives as long as the worker.
    on_message.forget();
    wasm_bindgen_futures::spawn_local(async {
        let backend = crate::backend::choose().await;
        post(&Reply::Ready { backend });
    });
}

/// A message is `{ msg: Request, blobs?: [Blob] }`.
async fn handle(data: JsValue) {
    let msg = Reflect::get(&data, &"msg".into()).unwrap_or(JsValue::UNDEFINED);
    let request: Request = match serde_wasm_bindgen::from_value(msg) {
        Ok(r) => r,
        Err(e) => {
            post(&Reply::Failed {
                job: None,
                message: format!("internal error: the page sent a request the worker does not understand: {e}"),
            });
            return;
        }
    };
    match request {
        Request::Load { name, backend, files } => {
            let blobs: Option<Vec<Blob>> = Reflect::get(&data, &"blobs".into())
                .ok()
                .and_then(|b| b.dyn_into::<Array>().ok())
                .and_then(|a| a.iter().map(|b| b.dyn_into::<Blob>().ok()).collect());
            let reply = match blobs {
                Some(blobs) => match load(&name, &files, &blobs, backend).await {
                    Ok(r) => r,
                    Err(e) => Reply::Failed { job: None, message: e.to_string() },
                },
                None => Reply::Failed {
                    job: None,
                    message: "internal error: no model file came with the load request".into(),
                },
            };
            post(&reply);
            post(&Reply::Memory { bytes: wasm_memory_bytes(), helpers: 0.0 });
        }
        Request::Score { job, prompts, chat_template, max_new_tokens, batch_size, long_prompts, part } => {
            let opts = ScoreOptions {
                max_new_tokens,
                batch_size: batch_size.max(1),
                chat_template,
                long_prompts,
                part: part.unwrap_or(Part::WHOLE),
            };
            post(&score(job, prompts, &opts, part.is_some()).await.unwrap_or_else(|e| failed(job, e)));
            post(&Reply::Memory { bytes: wasm_memory_bytes(), helpers: 0.0 });
        }
        Request::CosLow { job, examples, chat_template, rank, alpha, seed, long_examples, share } => {
            let opts = LoraOptions {
                rank,
                alpha,
                init: AdapterInit::Seeded(seed),
                chat_template,
                pack_tokens: PACK_TOKENS,
                long_examples,
                ..LoraOptions::default()
            };
            let reply = match share {
                Some(Share::Send { part }) => crate::coslow::send_rows(job, examples, &opts, part).await,
                Some(Share::Keep { part }) => crate::coslow::coslow(job, examples, &opts, part).await,
                None => crate::coslow::coslow(job, examples, &opts, Part::WHOLE).await,
            };
            post(&reply.unwrap_or_else(|e| failed(job, e)));
            post(&Reply::Memory { bytes: wasm_memory_bytes(), helpers: 0.0 });
        }
        Request::GradRow { job, index, loss } => {
            match Reflect::get(&data, &"row".into()).ok().and_then(|r| r.dyn_into::<js_sys::Float32Array>().ok()) {
                Some(row) => crate::rows::received(job, index, loss, row),
                None => post(&Reply::Failed {
                    job: Some(job),
                    message: "internal error: a gradient row came without its values".into(),
                }),
            }
        }
        Request::GradsSent { job } => crate::rows::all_sent(job),
        // The running job sees this at its next progress report and answers `Cancelled`.
        Request::Cancel { job } => CANCELLED.with(|c| c.set(c.get().max(job))),
    }
}

/// Waits for a macrotask (a zero-delay timer), so that messages queued meanwhile (a Cancel)
/// are handled: on the CPU backend the engine computes without ever giving the event loop a turn.
async fn yield_to_events() {
    sleep(0).await;
}

/// Waits `ms` milliseconds, letting messages in meanwhile.
pub(crate) async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let _ = scope().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
    });
    let _ = JsFuture::from(promise).await;
}

pub(crate) fn cancelled(job: u32) -> bool {
    CANCELLED.with(Cell::get) >= job
}

pub(crate) fn engine() -> Result<Rc<AnyEngine>> {
    ENGINE.with(|e| e.borrow().clone()).ok_or(WorkerError::NoModel)
}

fn failed(job: u32, e: WorkerError) -> Reply {
    Reply::Failed { job: Some(job), message: e.to_string() }
}

async fn load(name: &str, files: &ModelFiles, blobs: &[Blob], choice: BackendChoice) -> Result<Reply> {
    let start = now_ms();
    // A new model replaces the old one: free it before reading, so both never share memory.
    ENGINE.with(|e| e.borrow_mut().take());
    let crate::files::Parsed { file, text, name: general_name, bytes: size, sha256 } =
        crate::files::parse(name, files, blobs).await?;
    let (choice, chosen) = crate::backend::plan(choice, crate::backend::choose().await);
    // WebGPU tells how large one buffer may be, never how much memory the GPU has: the page
    // gets the weights' size before the upload, and with any failure.
    let gpu_need = gpu_weight_bytes(&file).map(|b| labelcast_core::words::gib(b, 2));
    let gpu_need = gpu_need.unwrap_or_else(|e| format!("an unknown amount ({e})"));
    post(&Reply::Loading {
        stage: match choice {
            BackendChoice::Cpu => "dequantizing the weights".into(),
            _ => format!("uploading the weights to the GPU: they take {gpu_need} of its memory"),
        },
    });
    let cpu_fits = check_cpu_fits(&file);
    crate::coslow::set_cpu_weights(cpu_bytes(&file).unwrap_or(0));
    let mut fell_back = None;
    let advice = match &cpu_fits {
        Ok(()) => ". Choose Auto or CPU to compute on the CPU.",
        Err(_) => ", and the CPU cannot hold them in a browser either.",
    };
    let mut note = |note: String| fell_back = Some(note);
    let loaded = match choice {
        BackendChoice::Auto => AnyEngine::from_model_file_on_vetted_gpu(file, text, &mut note).await,
        _ => AnyEngine::from_model_file(file, text, choice, &mut note).await,
    };
    let mut engine = loaded.map_err(|e| match choice {
        BackendChoice::Gpu => {
            WorkerError::WebGpuLoad { model: name.to_string(), source: e, gpu_need: gpu_need.clone(), advice }
        }
        _ => WorkerError::Engine(e),
    })?;
    let backend = match (engine.gpu(), fell_back) {
        (None, Some(note)) if choice == BackendChoice::Auto => BackendInfo {
            backend: BackendKind::Cpu,
            reason: format!("WebGPU failed while loading the model, {note}; {}.", crate::backend::CPU),
            ..chosen
        },
        (Some(gpu), _) => {
            BackendInfo { reason: format!("{} (labelcast-gpu: {})", chosen.reason, gpu.adapter()), ..chosen }
        }
        _ => chosen,
    };
    // A GPU lost in the middle of a job hands the job to the CPU: the page's backend line says so.
    let adapter = backend.adapter.clone();
    engine.on_notice(move |message| {
        post(&Reply::Backend {
            backend: BackendInfo {
                backend: BackendKind::Cpu,
                reason: format!("{message}; {}.", crate::backend::CPU),
                adapter: adapter.clone(),
                workers: 1,
            },
        })
    });
    post(&Reply::Backend { backend });
    let c = engine.config();
    let model = ModelInfo {
        file: name.to_string(),
        name: general_name,
        arch: format!("{:?}", c.arch).to_lowercase(),
        layers: c.num_layers,
        hidden: c.hidden_size,
        vocab: c.vocab_size,
        context: c.max_position_embeddings,
        bytes: size,
        sha256: Some(sha256),
    };
    ENGINE.with(|e| *e.borrow_mut() = Some(Rc::new(engine)));
    Ok(Reply::Loaded { model, seconds: (now_ms() - start) / 1000.0 })
}

/// Reports that repeat the last one within this time are let through without a word: the
/// engine also reports between decode steps, which on a GPU come every few milliseconds.
const QUIET_MS: f64 = 100.0;

/// Posts each progress report, then lets pending messages run and stops the job if one of
/// them cancelled it.
pub(crate) fn progress(job: u32) -> impl FnMut(Progress) -> Pin<Box<dyn Future<Output = Flow>>> {
    let mut last: Option<(Progress, f64)> = None;
    move |p| {
        let now = now_ms();
        if last.is_some_and(|(q, t)| q == p && now - t < QUIET_MS) {
            return Box::pin(async { Flow::Continue });
        }
        last = Some((p, now));
        let (stage, done, total) = match p {
            Progress::Scoring { done, total } => (Stage::Scoring, done, total),
            Progress::Gradients { done, total } => (Stage::Gradients, done, total),
        };
        post(&Reply::Progress { job, stage, done, total });
        Box::pin(async move {
            yield_to_events().await;
            if cancelled(job) {
                Flow::Stop
            } else {
                Flow::Continue
            }
        })
    }
}

/// A part's rows come back as they are, with the others' rows `None`, for the page to merge.
async fn score(job: u32, prompts: Vec<PromptIn>, opts: &ScoreOptions, part: bool) -> Result<Reply> {
    let engine = engine()?;
    let names: Vec<Option<String>> = prompts.iter().map(|p| p.name.clone()).collect();
    let prompts: Vec<Prompt> = prompts.into_iter().map(|p| Prompt { system: p.system, text: p.text }).collect();
    let scores =
        engine.score_partial(&prompts, opts, progress(job)).await.map_err(|e| WorkerError::named(e, &names))?;
    let row = |s: PromptScores| ScoreRow {
        stats: s.stats,
        generated: s.generated_text,
        embedding: s.embedding,
        cut: s.cut.map(|c| (c.tokens, c.kept)),
        skipped: s.skipped,
    };
    Ok(if part {
        Reply::ScoresPart { job, rows: scores.into_iter().map(|s| s.map(row)).collect() }
    } else if scores.iter().all(Option::is_some) {
        Reply::Scores { job, rows: scores.into_iter().flatten().map(row).collect() }
    } else {
        Reply::ScoresCancelled { job, rows: scores.into_iter().map(|s| s.map(row)).collect() }
    })
}
