//! An engine on whichever backend the user asked for, or the best available: what the CLI's
//! `--backend gpu|cpu|auto` and the browser's worker hold.

use labelcast_gpu::{Gpu, GpuOptions};
use labelcast_modelfile::ModelFile;
use labelcast_text::ModelText;

use crate::backend::{CpuBackend, GpuBackend};
use crate::engine::{Engine, Example, Prompt};
use crate::error::Result;
use crate::grad::{CosLowResult, LoraOptions};
use crate::infer::{PromptScores, ScoreOptions};
use crate::model::{text_from_gguf, Weights};
use crate::Progress;

/// Which backend runs the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackendChoice {
    Cpu,
    /// A GPU adapter, software ones (lavapipe, SwiftShader) included; an error if none.
    Gpu,
    /// A hardware GPU when one is found, else the CPU (a software GPU is slower than the CPU
    /// backend, so it is not chosen here).
    #[default]
    Auto,
    /// Any GPU adapter, software ones included, else the CPU with the reason: for a caller that
    /// has already vetted the adapter itself (the browser's worker reads WebGPU's adapter info,
    /// which wgpu does not fully pass on) but still wants the CPU when the GPU then fails.
    PreferGpu,
}

// Engines are loaded once and moved rarely; boxing would only add indirection.
#[allow(clippy::large_enum_variant)]
pub enum AnyEngine {
    Cpu(Engine<CpuBackend>),
    Gpu(Engine<GpuBackend>),
}

impl std::fmt::Debug for AnyEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AnyEngine({})", self.describe())
    }
}

impl AnyEngine {
    /// Loads a GGUF file's bytes onto the chosen backend. `note` receives a line when `Auto`
    /// falls back to the CPU, saying why.
    pub async fn from_gguf(
        name: &str,
        bytes: Vec<u8>,
        choice: BackendChoice,
        note: &mut dyn FnMut(String),
    ) -> Result<Self> {
        let file = ModelFile::from_gguf(name, bytes)?;
        let text = text_from_gguf(&file)?;
        Self::from_model_file(file, text, choice, note).await
    }

    /// Loads safetensors shards + config.json + tokenizer files onto the chosen backend.
    pub async fn from_safetensors(
        name: &str,
        shards: Vec<(String, Vec<u8>)>,
        config_json: &str,
        tokenizer_json: &[u8],
        tokenizer_config_json: Option<&[u8]>,
        choice: BackendChoice,
        note: &mut dyn FnMut(String),
    ) -> Result<Self> {
        let file = ModelFile::from_safetensors(name, shards, config_json)?;
        let text = ModelText::from_hf(tokenizer_json, tokenizer_config_json)?;
        Self::from_model_file(file, text, choice, note).await
    }

    pub async fn from_model_file(
        file: ModelFile,
        text: ModelText,
        choice: BackendChoice,
        note: &mut dyn FnMut(String),
    ) -> Result<Self> {
        let cpu = |file: &ModelFile, text: ModelText| -> Result<Self> {
            Ok(AnyEngine::Cpu(Engine::cpu(Weights::from_model_file(file)?, text)?))
        };
        let (allow_software, fallback) = match choice {
            BackendChoice::Cpu => return cpu(&file, text),
            BackendChoice::Gpu => return Ok(AnyEngine::Gpu(Engine::new(gpu_backend(&file, true).await?, text)?)),
            BackendChoice::Auto => (false, "no hardware GPU"),
            BackendChoice::PreferGpu => (true, "the GPU failed"),
        };
        match gpu_backend(&file, allow_software).await {
            Ok(b) => Ok(AnyEngine::Gpu(Engine::new(b, text)?)),
            Err(e) => {
                note(format!("using the CPU backend ({fallback}): {e}"));
                cpu(&file, text)
            }
        }
    }

    /// "CPU" or "GPU: <adapter>", for progress lines and the page.
    pub fn describe(&self) -> String {
        match self {
            AnyEngine::Cpu(_) => "CPU (candle)".to_string(),
            AnyEngine::Gpu(e) => format!("GPU: {}", e.backend().adapter()),
        }
    }

    pub fn config(&self) -> &labelcast_modelfile::ModelConfig {
        match self {
            AnyEngine::Cpu(e) => e.config(),
            AnyEngine::Gpu(e) => e.config(),
        }
    }

    pub fn text(&self) -> &ModelText {
        match self {
            AnyEngine::Cpu(e) => e.text(),
            AnyEngine::Gpu(e) => e.text(),
        }
    }

    pub async fn score(
        &self,
        prompts: &[Prompt],
        opts: &ScoreOptions,
        progress: impl FnMut(Progress),
    ) -> Result<Vec<PromptScores>> {
        match self {
            AnyEngine::Cpu(e) => e.score(prompts, opts, progress).await,
            AnyEngine::Gpu(e) => e.score(prompts, opts, progress).await,
        }
    }

    pub async fn coslow(
        &self,
        examples: &[Example],
        opts: &LoraOptions,
        progress: impl FnMut(Progress),
    ) -> Result<CosLowResult> {
        match self {
            AnyEngine::Cpu(e) => e.coslow(examples, opts, progress).await,
            AnyEngine::Gpu(e) => e.coslow(examples, opts, progress).await,
        }
    }
}

/// Opens a GPU and uploads the model, then waits for the queue: wgpu reports running out of
/// memory and a lost device asynchronously, and a load that is going to fail must fail here,
/// where the caller can still fall back to the CPU, rather than in the first job.
async fn gpu_backend(file: &ModelFile, allow_software: bool) -> Result<GpuBackend> {
    let gpu = Gpu::new(&GpuOptions { allow_software }).await?;
    let backend = GpuBackend::from_model_file(gpu, file)?;
    backend.gpu().finish().await?;
    Ok(backend)
}
