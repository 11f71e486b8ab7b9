//! LoRA adapters for CoS-Low (METHOD 1d): the A matrices, and each example's B gradient.
//!
//! With B = 0 the adapters add nothing to the forward pass and only B has a gradient:
//! grad_B = scale · dYᵀ (X Aᵀ), [out, r], summed over positions, where X is the
//! projection's input and dY the gradient at its output. So the base model's forward and
//! backward are reused unchanged and no weight-sized gradient is ever formed.

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};
use labelcast_core::rng::Rng;
use labelcast_modelfile::ModelConfig;

use crate::error::{EngineError, Result};
use crate::model::Proj;

pub use labelcast_core::method::{LORA_ALPHA as DEFAULT_ALPHA, LORA_RANK as DEFAULT_RANK};

/// The A matrices of every adapter ([r, in] per layer and projection) and the LoRA scale.
#[derive(Debug, Clone)]
pub struct LoraA {
    pub rank: usize,
    /// alpha / r.
    pub scale: f64,
    /// Per layer, indexed by `Proj::index()`.
    pub a: Vec<[Tensor; 7]>,
}

/// Length of one example's flattened B gradient: Σ over layers and projections of out × r.
pub fn lora_grad_len(c: &ModelConfig, rank: usize) -> usize {
    c.num_layers * Proj::ALL.iter().map(|p| p.shape(c).0 * rank).sum::<usize>()
}

/// Where projection `p` of layer `l` starts in the flattened gradient. The order is PEFT's
/// parameter order: layer by layer, then q, k, v, o, gate, up, down, each [out, r] row-major.
pub fn lora_offset(c: &ModelConfig, rank: usize, l: usize, p: Proj) -> usize {
    let per_layer: usize = Proj::ALL.iter().map(|q| q.shape(c).0 * rank).sum();
    l * per_layer + Proj::ALL[..p.index()].iter().map(|q| q.shape(c).0 * rank).sum::<usize>()
}

/// Groups of `part_segments`: three thirds of the depth × (attention, MLP).
pub const PART_GROUPS: usize = 6;

/// The flattened gradient by part, for CoS-Low per part (`CoslowParts`): (start, end, group)
/// per projection of every layer, group `2·third + mlp`, where `third` is the layer's third of
/// the depth (0 early, 1 middle, 2 late) and `mlp` is 1 for gate/up/down, 0 for q/k/v/o.
pub fn part_segments(c: &ModelConfig, rank: usize) -> Vec<(usize, usize, usize)> {
    let mut out = Vec::with_capacity(c.num_layers * Proj::ALL.len());
    for l in 0..c.num_layers {
        let third = (3 * l / c.num_layers.max(1)).min(2);
        for p in Proj::ALL {
            let start = lora_offset(c, rank, l, p);
            let mlp = matches!(p, Proj::Gate | Proj::Up | Proj::Down);
            out.push((start, start + p.shape(c).0 * rank, 2 * third + usize::from(mlp)));
        }
    }
    out
}

impl LoraA {
    /// A drawn like PEFT's default (kaiming-uniform with a = √5, i.e. uniform in
    /// ±1/√in_features) from `seed`, in the flattening order of `lora_offset`.
    pub fn seeded(c: &ModelConfig, rank: usize, alpha: f64, seed: u64) -> Result<Self> {
        check_rank(rank)?;
        let mut rng = Rng::new(seed);
        let mut a = Vec::with_capacity(c.num_layers);
        for _ in 0..c.num_layers {
            let mut layer = Vec::with_capacity(7);
            for p in Proj::ALL {
                let fan_in = p.shape(c).1;
                let bound = 1.0 / (fan_in as f64).sqrt();
                let data: Vec<f32> =
                    (0..rank * fan_in).map(|_| ((2.0 * rng.next_f64() - 1.0) * bound) as f32).collect();
                layer.push(Tensor::from_vec(data, (rank, fan_in), &Device::Cpu)?);
            }
            a.push(layer.try_into().expect("seven projections"));
        }
        Ok(LoraA { rank, scale: alpha / rank as f64, a })
    }

    /// A read from a safetensors file saved by PEFT (`…layers.{i}.self_attn.q_proj.lora_A.weight`,
    /// with or without the `base_model.model.` prefix and the `.default` adapter name), so a
    /// PyTorch run is reproduced exactly. The rank is taken from the file.
    pub fn from_safetensors(c: &ModelConfig, bytes: &[u8], alpha: f64) -> Result<Self> {
        let tensors = candle_core::safetensors::load_buffer(bytes, &Device::Cpu)?;
        let mut by_suffix: HashMap<String, Tensor> = HashMap::new();
        for (name, t) in tensors {
            if let Some(i) = name.find("model.layers.") {
                by_suffix.insert(name[i..].replace(".lora_A.default.weight", ".lora_A.weight"), t);
            }
        }
        let mut rank = None;
        let mut a = Vec::with_capacity(c.num_layers);
        for l in 0..c.num_layers {
            let mut layer = Vec::with_capacity(7);
            for p in Proj::ALL {
                let name = format!("model.layers.{l}.{}.lora_A.weight", p.module());
                let t = by_suffix
                    .remove(&name)
                    .ok_or_else(|| EngineError::Invalid(format!("LoRA file has no tensor ending in {name}")))?;
                let r = *rank.get_or_insert(t.dim(0)?);
                let want = [r, p.shape(c).1];
                if t.dims() != want {
                    return Err(EngineError::Invalid(format!(
                        "LoRA tensor {name}: expected shape {want:?}, found {:?}",
                        t.dims()
                    )));
                }
                layer.push(t.to_dtype(DType::F32)?.contiguous()?);
            }
            a.push(layer.try_into().expect("seven projections"));
        }
        let rank = rank.expect("at least one layer");
        check_rank(rank)?;
        Ok(LoraA { rank, scale: alpha / rank as f64, a })
    }

    /// The same matrices in another float type (f64 for gradient checks).
    pub fn to_dtype(&self, dtype: DType) -> Result<Self> {
        let mut a = Vec::with_capacity(self.a.len());
        for layer in &self.a {
            let v: Vec<Tensor> = layer.iter().map(|t| t.to_dtype(dtype)).collect::<candle_core::Result<_>>()?;
            a.push(v.try_into().expect("seven projections"));
        }
        Ok(LoraA { rank: self.rank, scale: self.scale, a })
    }

    /// grad_B of projection `p` in layer `l`: scale · dYᵀ (X Aᵀ), [out, r].
    pub fn grad_b(&self, l: usize, p: Proj, x: &Tensor, dy: &Tensor) -> Result<Tensor> {
        let xa = x.matmul(&self.a[l][p.index()].t()?)?;
        Ok((dy.t()?.matmul(&xa)? * self.scale)?)
    }
}

fn check_rank(rank: usize) -> Result<()> {
    if rank == 0 {
        return Err(EngineError::Invalid("LoRA rank must be at least 1".into()));
    }
    Ok(())
}
