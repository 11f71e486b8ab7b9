//! The CPU model: the weights and, for gradient checks, LoRA branches. Its forward pass is
//! in forward.rs (the whole stack) and layer.rs (one decoder layer), its backward in
//! backward.rs.

use candle_core::Tensor;

use crate::grad::CpuModel;
use crate::model::Weights;

/// A LoRA branch `y += scale * B (A x)` on all seven projections of one layer.
/// A is [r, in], B is [out, r], indexed by `Proj::index()`.
#[derive(Debug, Clone)]
pub struct LoraLayer {
    pub a: [Tensor; 7],
    pub b: [Tensor; 7],
    pub scale: f64,
}

#[derive(Debug, Clone)]
pub struct Model {
    pub weights: Weights,
}

impl Model {
    pub fn new(weights: Weights) -> Self {
        Model { weights }
    }

    pub fn config(&self) -> &labelcast_modelfile::ModelConfig {
        &self.weights.config
    }

    /// What the backward's activation estimate needs of this model (`grad::CpuModel`).
    pub fn estimate(&self) -> CpuModel<'_> {
        CpuModel { config: self.config(), slice_floats: self.weights.dequant_slice_floats() }
    }
}
