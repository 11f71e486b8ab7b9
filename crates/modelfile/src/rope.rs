//! Rotary-embedding frequency scaling (Llama 3.1+ "llama3", "linear", and llama.cpp's
//! per-frequency divisors), read from config.json or GGUF and turned into inverse frequencies
//! once, so every backend rotates with exactly the same angles.

use serde::{Deserialize, Serialize};

use crate::{ModelFileError, Result};

/// How the base inverse frequencies `1 / theta^(2i/d)` are changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum RopeScaling {
    /// Hugging Face "linear": every inverse frequency divided by `factor` (positions / factor).
    Linear { factor: f64 },
    /// Hugging Face "llama3" (`_compute_llama3_parameters`): wavelengths longer than
    /// `original_max_position_embeddings / low_freq_factor` are stretched by `factor`, shorter
    /// than `original / high_freq_factor` kept, and those in between interpolated smoothly.
    Llama3 { factor: f64, low_freq_factor: f64, high_freq_factor: f64, original_max_position_embeddings: usize },
    /// llama.cpp's `rope_freqs.weight` [head_dim / 2]: inverse frequency i is divided by
    /// `divisors[i]` (what convert_hf_to_gguf.py stores for "llama3" models).
    Divisors { divisors: Vec<f64> },
}

impl RopeScaling {
    /// The scaled inverse frequencies from the base ones ([`base_inv_freq`]), in f64.
    /// PyTorch computes them in f32, which differs by ~1e-7 relative, far below the engine's
    /// tolerances.
    pub fn apply(&self, base: &[f64]) -> Vec<f64> {
        match self {
            RopeScaling::Linear { factor } => base.iter().map(|f| f / factor).collect(),
            RopeScaling::Divisors { divisors } => base.iter().zip(divisors).map(|(f, d)| f / d).collect(),
            &RopeScaling::Llama3 {
                factor,
                low_freq_factor: low,
                high_freq_factor: high,
                original_max_position_embeddings,
            } => {
                let old = original_max_position_embeddings as f64;
                let (low_wavelen, high_wavelen) = (old / low, old / high);
                base.iter()
                    .map(|&f| {
                        let wavelen = 2.0 * std::f64::consts::PI / f;
                        if wavelen < high_wavelen {
                            f
                        } else if wavelen > low_wavelen {
                            f / factor
                        } else {
                            let smooth = (old / wavelen - low) / (high - low);
                            (1.0 - smooth) * f / factor + smooth * f
                        }
                    })
                    .collect()
            }
        }
    }

    /// Checked at load time so the math never divides by zero or produces NaN angles.
    pub(crate) fn validate(&self, head_dim: usize) -> Result<()> {
        let bad = |why: String| Err(ModelFileError::Config(format!("rope scaling: {why}")));
        let positive = |x: f64| x.is_finite() && x > 0.0;
        match self {
            RopeScaling::Linear { factor } if !positive(*factor) => bad(format!("factor {factor} must be positive")),
            RopeScaling::Llama3 { factor, low_freq_factor, high_freq_factor, original_max_position_embeddings } => {
                if !(positive(*factor) && positive(*low_freq_factor) && positive(*high_freq_factor)) {
                    return bad(format!(
                        "llama3 factors must be positive (factor {factor}, low_freq_factor {low_freq_factor}, \
                         high_freq_factor {high_freq_factor})"
                    ));
                }
                // Equal factors would divide by zero in the smoothing step.
                if low_freq_factor >= high_freq_factor {
                    return bad(format!(
                        "llama3 low_freq_factor {low_freq_factor} must be below high_freq_factor {high_freq_factor}"
                    ));
                }
                if *original_max_position_embeddings == 0 {
                    return bad("llama3 original_max_position_embeddings is 0".into());
                }
                Ok(())
            }
            RopeScaling::Divisors { divisors } => {
                if divisors.len() != head_dim / 2 {
                    return bad(format!(
                        "rope_freqs.weight has {} values, expected head_dim / 2 = {}",
                        divisors.len(),
                        head_dim / 2
                    ));
                }
                match divisors.iter().find(|&&d| !positive(d)) {
                    Some(d) => bad(format!("rope_freqs.weight holds {d}; every divisor must be positive")),
                    None => Ok(()),
                }
            }
            RopeScaling::Linear { .. } => Ok(()),
        }
    }
}

/// The unscaled inverse frequencies `1 / theta^(2i / head_dim)`, i < head_dim / 2.
pub fn base_inv_freq(head_dim: usize, theta: f64) -> Vec<f64> {
    (0..head_dim / 2).map(|i| 1.0 / theta.powf((2 * i) as f64 / head_dim as f64)).collect()
}

/// `rope_scaling` of a config.json: the classic `rope_scaling` key (transformers 4), else
/// transformers 5's `rope_parameters`. "default" or absent means none; "linear" and "llama3"
/// are read; any other type is refused by name (its frequencies would be wrong silently).
pub(crate) fn from_hf_json(file: &str, config: &serde_json::Value) -> Result<Option<RopeScaling>> {
    let s = match config.get("rope_scaling").filter(|s| !s.is_null()) {
        Some(s) => s,
        None => match config.get("rope_parameters").filter(|s| !s.is_null()) {
            Some(s) => s,
            None => return Ok(None),
        },
    };
    let kind = s.get("rope_type").or_else(|| s.get("type")).and_then(|t| t.as_str()).unwrap_or("default");
    let num = |key: &str| -> Result<f64> {
        s.get(key).and_then(|v| v.as_f64()).ok_or_else(|| {
            ModelFileError::Config(format!("{file}: rope_scaling type \"{kind}\" needs a number \"{key}\": {s}"))
        })
    };
    match kind {
        "default" => Ok(None),
        "linear" => Ok(Some(RopeScaling::Linear { factor: num("factor")? })),
        "llama3" => {
            let (factor, low_freq_factor, high_freq_factor) =
                (num("factor")?, num("low_freq_factor")?, num("high_freq_factor")?);
            // As transformers: the pretraining context from the scaling block, else the
            // top-level original_max_position_embeddings, else max_position_embeddings.
            let original = s
                .get("original_max_position_embeddings")
                .or_else(|| config.get("original_max_position_embeddings"))
                .or_else(|| config.get("max_position_embeddings"))
                .and_then(|v| v.as_u64())
                .and_then(|v| usize::try_from(v).ok())
                .ok_or_else(|| {
                    ModelFileError::Config(format!(
                        "{file}: llama3 rope_scaling needs original_max_position_embeddings"
                    ))
                })?;
            Ok(Some(RopeScaling::Llama3 {
                factor,
                low_freq_factor,
                high_freq_factor,
                original_max_position_embeddings: original,
            }))
        }
        other => Err(ModelFileError::Config(format!(
            "{file}: rope_scaling type \"{other}\" is not supported (supported: default, linear, llama3)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand-computed: head_dim 8, theta 10000 gives wavelengths 2π·{1, 10, 100, 1000}; with an
    /// original context of 64, low 1 and high 4 the cut-offs are 64 and 16: the first is kept,
    /// the second (62.8) interpolated, the last two divided by the factor.
    #[test]
    fn llama3_keeps_high_stretches_low_and_interpolates_between() {
        let base = base_inv_freq(8, 10_000.0);
        assert!((base[1] - 0.1).abs() < 1e-15 && (base[3] - 0.001).abs() < 1e-15);
        let s = RopeScaling::Llama3 {
            factor: 8.0,
            low_freq_factor: 1.0,
            high_freq_factor: 4.0,
            original_max_position_embeddings: 64,
        };
        let f = s.apply(&base);
        assert_eq!(f[0], base[0]);
        let smooth = (64.0 / (2.0 * std::f64::consts::PI / 0.1) - 1.0) / 3.0;
        assert!((f[1] - (0.1 / 8.0 * (1.0 - smooth) + 0.1 * smooth)).abs() < 1e-15);
        assert!(f[1] < base[1] && f[1] > base[1] / 8.0);
        assert_eq!(f[2], base[2] / 8.0);
        assert_eq!(f[3], base[3] / 8.0);
        assert!(s.validate(8).is_ok());
    }

    #[test]
    fn config_json_types() {
        let j = |v: serde_json::Value| from_hf_json("c.json", &v);
        assert_eq!(j(serde_json::json!({})).unwrap(), None);
        assert_eq!(j(serde_json::json!({"rope_scaling": null})).unwrap(), None);
        assert_eq!(
            j(serde_json::json!({"rope_parameters": {"rope_type": "default", "rope_theta": 1.0}})).unwrap(),
            None
        );
        assert_eq!(
            j(serde_json::json!({"rope_scaling": {"type": "linear", "factor": 2.0}})).unwrap(),
            Some(RopeScaling::Linear { factor: 2.0 })
        );
        let l3 = serde_json::json!({"max_position_embeddings": 512, "rope_parameters": {
            "rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0}});
        assert_eq!(
            j(l3).unwrap(),
            Some(RopeScaling::Llama3 {
                factor: 8.0,
                low_freq_factor: 1.0,
                high_freq_factor: 4.0,
                original_max_position_embeddings: 512
            })
        );
        let e = j(serde_json::json!({"rope_scaling": {"rope_type": "yarn", "factor": 4.0}})).unwrap_err();
        assert!(e.to_string().contains("\"yarn\" is not supported"), "{e}");
        let e = j(serde_json::json!({"rope_scaling": {"rope_type": "llama3", "factor": 8.0}})).unwrap_err();
        assert!(e.to_string().contains("low_freq_factor"), "{e}");
    }

    #[test]
    fn invalid_scalings_are_refused() {
        let l3 = |low, high| RopeScaling::Llama3 {
            factor: 8.0,
            low_freq_factor: low,
            high_freq_factor: high,
            original_max_position_embeddings: 64,
        };
        assert!(l3(4.0, 4.0).validate(8).is_err());
        assert!(l3(0.0, 4.0).validate(8).is_err());
        assert!(RopeScaling::Linear { factor: 0.0 }.validate(8).is_err());
        assert!(RopeScaling::Divisors { divisors: vec![1.0; 3] }.validate(8).is_err());
        assert!(RopeScaling::Divisors { divisors: vec![1.0, 2.0, f64::NAN, 4.0] }.validate(8).is_err());
        assert!(RopeScaling::Divisors { divisors: vec![1.0, 2.0, 3.0, 4.0] }.validate(8).is_ok());
    }
}
