//! The worker's message loop: requests in, replies out, one engine kept between requests.

use std::rc::Rc;

use js_sys::{Array, Reflect};
use labelcast_engine::backend::gpu::gpu_weight_bytes;
use labelcast_engine::grad::AdapterInit;
use labelcast_engine::model::{check_cpu_fits, cpu_bytes};
use labelcast_engine::{AnyEngine, LoraOptions, Prompt, PromptScores, ScoreOptions};
use labelcast_protocol::{
    BackendChoice, BackendInfo, BackendKind, ModelFiles, ModelInfo, Part, PromptIn, Reply, Request, ScoreRow, Share,
};
use wasm_bindgen::prelude::*;
use web_sys::{Blob, MessageEvent};

use crate::error::{Result, WorkerError};
use crate::runtime::{cancel_up_to, engine, now_ms, post, progress, scope, set_engine, wasm_memory_bytes};

/// Tokens per gradient pack in the browser. The CLI's 512 took the worker's WebAssembly memory
/// to 3.8 GiB with SmolLM2 (its limit is 4 GiB, and freed memory is never returned); 128 keeps
/// the activations of a pack four times smaller. Packing changes only how examples are
/// grouped (each still attends to itself alone), so CoS-Low is the same up to float rounding.
const PACK_TOKENS: usize = 128;

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
        Request::Cancel { job } => cancel_up_to(job),
    }
}

fn failed(job: u32, e: WorkerError) -> Reply {
    Reply::Failed { job: Some(job), message: e.to_string() }
}

async fn load(name: &str, files: &ModelFiles, blobs: &[Blob], choice: BackendChoice) -> Result<Reply> {
    let start = now_ms();
    // A new model replaces the old one: free it before reading, so both never share memory.
    set_engine(None);
    let crate::files::Parsed { file, text, name: general_name, bytes: size, sha256 } =
        crate::files::parse(name, files, blobs).await?;
    let (choice, chosen) = crate::backend::plan(choice, crate::backend::choose().await);
    // WebGPU tells how large one buffer may be, never how much memory the GPU has: the page
    // gets the weights' size before the upload, and with any failure.
    let gpu_need = gpu_weight_bytes(&file).map(|b| labelcast_core::words::gib(b, 2));
    let gpu_need = gpu_need.unwrap_or_else(|e| format!("an unknown amount ({e})"));
    // An estimate (the pool held 0.8-1.3 times it in the engine's test): one decimal.
    let coslow_need = labelcast_core::words::gib(crate::coslow::gpu_need(&file.config), 1);
    post(&Reply::Loading {
        stage: match choice {
            BackendChoice::Cpu => "dequantizing the weights".into(),
            _ => format!(
                "uploading the weights to the GPU: they take {gpu_need} of its memory, and CoS-Low of {} \
                 examples about {coslow_need} more",
                labelcast_core::method::EXAMPLES
            ),
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
    set_engine(Some(Rc::new(engine)));
    Ok(Reply::Loaded { model, seconds: (now_ms() - start) / 1000.0 })
}

/// A part's rows come back as they are, with the others' rows `None`, for the page to merge.
async fn score(job: u32, prompts: Vec<PromptIn>, opts: &ScoreOptions, part: bool) -> Result<Reply> {
    let engine = engine()?;
    let names: Vec<Option<String>> = prompts.iter().map(|p| p.name.clone()).collect();
    let prompts: Vec<Prompt> = prompts.into_iter().map(|p| p.prompt).collect();
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
