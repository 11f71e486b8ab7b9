//! The worker's CoS-Low jobs: a whole run, or its share of a run the page splits between its
//! workers (`Share`; the rows travel through `crate::rows`), within a bound on the kept
//! gradients that comes from the model's size.

use std::cell::Cell;

use labelcast_engine::{AnyEngine, EngineError, Example, LoraOptions};
use labelcast_protocol::{CosLowOut, ExampleIn, Part, Reply};

use crate::error::{Result, WorkerError};
use crate::runtime::{engine, now_ms, progress};

thread_local! {
    /// The loaded model's weights on the CPU backend, in bytes (`cpu_store_bytes`).
    static CPU_WEIGHTS: Cell<f64> = const { Cell::new(0.0) };
}

/// Called at each load, with the CPU backend's bytes of the model's weights.
pub fn set_cpu_weights(bytes: u64) {
    CPU_WEIGHTS.with(|w| w.set(bytes as f64));
}

/// wasm32's address space: WebAssembly memory never grows past it.
const WASM_MEMORY_LIMIT: f64 = 4.0 * 1024.0 * 1024.0 * 1024.0;
/// Kept free beside the kept gradients, for the activations of a gradient pack.
const ACTIVATIONS_ROOM: f64 = 1024.0 * 1024.0 * 1024.0;
/// The worker's own memory beside the weights (its code's data, the tokenizer, the caches of a
/// scoring batch): SmolLM2's worker holds 531 MiB after loading 515 MiB of weights.
const BASELINE: f64 = 256.0 * 1024.0 * 1024.0;

/// On the CPU the kept gradients share wasm32's 4 GiB with the weights: what is left after the
/// activations' room, so a large model's gradients are sketched (and say so) rather than run the
/// worker out of memory; SmolLM2's 1.3 GB stay exact. From the model's size, not the memory's
/// current size, which never shrinks: with that, a second CoS-Low in the same worker found the
/// first one's freed store counted as used and was sketched, and a helper, whose memory differs,
/// could keep its rows another way than the main worker.
fn cpu_store_bytes() -> u64 {
    let weights = CPU_WEIGHTS.with(Cell::get);
    (WASM_MEMORY_LIMIT - weights - BASELINE - ACTIVATIONS_ROOM).max(256.0 * 1024.0 * 1024.0) as u64
}

/// At most this much activation memory a pack on the CPU (`LoraOptions::pack_bytes`):
/// SmolLM2's 128-token packs keep every layer within it even when every token is an answer's,
/// so only wider models (loaded on the CPU within `CPU_WEIGHTS_LIMIT`) compute layers again or
/// get fewer tokens, and weights, kept gradients and activations stay within wasm32's 4 GiB.
const CPU_PACK_BYTES: u64 = 512 << 20;

/// And on a GPU, where activations live in GPU buffers and no API says how much memory there
/// is: SmolLM2's 512-token batches keep every layer (under 1 GB); an 8B's or a 14B's would keep
/// 5-10 GB, so they compute each layer again and keep 0.9-1.3 GB beside the weights
/// (`gpu_batch_bytes`), which a 16 GB GPU holds with the weights of either.
const GPU_PACK_BYTES: u64 = 2 << 30;

/// What CoS-Low of the method's 32 examples adds on a GPU beside the weights, with the
/// options a run here takes by default (`gpu_coslow_bytes`).
pub fn gpu_need(c: &labelcast_modelfile::ModelConfig) -> u64 {
    let opts = LoraOptions { pack_bytes: Some(GPU_PACK_BYTES), ..LoraOptions::default() };
    labelcast_engine::backend::gpu::gpu_coslow_bytes(c, labelcast_core::method::EXAMPLES, &opts)
}

/// The examples as the engine takes them, and how the page names them.
fn examples_in(examples: Vec<ExampleIn>) -> (Vec<Example>, Vec<Option<String>>) {
    let names = examples.iter().map(|e| e.name.clone()).collect();
    let examples = examples.into_iter().map(|e| e.example).collect();
    (examples, names)
}

fn coslow_opts(engine: &AnyEngine, opts: &LoraOptions) -> LoraOptions {
    let on_cpu = engine.gpu().is_none();
    LoraOptions {
        store_bytes: on_cpu.then(cpu_store_bytes),
        pack_bytes: Some(if on_cpu { CPU_PACK_BYTES } else { GPU_PACK_BYTES }),
        ..opts.clone()
    }
}

/// A `Share::Send` run: its rows go to the page as their packs finish (`crate::rows`).
pub async fn send_rows(job: u32, examples: Vec<ExampleIn>, opts: &LoraOptions, part: Part) -> Result<Reply> {
    let engine = engine()?;
    let opts = &coslow_opts(&engine, opts);
    let (examples, names) = examples_in(examples);
    match engine.coslow_send(&examples, opts, part, &mut crate::rows::Poster { job }, progress(job)).await {
        Ok(rows) => Ok(Reply::GradsSent { job, rows }),
        Err(EngineError::Cancelled) => Ok(Reply::Cancelled { job }),
        Err(e) => Err(WorkerError::named(e, &names)),
    }
}

/// A whole run (`Part::WHOLE`), or a `Share::Keep` run taking the others' rows.
pub async fn coslow(job: u32, examples: Vec<ExampleIn>, opts: &LoraOptions, part: Part) -> Result<Reply> {
    let engine = engine()?;
    let opts = &coslow_opts(&engine, opts);
    let start = now_ms();
    let (examples, names) = examples_in(examples);
    let taker = &mut crate::rows::Taker { job };
    let r = engine.coslow_keep(&examples, opts, part, taker, progress(job)).await;
    crate::rows::ended(job);
    let r = match r {
        Ok(r) => r,
        Err(EngineError::Cancelled) => return Ok(Reply::Cancelled { job }),
        Err(e) => return Err(WorkerError::named(e, &names)),
    };
    Ok(Reply::CosLow {
        job,
        result: CosLowOut {
            coslow: r.coslow,
            cosines: r.cosines,
            pairs: r.pairs,
            examples: r.examples,
            losses: r.losses,
            seconds: (now_ms() - start) / 1000.0,
            gram: r.gram,
            answer_tokens: r.answer_tokens,
            cut: r.cut.iter().map(|c| c.map(|c| (c.tokens, c.kept))).collect(),
            skipped: r.skipped,
            sketch_sd: r.sketch_sd,
            workers: part.count as u32,
        },
    })
}
