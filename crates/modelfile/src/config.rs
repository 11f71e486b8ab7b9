//! The transformer hyper-parameters every backend needs, whatever file they came from.

use serde::{Deserialize, Serialize};

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

    /// Checks the invariants the math relies on, so a bad file fails at load time.
    pub fn validate(&self) -> crate::Result<()> {
        let bad = |why: String| Err(crate::ModelFileError::Config(why));
        if self.num_layers == 0 || self.hidden_size == 0 || self.vocab_size == 0 || self.head_dim == 0 {
            return bad(format!("zero-sized model: {self:?}"));
        }
        if self.num_kv_heads == 0 || self.num_heads % self.num_kv_heads != 0 {
            return bad(format!("{} attention heads cannot be grouped over {} KV heads", self.num_heads, self.num_kv_heads));
        }
        if self.head_dim % 2 != 0 {
            return bad(format!("head dimension {} must be even for rotary embeddings", self.head_dim));
        }
        if !(self.rms_norm_eps > 0.0 && self.rope_theta > 0.0) {
            return bad(format!("rms_norm_eps {} and rope_theta {} must be positive", self.rms_norm_eps, self.rope_theta));
        }
        Ok(())
    }
}
