//! The transformer hyper-parameters every backend needs, whatever file they came from.

use serde::{Deserialize, Serialize};

use crate::rope::{base_inv_freq, RopeScaling};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Architecture {
    /// Llama 2/3.x, SmolLM2, Mistral: no attention biases.
    Llama,
    /// Qwen2 / Qwen2.5: biases on the q, k and v projections.
    Qwen2,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    pub arch: Architecture,
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_layers: usize,
    pub num_heads: usize,
    pub num_kv_heads: usize,
    pub head_dim: usize,
    pub rope_theta: f64,
    pub rms_norm_eps: f64,
    pub max_position_embeddings: usize,
    /// The output layer reuses the embedding matrix (no `lm_head.weight`).
    pub tie_word_embeddings: bool,
    /// Scaled rotary frequencies (Llama 3.1+); None: plain `1 / theta^(2i/d)`.
    /// Backends take the frequencies from [`ModelConfig::rope_inv_freq`], never from `rope_theta`.
    #[serde(default)]
    pub rope_scaling: Option<RopeScaling>,
    /// Mistral-style sliding-window attention on every layer: query i sees key j only when
    /// `i - j < window` (positions). None: full causal attention.
    #[serde(default)]
    pub sliding_window: Option<usize>,
}

impl ModelConfig {
    pub fn qkv_bias(&self) -> bool {
        self.arch == Architecture::Qwen2
    }

    pub fn q_dim(&self) -> usize {
        self.num_heads * self.head_dim
    }

    pub fn kv_dim(&self) -> usize {
        self.num_kv_heads * self.head_dim
    }

    /// The rotary inverse frequencies [head_dim / 2], scaling applied: the one place the
    /// rotation angles (`position * inv_freq[i]`) come from.
    pub fn rope_inv_freq(&self) -> Vec<f64> {
        let base = base_inv_freq(self.head_dim, self.rope_theta);
        match &self.rope_scaling {
            Some(s) => s.apply(&base),
            None => base,
        }
    }

    /// Whether a query at position `query` attends to a key at position `key <= query`.
    pub fn in_window(&self, query: usize, key: usize) -> bool {
        self.sliding_window.is_none_or(|w| query.saturating_sub(key) < w)
    }

    /// Checks the invariants the math relies on, so a bad file fails at load time. After this
    /// passes, `q_dim`, `kv_dim` and `vocab_size * hidden_size` do not overflow (also on wasm32).
    pub fn validate(&self) -> crate::Result<()> {
        let bad = |why: String| Err(crate::ModelFileError::Config(why));
        let sizes = [
            self.vocab_size,
            self.hidden_size,
            self.intermediate_size,
            self.num_layers,
            self.num_heads,
            self.num_kv_heads,
            self.head_dim,
        ];
        if sizes.contains(&0) {
            return bad(format!("zero-sized model: {self:?}"));
        }
        // Far above any real model (vocabularies are < 2^19, widths < 2^17), and small enough that
        // a hostile file cannot make shape arithmetic overflow or the loader loop for ages.
        if sizes.iter().any(|&s| s > MAX_SIZE) || self.max_position_embeddings > 1 << 30 {
            return bad(format!("implausibly large model: {self:?}"));
        }
        let fits = [
            self.num_heads.checked_mul(self.head_dim),
            self.num_kv_heads.checked_mul(self.head_dim),
            self.vocab_size.checked_mul(self.hidden_size),
            self.intermediate_size.checked_mul(self.hidden_size),
        ];
        if fits.iter().any(|p| p.is_none_or(|n| n > isize::MAX as usize)) {
            return bad(format!("tensor sizes overflow: {self:?}"));
        }
        if self.num_heads % self.num_kv_heads != 0 {
            return bad(format!(
                "{} attention heads cannot be grouped over {} KV heads",
                self.num_heads, self.num_kv_heads
            ));
        }
        if self.head_dim % 2 != 0 {
            return bad(format!("head dimension {} must be even for rotary embeddings", self.head_dim));
        }
        if !(self.rms_norm_eps > 0.0
            && self.rope_theta > 0.0
            && self.rms_norm_eps.is_finite()
            && self.rope_theta.is_finite())
        {
            return bad(format!(
                "rms_norm_eps {} and rope_theta {} must be positive",
                self.rms_norm_eps, self.rope_theta
            ));
        }
        if let Some(s) = &self.rope_scaling {
            s.validate(self.head_dim)?;
        }
        if self.sliding_window == Some(0) {
            return bad("sliding_window 0 would hide every token".into());
        }
        Ok(())
    }
}

const MAX_SIZE: usize = 1 << 24;
