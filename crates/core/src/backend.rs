//! Which backend computes a model: the user's choice, and the backend it resolves to. Names
//! only; the backends themselves are the engine's. The CLI writes the GPU "gpu" (`--backend
//! gpu`, it runs on Vulkan or Metal); the page and its messages to the worker write it
//! "webgpu", the browser's API, and keep that name in what they save.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The backend the user asks for: the CLI's `--backend`, the page's "Compute on".
/// Serialized as the page names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendChoice {
    /// A hardware GPU when one is found, else the CPU (a software GPU, lavapipe or
    /// SwiftShader, is slower than the CPU backend); also the CPU when the GPU fails while
    /// the model loads, or during a job (out of memory, device lost).
    #[default]
    Auto,
    /// The GPU on whatever adapter there is, software ones included; a GPU failure is an
    /// error instead of a fall back to the CPU.
    #[serde(rename = "webgpu")]
    Gpu,
    Cpu,
}

impl BackendChoice {
    /// In the order the page offers them.
    pub const ALL: [BackendChoice; 3] = [BackendChoice::Auto, BackendChoice::Gpu, BackendChoice::Cpu];

    /// The command line's name ("auto", "gpu", "cpu"), also its `Display`.
    pub fn name(self) -> &'static str {
        match self {
            BackendChoice::Auto => "auto",
            BackendChoice::Gpu => "gpu",
            BackendChoice::Cpu => "cpu",
        }
    }

    /// The page's name ("auto", "webgpu", "cpu"): its selector's values and its serialized form.
    pub fn web_name(self) -> &'static str {
        match self {
            BackendChoice::Gpu => "webgpu",
            other => other.name(),
        }
    }

    pub fn from_web_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.web_name() == name)
    }
}

impl fmt::Display for BackendChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for BackendChoice {
    type Err = Error;
    /// Either name, the command line's or the page's.
    fn from_str(s: &str) -> Result<Self> {
        Self::ALL.into_iter().find(|c| c.name() == s || c.web_name() == s).ok_or_else(|| {
            Error::Invalid(format!("unknown backend \"{s}\"; known: {}", Self::ALL.map(|c| c.name()).join(", ")))
        })
    }
}

/// The backend a model runs on: what a [`BackendChoice`] resolved to. Serialized as the page
/// names it ("cpu", "webgpu").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    Cpu,
    #[serde(rename = "webgpu")]
    Gpu,
}

impl BackendKind {
    /// The page's name ("cpu", "webgpu"), its serialized form.
    pub fn web_name(self) -> &'static str {
        match self {
            BackendKind::Cpu => "cpu",
            BackendKind::Gpu => "webgpu",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_serializes_its_own_names() {
        for c in BackendChoice::ALL {
            assert_eq!(serde_json::to_value(c).unwrap(), c.web_name());
            assert_eq!(BackendChoice::from_web_name(c.web_name()), Some(c));
            assert_eq!(serde_json::from_value::<BackendChoice>(c.web_name().into()).unwrap(), c);
        }
        assert_eq!(BackendChoice::from_web_name("gpu"), None, "the selector's value is webgpu");
        for k in [BackendKind::Cpu, BackendKind::Gpu] {
            assert_eq!(serde_json::to_value(k).unwrap(), k.web_name());
            assert_eq!(serde_json::from_value::<BackendKind>(k.web_name().into()).unwrap(), k);
        }
    }

    #[test]
    fn the_command_line_names_parse_and_display() {
        for c in BackendChoice::ALL {
            assert_eq!(c.name().parse::<BackendChoice>().unwrap(), c);
            assert_eq!(c.to_string(), c.name());
        }
        assert_eq!("webgpu".parse::<BackendChoice>().unwrap(), BackendChoice::Gpu);
        let e = "vulkan".parse::<BackendChoice>().unwrap_err().to_string();
        assert!(e.contains("vulkan") && e.contains("auto, gpu, cpu"), "{e}");
    }
}
