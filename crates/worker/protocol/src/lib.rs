//! The messages between labelcast's page and its model worker.
//!
//! Both sides convert these with serde-wasm-bindgen. A model file does not travel inside a
//! message: the page posts the `Blob` (a `File` from disk, or the downloaded model) next to
//! the message, so the browser hands over a reference instead of copying ~100 MB through
//! serde. Every job carries the page's `job` number, and replies for an older job than the
//! one the page waits for are ignored.

use serde::{Deserialize, Serialize};

/// Page → worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Request {
    /// Load a model from the Blob posted with this message. `name` is used in messages;
    /// `backend` is the page's choice (absent: auto).
    Load {
        name: String,
        #[serde(default)]
        backend: BackendPreference,
    },
    /// Score prompts (METHOD.md 1b, 2): greedy generation and per-token statistics.
    Score {
        job: u32,
        prompts: Vec<PromptIn>,
        chat_template: bool,
        max_new_tokens: usize,
        batch_size: usize,
    },
    /// CoS-Low of labeled examples (METHOD.md 1d).
    CosLow {
        job: u32,
        examples: Vec<ExampleIn>,
        chat_template: bool,
        rank: usize,
        alpha: f64,
        seed: u64,
    },
    /// Stop job `job` (and any older one) before its next item; the worker answers `Cancelled`
    /// and keeps its model. Sent while the job runs, so the worker must yield to see it.
    Cancel { job: u32 },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromptIn {
    pub system: Option<String>,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExampleIn {
    pub system: Option<String>,
    pub prompt: String,
    pub answer: String,
}

/// Worker → page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reply {
    /// The worker's wasm started; it accepts requests from now on.
    Ready { backend: BackendInfo },
    /// A stage of loading the model (no byte counts: parsing is one synchronous step).
    Loading { stage: String },
    Loaded { model: ModelInfo, seconds: f64 },
    /// The backend the loaded model runs on, and why (sent before `Loaded`): it replaces
    /// what `Ready` guessed, since the page's choice or a GPU failing at load can change it.
    Backend { backend: BackendInfo },
    Progress {
        job: u32,
        stage: Stage,
        done: usize,
        total: usize,
    },
    Scores { job: u32, rows: Vec<ScoreRow> },
    CosLow { job: u32, result: CosLowOut },
    /// Job `job` stopped on the page's `Cancel`; the model stays loaded.
    Cancelled { job: u32 },
    /// The worker's WebAssembly memory after a load or a job. It never shrinks, so it is also
    /// the peak so far (the engine's weights, caches and gradients all live in it).
    Memory { bytes: f64 },
    /// `job` is None for a failed load or a malformed request.
    Failed { job: Option<u32>, message: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Scoring,
    Gradients,
}

/// The backend the page asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackendPreference {
    /// WebGPU on a hardware adapter that passes the worker's checks, else the CPU; also the
    /// CPU when the GPU fails while the model loads (out of memory, device lost).
    #[default]
    Auto,
    /// WebGPU on whatever adapter the browser offers, software ones (SwiftShader) included;
    /// a GPU failure fails the load instead of falling back.
    Webgpu,
    Cpu,
}

impl BackendPreference {
    pub const ALL: [BackendPreference; 3] = [BackendPreference::Auto, BackendPreference::Webgpu, BackendPreference::Cpu];

    /// The wire name ("auto", "webgpu", "cpu"), also the value of the page's selector.
    pub fn name(self) -> &'static str {
        match self {
            BackendPreference::Auto => "auto",
            BackendPreference::Webgpu => "webgpu",
            BackendPreference::Cpu => "cpu",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }
}

/// Which backend computes, and what the browser offers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackendInfo {
    /// "cpu" or "webgpu".
    pub backend: String,
    /// The WebGPU adapter the browser reports, if any.
    pub adapter: Option<AdapterInfo>,
    /// Why this backend was chosen, in words for the page.
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct AdapterInfo {
    pub vendor: String,
    pub architecture: String,
    pub device: String,
    pub description: String,
    /// WebGPU's `isFallbackAdapter`: the browser says this adapter is a software one.
    #[serde(default)]
    pub fallback: bool,
}

impl AdapterInfo {
    /// A CPU rasterizer (SwiftShader, lavapipe/llvmpipe): correct but slower than the CPU
    /// backend, so `auto` does not choose it. Browsers flag it with `isFallbackAdapter`;
    /// older ones only name it.
    pub fn is_software(&self) -> bool {
        let text = [&self.vendor, &self.architecture, &self.device, &self.description]
            .iter()
            .map(|s| s.to_ascii_lowercase())
            .collect::<Vec<_>>()
            .join(" ");
        self.fallback || ["swiftshader", "llvmpipe", "lavapipe", "software"].iter().any(|w| text.contains(w))
    }

    /// A one-line description; empty parts are left out.
    pub fn summary(&self) -> String {
        let parts: Vec<&str> = [&self.vendor, &self.architecture, &self.device, &self.description]
            .into_iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .collect();
        if parts.is_empty() {
            "an adapter that does not describe itself".into()
        } else {
            parts.join(" · ")
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// The file name it was loaded from.
    pub file: String,
    /// `general.name` from the GGUF metadata, when present.
    pub name: Option<String>,
    /// "llama" or "qwen2".
    pub arch: String,
    pub layers: usize,
    pub hidden: usize,
    pub vocab: usize,
    pub context: usize,
    pub bytes: f64,
}

/// One prompt's scores; a statistic with no counted token is None (as in the CLI's CSV).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ScoreRow {
    pub avg_confidence: Option<f64>,
    pub ppl: Option<f64>,
    pub mean_entropy: Option<f64>,
    pub least_confidence: Option<f64>,
    pub mean_margin: Option<f64>,
    pub min_margin: Option<f64>,
    pub generated: String,
    pub embedding: Vec<f32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CosLowOut {
    pub coslow: f64,
    pub cosines: Vec<Vec<f64>>,
    pub pairs: usize,
    pub examples: usize,
    pub losses: Vec<f64>,
    pub seconds: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adapter_summary_skips_empty_parts() {
        let a = AdapterInfo {
            vendor: "google".into(),
            architecture: "swiftshader".into(),
            ..AdapterInfo::default()
        };
        assert_eq!(a.summary(), "google · swiftshader");
        assert!(AdapterInfo::default().summary().contains("does not describe"));
    }

    #[test]
    fn software_adapters_are_recognised() {
        let swiftshader = AdapterInfo {
            vendor: "google".into(),
            architecture: "swiftshader".into(),
            ..AdapterInfo::default()
        };
        assert!(swiftshader.is_software());
        let flagged = AdapterInfo {
            vendor: "mesa".into(),
            fallback: true,
            ..AdapterInfo::default()
        };
        assert!(flagged.is_software());
        let nvidia = AdapterInfo {
            vendor: "nvidia".into(),
            architecture: "hopper".into(),
            ..AdapterInfo::default()
        };
        assert!(!nvidia.is_software());
    }

    #[test]
    fn load_without_a_backend_means_auto() {
        let r: Request = serde_json::from_str(r#"{"kind":"load","name":"m.gguf"}"#).unwrap();
        assert_eq!(r, Request::Load { name: "m.gguf".into(), backend: BackendPreference::Auto });
        let r: Request = serde_json::from_str(r#"{"kind":"load","name":"m","backend":"webgpu"}"#).unwrap();
        assert_eq!(r, Request::Load { name: "m".into(), backend: BackendPreference::Webgpu });
        for p in BackendPreference::ALL {
            assert_eq!(BackendPreference::from_name(p.name()), Some(p));
            assert_eq!(serde_json::to_value(p).unwrap(), p.name());
        }
        assert_eq!(BackendPreference::from_name("gpu"), None);
    }

    #[test]
    fn cancel_round_trips_with_its_job() {
        let r: Request = serde_json::from_str(r#"{"kind":"cancel","job":7}"#).unwrap();
        assert_eq!(r, Request::Cancel { job: 7 });
        assert_eq!(serde_json::to_string(&Reply::Cancelled { job: 7 }).unwrap(), r#"{"kind":"cancelled","job":7}"#);
    }
}
