//! An engine on whichever backend the user asked for, or the best available: what the CLI's
//! `--backend gpu|cpu|auto` and the browser's worker hold.

use std::cell::RefCell;
use std::rc::Rc;

use labelcast_core::backend::BackendChoice;
use labelcast_core::method::Part;
use labelcast_gpu::{Gpu, GpuError, GpuOptions};
use labelcast_modelfile::{ModelFile, SharedBytes};
use labelcast_text::{HfText, ModelText};

use crate::backend::{Backend, CpuBackend, GpuBackend};
use crate::coslow::Exchange;
use crate::engine::{Engine, Example, Prompt};
use crate::error::{EngineError, Result};
use crate::grad::{CosLowResult, LoraOptions};
use crate::infer::{self, PromptScores, ScoreOptions};
use crate::model::{check_cpu_fits, parse_gguf, parse_safetensors, Weights};
use crate::{Proceed, Progress};

/// An engine on one backend, or on the GPU with a way back to the CPU: under `auto`, a
/// device lost or out of memory in the middle of a run finishes that run on the CPU.
pub struct AnyEngine {
    primary: Primary,
    /// Under `auto` on a GPU: the model file, kept (the raw file, not dequantized) so the CPU
    /// engine can be built if the GPU fails mid-run.
    rescue: Option<(ModelFile, ModelText)>,
    /// The CPU engine built from `rescue` once the GPU has failed; used from then on.
    fallen_back: RefCell<Option<Rc<Engine<CpuBackend>>>>,
    notice: RefCell<Box<dyn FnMut(String)>>,
}

// Engines are loaded once and moved rarely; boxing would only add indirection.
#[allow(clippy::large_enum_variant)]
enum Primary {
    Cpu(Engine<CpuBackend>),
    Gpu(Engine<GpuBackend>),
}

impl std::fmt::Debug for AnyEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AnyEngine({})", self.describe())
    }
}

/// Errors after which the GPU cannot go on but the CPU can redo the work.
fn gpu_gave_out(e: &EngineError) -> bool {
    matches!(e, EngineError::Gpu(g) if matches!(**g, GpuError::DeviceLost(_) | GpuError::OutOfMemory(_)))
}

impl From<Engine<CpuBackend>> for AnyEngine {
    /// An engine built by hand on the CPU (e.g. with `CpuWeights::Quantized`).
    fn from(e: Engine<CpuBackend>) -> Self {
        Self::assemble(Primary::Cpu(e), None)
    }
}

impl AnyEngine {
    /// Loads a GGUF file's bytes (read, or mapped: see `SharedBytes`) onto the chosen backend.
    /// `note` receives a line when `Auto` falls back to the CPU, saying why.
    pub async fn from_gguf(
        name: &str,
        bytes: impl Into<SharedBytes>,
        choice: BackendChoice,
        note: &mut dyn FnMut(String),
    ) -> Result<Self> {
        let (file, text) = parse_gguf(name, bytes)?;
        Self::from_model_file(file, text, choice, note).await
    }

    /// Loads safetensors shards + config.json + the tokenizer files onto the chosen backend.
    pub async fn from_safetensors(
        name: &str,
        shards: Vec<(String, Vec<u8>)>,
        config_json: &str,
        text: HfText<'_>,
        choice: BackendChoice,
        note: &mut dyn FnMut(String),
    ) -> Result<Self> {
        let (file, text) = parse_safetensors(name, shards, config_json, text)?;
        Self::from_model_file(file, text, choice, note).await
    }

    pub async fn from_model_file(
        file: ModelFile,
        text: ModelText,
        choice: BackendChoice,
        note: &mut dyn FnMut(String),
    ) -> Result<Self> {
        match choice {
            BackendChoice::Cpu => Ok(Self::assemble(cpu_primary(&file, text)?, None)),
            BackendChoice::Gpu => {
                let backend = gpu_backend(Gpu::new(&GpuOptions { allow_software: true }).await?, &file).await?;
                Ok(Self::assemble(Primary::Gpu(Engine::new(backend, text)?), None))
            }
            BackendChoice::Auto => Self::gpu_else_cpu(file, text, false, "no hardware GPU", note).await,
        }
    }

    /// `Auto` on any GPU adapter, software ones included, else the CPU with the reason: for a
    /// caller that has already vetted the adapter itself (the browser's worker reads WebGPU's
    /// adapter info, which wgpu does not fully pass on) but still wants the CPU when the GPU
    /// then fails.
    pub async fn from_model_file_on_vetted_gpu(
        file: ModelFile,
        text: ModelText,
        note: &mut dyn FnMut(String),
    ) -> Result<Self> {
        Self::gpu_else_cpu(file, text, true, "the GPU failed", note).await
    }

    async fn gpu_else_cpu(
        file: ModelFile,
        text: ModelText,
        allow_software: bool,
        fallback: &str,
        note: &mut dyn FnMut(String),
    ) -> Result<Self> {
        // Where the CPU cannot hold the model, the GPU's error is the one to read, with why the
        // CPU could not take over.
        let on_cpu_instead = |gpu_error: EngineError, file: &ModelFile, text: ModelText| {
            if let Err(too_large) = check_cpu_fits(file) {
                return Err(EngineError::Invalid(format!("{gpu_error}; the CPU cannot take over: {too_large}")));
            }
            cpu_primary(file, text)
        };
        let gpu = match Gpu::new(&GpuOptions { allow_software }).await {
            Ok(gpu) => gpu,
            Err(e) => {
                let e = EngineError::from(e);
                note(format!("using the CPU backend ({fallback}): {e}"));
                return Ok(Self::assemble(on_cpu_instead(e, &file, text)?, None));
            }
        };
        match Self::gpu_with_cpu_fallback(gpu, file, text).await {
            Ok(engine) => Ok(engine),
            Err((e, file, text)) => {
                note(format!("using the CPU backend (the GPU could not hold the model): {e}"));
                Ok(Self::assemble(on_cpu_instead(e, &file, text)?, None))
            }
        }
    }

    /// The model on `gpu`, keeping the file so a failing GPU hands over to the CPU (what
    /// `auto` does) where the CPU can hold the model. On failure the file comes back with the
    /// error, for the caller to retry.
    #[allow(clippy::result_large_err)]
    pub async fn gpu_with_cpu_fallback(
        gpu: Gpu,
        file: ModelFile,
        text: ModelText,
    ) -> std::result::Result<Self, (EngineError, ModelFile, ModelText)> {
        let backend = match gpu_backend(gpu, &file).await {
            Ok(b) => b,
            Err(e) => return Err((e, file, text)),
        };
        match Engine::new(backend, text.clone()) {
            Ok(e) => {
                let rescue = check_cpu_fits(&file).is_ok().then_some((file, text));
                Ok(Self::assemble(Primary::Gpu(e), rescue))
            }
            Err(e) => Err((e, file, text)),
        }
    }

    fn assemble(primary: Primary, rescue: Option<(ModelFile, ModelText)>) -> Self {
        AnyEngine { primary, rescue, fallen_back: RefCell::new(None), notice: RefCell::new(Box::new(|_| {})) }
    }

    /// The GPU this engine runs on, if any (e.g. to release it early).
    pub fn gpu(&self) -> Option<&Gpu> {
        match &self.primary {
            Primary::Gpu(e) => Some(e.backend().gpu()),
            Primary::Cpu(_) => None,
        }
    }

    /// Where to say that a run moved to the CPU (the CLI prints it; by default it is dropped).
    pub fn on_notice(&mut self, f: impl FnMut(String) + 'static) {
        self.notice = RefCell::new(Box::new(f));
    }

    /// The CPU engine a failed GPU handed over to, if that has happened.
    fn cpu_fallback(&self) -> Option<Rc<Engine<CpuBackend>>> {
        self.fallen_back.borrow().clone()
    }

    /// After `err` on the GPU: the CPU engine to redo the work on, or `err` back when there
    /// is no way back (not `auto`, or an error the CPU would hit too).
    fn fall_back(&self, err: EngineError) -> Result<Rc<Engine<CpuBackend>>> {
        let Some((file, text)) = self.rescue.as_ref().filter(|_| gpu_gave_out(&err)) else {
            return Err(err);
        };
        (self.notice.borrow_mut())(format!("the GPU failed ({err}); continuing on the CPU backend"));
        let engine = Rc::new(Engine::cpu(Weights::from_model_file(file)?, text.clone())?);
        *self.fallen_back.borrow_mut() = Some(engine.clone());
        Ok(engine)
    }

    /// "CPU" or "GPU: <adapter>", for progress lines and the page.
    pub fn describe(&self) -> String {
        match (&self.primary, self.cpu_fallback()) {
            (Primary::Cpu(e), _) if e.backend().model.weights.is_quantized() => {
                "CPU (candle), matrices kept quantized: confidences from 8-bit activations".to_string()
            }
            (Primary::Cpu(_), _) => "CPU (candle)".to_string(),
            (Primary::Gpu(e), Some(_)) => format!("CPU (candle), after the GPU {} failed", e.backend().adapter()),
            (Primary::Gpu(e), None) => format!("GPU: {}", e.backend().adapter()),
        }
    }

    pub fn config(&self) -> &labelcast_modelfile::ModelConfig {
        match &self.primary {
            Primary::Cpu(e) => e.config(),
            Primary::Gpu(e) => e.config(),
        }
    }

    pub fn text(&self) -> &ModelText {
        match &self.primary {
            Primary::Cpu(e) => e.text(),
            Primary::Gpu(e) => e.text(),
        }
    }

    pub async fn score<R: Proceed>(
        &self,
        prompts: &[Prompt],
        opts: &ScoreOptions,
        progress: impl FnMut(Progress) -> R,
    ) -> Result<Vec<PromptScores>> {
        infer::all_or_cancelled(self.score_partial(prompts, opts, progress).await?)
    }

    /// `score`, keeping the prompts finished before `progress` stopped the job (`Some`).
    pub async fn score_partial<R: Proceed>(
        &self,
        prompts: &[Prompt],
        opts: &ScoreOptions,
        mut progress: impl FnMut(Progress) -> R,
    ) -> Result<Vec<Option<PromptScores>>> {
        if let Some(cpu) = self.cpu_fallback() {
            return cpu.score_partial(prompts, opts, progress).await;
        }
        match &self.primary {
            Primary::Cpu(e) => e.score_partial(prompts, opts, progress).await,
            Primary::Gpu(e) => match e.score_partial(prompts, opts, &mut progress).await {
                Err(err) => self.fall_back(err)?.score_partial(prompts, opts, progress).await,
                ok => ok,
            },
        }
    }

    pub async fn coslow<R: Proceed>(
        &self,
        examples: &[Example],
        opts: &LoraOptions,
        mut progress: impl FnMut(Progress) -> R,
    ) -> Result<CosLowResult> {
        if let Some(cpu) = self.cpu_fallback() {
            return cpu.coslow(examples, opts, progress).await;
        }
        match &self.primary {
            Primary::Cpu(e) => e.coslow(examples, opts, progress).await,
            Primary::Gpu(e) => match e.coslow(examples, opts, &mut progress).await {
                Err(err) => self.fall_back(err)?.coslow(examples, opts, progress).await,
                ok => ok,
            },
        }
    }
}

/// `$call` with `$e` bound to the engine in use: the CPU one once the GPU has failed, else the
/// primary, whichever backend it is. No fallback to the CPU if the call fails on the GPU.
macro_rules! on_engine_in_use {
    ($self:ident, $e:ident => $call:expr) => {
        match ($self.cpu_fallback(), &$self.primary) {
            (Some($e), _) => $call,
            (None, Primary::Cpu($e)) => $call,
            (None, Primary::Gpu($e)) => $call,
        }
    };
}

impl AnyEngine {
    /// `grad::tokens_within` by the estimate of the backend in use: the most tokens a pack
    /// holds within `max_bytes`, every layer kept and each computed again.
    pub fn tokens_within(&self, max_bytes: u64, answer_share: f64) -> (usize, usize) {
        on_engine_in_use!(self, e => crate::grad::tokens_within(max_bytes, answer_share, |t, a, again| {
            e.backend().pack_bytes(t, a, again)
        }))
    }

    /// `Engine::coslow_keep` on the backend in use. A split run is not redone on the CPU
    /// when the GPU fails (the rows the others sent are gone): it fails, and the page reruns it.
    pub async fn coslow_keep<R: Proceed, X: Exchange>(
        &self,
        examples: &[Example],
        opts: &LoraOptions,
        part: Part,
        exchange: &mut X,
        progress: impl FnMut(Progress) -> R,
    ) -> Result<CosLowResult> {
        on_engine_in_use!(self, e => e.coslow_keep(examples, opts, part, exchange, progress).await)
    }

    /// `Engine::coslow_send` on the backend in use (the CPU's: only it hands rows on).
    pub async fn coslow_send<R: Proceed, X: Exchange>(
        &self,
        examples: &[Example],
        opts: &LoraOptions,
        part: Part,
        exchange: &mut X,
        progress: impl FnMut(Progress) -> R,
    ) -> Result<usize> {
        on_engine_in_use!(self, e => e.coslow_send(examples, opts, part, exchange, progress).await)
    }
}

fn cpu_primary(file: &ModelFile, text: ModelText) -> Result<Primary> {
    check_cpu_fits(file)?;
    Ok(Primary::Cpu(Engine::cpu(Weights::from_model_file(file)?, text)?))
}

/// Uploads the model, then waits for the queue: wgpu reports running out of memory and a
/// lost device asynchronously, and a load that is going to fail must fail here, where the
/// caller can still fall back to the CPU, rather than in the first job.
async fn gpu_backend(gpu: Gpu, file: &ModelFile) -> Result<GpuBackend> {
    let backend = GpuBackend::from_model_file(gpu, file)?;
    backend.gpu().finish().await?;
    Ok(backend)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_lost_device_or_exhausted_memory_falls_back() {
        let gpu = |e: GpuError| EngineError::Gpu(Box::new(e));
        assert!(gpu_gave_out(&gpu(GpuError::DeviceLost("reset".into()))));
        assert!(gpu_gave_out(&gpu(GpuError::OutOfMemory("4 GiB".into()))));
        // A validation error is a bug in labelcast, and a bad example fails on the CPU too.
        assert!(!gpu_gave_out(&gpu(GpuError::Validation("binding".into()))));
        assert!(!gpu_gave_out(&EngineError::NoAnswerTokens { example: 3 }));
    }
}
