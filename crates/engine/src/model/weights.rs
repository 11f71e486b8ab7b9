//! The seam between loading and the math: one Hugging Face tensor layout, whatever the file.
//!
//! Every backend reads the same names and shapes (`model.embed_tokens.weight` [vocab, hidden],
//! projections [out, in], rotary embeddings in the "rotate_half" convention), so a GGUF file,
//! a safetensors checkpoint and a random test model are interchangeable.

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};
use labelcast_core::rng::Rng;
use labelcast_modelfile::ModelConfig;

use super::matrix::Matrix;
use crate::error::Result;

/// The seven projection types that carry LoRA adapters, in the order gradients are flattened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Proj {
    Q,
    K,
    V,
    O,
    Gate,
    Up,
    Down,
}

impl Proj {
    pub const ALL: [Proj; 7] = [Proj::Q, Proj::K, Proj::V, Proj::O, Proj::Gate, Proj::Up, Proj::Down];

    /// The Hugging Face module path inside a decoder layer (`self_attn.q_proj`, `mlp.up_proj`).
    pub fn module(self) -> &'static str {
        match self {
            Proj::Q => "self_attn.q_proj",
            Proj::K => "self_attn.k_proj",
            Proj::V => "self_attn.v_proj",
            Proj::O => "self_attn.o_proj",
            Proj::Gate => "mlp.gate_proj",
            Proj::Up => "mlp.up_proj",
            Proj::Down => "mlp.down_proj",
        }
    }

    /// (out_features, in_features) of this projection.
    pub fn shape(self, c: &ModelConfig) -> (usize, usize) {
        let (h, i) = (c.hidden_size, c.intermediate_size);
        match self {
            Proj::Q => (c.q_dim(), h),
            Proj::K | Proj::V => (c.kv_dim(), h),
            Proj::O => (h, c.q_dim()),
            Proj::Gate | Proj::Up => (i, h),
            Proj::Down => (h, i),
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

#[derive(Debug, Clone)]
pub struct LayerWeights {
    pub input_norm: Tensor,
    /// Indexed by `Proj::index()`; each [out, in].
    pub proj: [Matrix; 7],
    /// q, k, v biases (Qwen2 only).
    pub qkv_bias: Option<[Tensor; 3]>,
    pub post_norm: Tensor,
}

impl LayerWeights {
    pub fn w(&self, p: Proj) -> &Matrix {
        &self.proj[p.index()]
    }
}

#[derive(Debug, Clone)]
pub struct Weights {
    pub config: ModelConfig,
    /// [vocab, hidden], read by rows (`Matrix::lookup`): kept in its blocks with the other
    /// matrices, where a large vocabulary's f32 rows would outweigh them.
    pub embed: Matrix,
    pub layers: Vec<LayerWeights>,
    pub norm: Tensor,
    /// `None` when the output layer is tied to the embedding.
    pub lm_head: Option<Matrix>,
}

/// Every tensor name and shape the math expects (the model-file crate's list: one rule for
/// loading, checking and random test models).
pub use labelcast_modelfile::expected_tensors;

impl Weights {
    /// Builds the weights from a name → tensor map in the Hugging Face layout. Tensors are
    /// converted to f32; a missing tensor or a wrong shape is an error naming the tensor.
    /// Extra tensors (rotary caches, an unused `lm_head` of a tied model) are ignored.
    pub fn from_tensors(config: ModelConfig, tensors: HashMap<String, Tensor>) -> Result<Self> {
        Self::from_parts(config, tensors, HashMap::new())
    }

    /// `from_tensors`, with the embedding, projections and `lm_head` found in `matrices` taken
    /// as they are (kept quantized); the rest come from `tensors`.
    pub(crate) fn from_parts(
        config: ModelConfig,
        mut tensors: HashMap<String, Tensor>,
        mut matrices: HashMap<String, Matrix>,
    ) -> Result<Self> {
        use labelcast_modelfile::ModelFileError as E;
        config.validate()?;
        let mut take = |name: String, shape: Vec<usize>| -> Result<Tensor> {
            let t = tensors.remove(&name).ok_or_else(|| E::MissingTensor(name.clone()))?;
            if t.dims() != shape.as_slice() {
                return Err(E::ShapeMismatch { name, expected: shape, found: t.dims().to_vec() }.into());
            }
            Ok(t.to_dtype(DType::F32)?.to_device(&Device::Cpu)?.contiguous()?)
        };
        let mut matrix = |name: String,
                          shape: Vec<usize>,
                          take: &mut dyn FnMut(String, Vec<usize>) -> Result<Tensor>|
         -> Result<Matrix> {
            match matrices.remove(&name) {
                Some(m) if m.dims() != shape.as_slice() => {
                    Err(E::ShapeMismatch { name, expected: shape, found: m.dims().to_vec() }.into())
                }
                Some(m) => Ok(m),
                None => Ok(Matrix::Dense(take(name, shape)?)),
            }
        };
        let c = &config;
        let h = c.hidden_size;
        let embed = matrix("model.embed_tokens.weight".into(), vec![c.vocab_size, h], &mut take)?;
        let mut layers = Vec::with_capacity(c.num_layers);
        for l in 0..c.num_layers {
            let p = format!("model.layers.{l}");
            let input_norm = take(format!("{p}.input_layernorm.weight"), vec![h])?;
            let mut proj = Vec::with_capacity(7);
            for pr in Proj::ALL {
                let (o, i) = pr.shape(c);
                proj.push(matrix(format!("{p}.{}.weight", pr.module()), vec![o, i], &mut take)?);
            }
            let qkv_bias = if c.qkv_bias() {
                let mut b = Vec::with_capacity(3);
                for pr in [Proj::Q, Proj::K, Proj::V] {
                    b.push(take(format!("{p}.{}.bias", pr.module()), vec![pr.shape(c).0])?);
                }
                Some(b.try_into().expect("three biases"))
            } else {
                None
            };
            let post_norm = take(format!("{p}.post_attention_layernorm.weight"), vec![h])?;
            layers.push(LayerWeights {
                input_norm,
                proj: proj.try_into().expect("seven projections"),
                qkv_bias,
                post_norm,
            });
        }
        let norm = take("model.norm.weight".into(), vec![h])?;
        let lm_head = if c.tie_word_embeddings {
            None
        } else {
            Some(matrix("lm_head.weight".into(), vec![c.vocab_size, h], &mut take)?)
        };
        Ok(Weights { config, embed, layers, norm, lm_head })
    }

    /// A deterministic random model for tests: projections uniform in ±1/sqrt(in) (unit-scale
    /// activations, so softmaxes are neither flat nor one-hot), norm weights near 1.
    pub fn random(config: &ModelConfig, seed: u64) -> Result<Self> {
        let mut rng = Rng::new(seed);
        let mut map = HashMap::new();
        for (name, shape) in expected_tensors(config) {
            let n: usize = shape.iter().product();
            let data: Vec<f32> = if name.ends_with("norm.weight") {
                (0..n).map(|_| (0.8 + 0.4 * rng.next_f64()) as f32).collect()
            } else {
                let fan_in = if name.contains("embed_tokens") || name.ends_with(".bias") { 1 } else { shape[1] };
                let bound = 1.0 / (fan_in as f64).sqrt();
                (0..n).map(|_| ((2.0 * rng.next_f64() - 1.0) * bound) as f32).collect()
            };
            map.insert(name, Tensor::from_vec(data, shape, &Device::Cpu)?);
        }
        Self::from_tensors(config.clone(), map)
    }

    /// The same weights in another float type (f64 for gradient checks).
    pub fn to_dtype(&self, dtype: DType) -> Result<Self> {
        let cv = |t: &Tensor| t.to_dtype(dtype);
        let mut layers = Vec::with_capacity(self.layers.len());
        for l in &self.layers {
            let proj: Vec<Matrix> = l.proj.iter().map(|m| m.to_dtype(dtype)).collect::<Result<_>>()?;
            let qkv_bias = match &l.qkv_bias {
                Some(b) => Some([cv(&b[0])?, cv(&b[1])?, cv(&b[2])?]),
                None => None,
            };
            layers.push(LayerWeights {
                input_norm: cv(&l.input_norm)?,
                proj: proj.try_into().expect("seven projections"),
                qkv_bias,
                post_norm: cv(&l.post_norm)?,
            });
        }
        Ok(Weights {
            config: self.config.clone(),
            embed: self.embed.to_dtype(dtype)?,
            layers,
            norm: cv(&self.norm)?,
            lm_head: self.lm_head.as_ref().map(|m| m.to_dtype(dtype)).transpose()?,
        })
    }

    /// Whether any matrix is kept in its file's blocks (`CpuWeights`).
    pub fn is_quantized(&self) -> bool {
        let q = |m: &Matrix| matches!(m, Matrix::Quantized(_));
        q(&self.embed) || self.layers.iter().any(|l| l.proj.iter().any(q)) || self.lm_head.as_ref().is_some_and(q)
    }

    /// The float type of the dense weights and the activations (the norms are always dense).
    pub fn dtype(&self) -> DType {
        self.norm.dtype()
    }

    /// The output projection [vocab, hidden]: `lm_head.weight`, or the embedding when tied
    /// (a reference-counted handle, cheap to make; a quantized embedding multiplies as its
    /// blocks, like an untied quantized `lm_head`).
    pub fn output(&self) -> &Matrix {
        self.lm_head.as_ref().unwrap_or(&self.embed)
    }

    /// The most f32 values of one weight matrix the gradients' exact products dequantize at
    /// once (`Matrix::slice_floats`), for the activation estimate (`grad::CpuModel`).
    pub fn dequant_slice_floats(&self) -> u64 {
        let layers = self.layers.iter().flat_map(|l| l.proj.iter());
        layers.chain([self.output()]).map(Matrix::slice_floats).max().unwrap_or(0)
    }
}
