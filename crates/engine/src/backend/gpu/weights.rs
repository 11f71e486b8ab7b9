//! The model's weights on the GPU: projections and embeddings stay in their file format
//! (quantized blocks are multiplied as they are), norms and biases as f32.

use candle_core::{DType, Tensor as Ct};
use labelcast_gpu::ops::quant::{GpuLayout, QWeight, UPLOAD_PIECE_BYTES};
use labelcast_gpu::{Gpu, Tensor};
use labelcast_modelfile::{ModelConfig, ModelFile, TensorType};
use std::borrow::Cow;

use crate::error::{EngineError, Result};
use crate::model::{expected_tensors, Proj, Weights};

pub(crate) struct GpuLayer {
    pub input_norm: Tensor,
    /// Indexed by `Proj::index()`.
    pub proj: Vec<QWeight>,
    pub qkv_bias: Option<[Tensor; 3]>,
    pub post_norm: Tensor,
}

pub(crate) struct GpuWeights {
    pub embed: QWeight,
    pub layers: Vec<GpuLayer>,
    pub norm: Tensor,
    pub lm_head: Option<QWeight>,
}

impl GpuWeights {
    pub fn output(&self) -> &QWeight {
        self.lm_head.as_ref().unwrap_or(&self.embed)
    }
}

/// Where tensors come from: a matrix uploaded as its source holds it, f32 values of a vector.
trait Source {
    fn matrix(&self, gpu: &Gpu, name: &str, rows: usize, cols: usize) -> Result<QWeight>;
    fn vector(&self, name: &str) -> Result<Vec<f32>>;
}

struct FileSource<'a>(&'a ModelFile);

impl Source for FileSource<'_> {
    /// In pieces of rows read from the file: a model read from disk in slices (the browser's
    /// large files) never has more than one piece of a matrix in memory.
    fn matrix(&self, gpu: &Gpu, name: &str, rows: usize, cols: usize) -> Result<QWeight> {
        let format = self.0.tensor_type(name)?;
        gpu.upload_weight_rows(name, format, rows, cols, gpu.max_binding(), UPLOAD_PIECE_BYTES, |r| {
            self.0.raw_rows(name, r).map_err(EngineError::from)
        })
    }
    fn vector(&self, name: &str) -> Result<Vec<f32>> {
        Ok(self.0.tensor_f32(name)?.flatten_all()?.to_vec1::<f32>()?)
    }
}

struct WeightsSource<'a>(&'a Weights);

impl WeightsSource<'_> {
    fn get(&self, name: &str) -> Result<Cow<'_, Ct>> {
        let w = self.0;
        if name == "model.embed_tokens.weight" {
            return w.embed.dense();
        }
        if name == "model.norm.weight" {
            return Ok(Cow::Borrowed(&w.norm));
        }
        if name == "lm_head.weight" {
            return w.lm_head.as_ref().ok_or_else(|| EngineError::Invalid("no lm_head".into()))?.dense();
        }
        let rest =
            name.strip_prefix("model.layers.").ok_or_else(|| EngineError::Invalid(format!("unknown tensor {name}")))?;
        let (l, field) = rest.split_once('.').unwrap_or((rest, ""));
        let lw = l
            .parse::<usize>()
            .ok()
            .and_then(|l| w.layers.get(l))
            .ok_or_else(|| EngineError::Invalid(format!("unknown tensor {name}")))?;
        if field == "input_layernorm.weight" {
            return Ok(Cow::Borrowed(&lw.input_norm));
        }
        if field == "post_attention_layernorm.weight" {
            return Ok(Cow::Borrowed(&lw.post_norm));
        }
        for (i, p) in Proj::ALL.iter().enumerate() {
            if field == format!("{}.weight", p.module()) {
                return lw.w(*p).dense();
            }
            if field == format!("{}.bias", p.module()) {
                if let Some(b) = lw.qkv_bias.as_ref().and_then(|b| b.get(i)) {
                    return Ok(Cow::Borrowed(b));
                }
            }
        }
        Err(EngineError::Invalid(format!("unknown tensor {name}")))
    }
}

impl Source for WeightsSource<'_> {
    fn matrix(&self, gpu: &Gpu, name: &str, rows: usize, cols: usize) -> Result<QWeight> {
        let v = self.get(name)?.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
        Ok(gpu.upload_weight(name, TensorType::F32, rows, cols, bytemuck::cast_slice(&v))?)
    }
    fn vector(&self, name: &str) -> Result<Vec<f32>> {
        Ok(self.get(name)?.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?)
    }
}

/// The GPU memory this model's weights take once uploaded: matrices in their (repacked)
/// blocks, norms and biases as f32. What a page states before loading: WebGPU says how large
/// one buffer may be, never how much memory the GPU has.
pub fn gpu_weight_bytes(file: &ModelFile) -> Result<u64> {
    let mut total = 0;
    for (name, dims) in expected_tensors(&file.config) {
        total += match dims.as_slice() {
            &[rows, cols] => rows as u64 * file.tensor_type(&name)?.gpu_row_bytes(cols) as u64,
            other => 4 * other.iter().product::<usize>() as u64,
        };
    }
    Ok(total)
}

impl GpuWeights {
    pub fn from_model_file(gpu: &Gpu, file: &ModelFile) -> Result<Self> {
        Self::upload(gpu, &file.config, &FileSource(file))
    }

    pub fn from_weights(gpu: &Gpu, w: &Weights) -> Result<Self> {
        Self::upload(gpu, &w.config, &WeightsSource(w))
    }

    fn upload(gpu: &Gpu, c: &ModelConfig, src: &dyn Source) -> Result<Self> {
        let shapes: std::collections::HashMap<String, Vec<usize>> = expected_tensors(c).into_iter().collect();
        let matrix = |name: String| -> Result<QWeight> {
            let dims = &shapes[&name];
            src.matrix(gpu, &name, dims[0], dims[1])
        };
        let vector = |name: String| -> Result<Tensor> {
            let v = src.vector(&name)?;
            Ok(gpu.upload_static(&name, bytemuck::cast_slice(&v), &[v.len()], labelcast_gpu::DType::F32)?)
        };
        let embed = matrix("model.embed_tokens.weight".into())?;
        let mut layers = Vec::with_capacity(c.num_layers);
        for l in 0..c.num_layers {
            let p = format!("model.layers.{l}");
            let proj =
                Proj::ALL.iter().map(|pr| matrix(format!("{p}.{}.weight", pr.module()))).collect::<Result<Vec<_>>>()?;
            let qkv_bias = if c.qkv_bias() {
                Some([
                    vector(format!("{p}.self_attn.q_proj.bias"))?,
                    vector(format!("{p}.self_attn.k_proj.bias"))?,
                    vector(format!("{p}.self_attn.v_proj.bias"))?,
                ])
            } else {
                None
            };
            layers.push(GpuLayer {
                input_norm: vector(format!("{p}.input_layernorm.weight"))?,
                proj,
                qkv_bias,
                post_norm: vector(format!("{p}.post_attention_layernorm.weight"))?,
            });
        }
        let lm_head = if c.tie_word_embeddings { None } else { Some(matrix("lm_head.weight".into())?) };
        Ok(GpuWeights { embed, layers, norm: vector("model.norm.weight".into())?, lm_head })
    }
}
