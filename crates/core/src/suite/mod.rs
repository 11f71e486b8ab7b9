//! The calibration suite: what `labelcast calibrate-suite` measures on each of the paper's
//! tasks with one model, the file it writes, and the fits that turn it into proxy coefficient
//! sets (`fit`, `proxy`). A CoS-Low computed by model M predicts a family's AUC only through a
//! fit made on M's own CoS-Low, so this file is where every proxy set comes from.

pub mod chart;
pub mod choice;
pub mod features;
pub mod fit;
pub mod permutation;
pub mod proxy;
pub mod published;
pub mod shipped;

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::rng::Rng;
use crate::stats;

/// Written into every results file; a reader refuses other formats by name.
pub const SUITE_FORMAT: &str = "labelcast-calibration-suite/1";

/// The model that computed the suite's numbers.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SuiteModel {
    /// Machine name of the model, e.g. `smollm2-135m-instruct`; proxy sets are named after it.
    pub name: String,
    /// Human label, e.g. `SmolLM2-135M-Instruct`.
    pub label: String,
    /// The model file's name (a GGUF, or a safetensors folder).
    pub file: String,
    /// SHA-256 of the model file (of every weight file in name order for a folder).
    pub sha256: String,
}

/// How the suite was run; a resumed run must use the same settings.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SuiteSettings {
    /// Rows scored per task: a seeded sample of this many (as the page's "Prompts to score"),
    /// or every row when `None`.
    pub pool_sample: Option<usize>,
    pub sample_seed: u64,
    /// Draws of `k` rows from the bottom decile; draw d uses selection seed d and LoRA seed d.
    pub draws: usize,
    pub k: usize,
    pub rank: usize,
    pub alpha: f64,
    pub max_new_tokens: usize,
    pub chat_template: bool,
    /// Whether each draw also ran CoS-Low without the first answer token (a candidate feature).
    pub skip_first: bool,
}

/// Statistics of the scored pool of one task.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PoolStats {
    /// Rows scored (the sample) and rows among them with a confidence.
    pub scored: usize,
    pub counted: usize,
    pub mean_avg_confidence: f64,
    pub mean_entropy: f64,
    pub mean_generated_tokens: f64,
    /// Distinct gold answers among the scored rows (str() of the label, trimmed); a user
    /// knows only those of the rows they label (`DrawRun::distinct_answers`).
    pub distinct_answers: usize,
}

/// One draw of `k` low-confidence rows and its CoS-Low.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DrawRun {
    pub seed: u64,
    /// The drawn rows, 0-based data rows of the task file.
    pub rows: Vec<usize>,
    /// The paper's CoS-Low (median pairwise cosine of the LoRA-B gradients).
    pub coslow: f64,
    /// The median pairwise cosine after removing the draw's mean gradient.
    pub coslow_centered: f64,
    /// CoS-Low with the first answer token out of the loss (`settings.skip_first`).
    pub coslow_skip_first: Option<f64>,
    /// Mean over the drawn rows of each example's loss (mean cross-entropy of its answer).
    pub mean_loss: f64,
    /// Mean counted answer tokens of the drawn rows.
    pub mean_answer_tokens: f64,
    /// Mean avg_confidence of the drawn rows.
    pub mean_avg_confidence: f64,
    /// Distinct answers among the drawn rows (trimmed): what a user who labeled them knows.
    pub distinct_answers: usize,
    /// CoS-Low of parts of the gradient (absent from runs before it was recorded, and where
    /// the gradients were sketched).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coslow_parts: Option<CoslowParts>,
}

/// CoS-Low (median pairwise cosine) of parts of the LoRA-B gradient: the layers of each third
/// of the depth, and the attention (q, k, v, o) and MLP (gate, up, down) projections.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CoslowParts {
    pub early: f64,
    pub middle: f64,
    pub late: f64,
    pub attention: f64,
    pub mlp: f64,
}

impl CoslowParts {
    /// From the Grams of (third, attention/MLP) groups, `grams[2·third + mlp]`: each part's
    /// Gram is the sum of its groups' (dot products add over disjoint coordinates).
    pub fn from_group_grams(grams: &[Vec<Vec<f64>>]) -> crate::Result<CoslowParts> {
        if grams.len() != 6 {
            return Err(crate::Error::Invalid(format!("expected 6 group Grams, got {}", grams.len())));
        }
        let sum = |ids: &[usize]| -> Vec<Vec<f64>> {
            let k = grams[ids[0]].len();
            (0..k).map(|i| (0..k).map(|j| ids.iter().map(|&g| grams[g][i][j]).sum()).collect()).collect()
        };
        let coslow = |g: Vec<Vec<f64>>| crate::forecast::coslow_from_matrix(&crate::forecast::cosines_from_gram(&g)?);
        Ok(CoslowParts {
            early: coslow(sum(&[0, 1]))?,
            middle: coslow(sum(&[2, 3]))?,
            late: coslow(sum(&[4, 5]))?,
            attention: coslow(sum(&[0, 2, 4]))?,
            mlp: coslow(sum(&[1, 3, 5]))?,
        })
    }
}

/// One task's run.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TaskRun {
    pub task: String,
    pub fidelity: String,
    /// Rows in the task file.
    pub rows: usize,
    /// The AUC the paper measured per family (`None` where it has no result).
    pub paper_auc: BTreeMap<String, Option<f64>>,
    pub pool: PoolStats,
    pub draws: Vec<DrawRun>,
    /// Remarks of the run (e.g. a decile smaller than k).
    #[serde(default)]
    pub notes: Vec<String>,
    pub seconds_scoring: f64,
    pub seconds_coslow: f64,
}

/// A results file: the model, the settings and one entry per finished task.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SuiteResults {
    pub format: String,
    pub model: SuiteModel,
    pub settings: SuiteSettings,
    /// The machine and backend the run used, and its load, for the timing's reader.
    #[serde(default)]
    pub machine: String,
    pub tasks: Vec<TaskRun>,
}

impl SuiteResults {
    /// Parses a results file, naming `file` in every error.
    pub fn from_json(file: &str, text: &str) -> Result<Self> {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| Error::Invalid(format!("{file}: not JSON: {e}")))?;
        match v.get("format").and_then(|f| f.as_str()) {
            Some(SUITE_FORMAT) => {}
            Some(other) => {
                return Err(Error::Invalid(format!(
                    "{file}: a results file of format \"{other}\"; this labelcast reads \"{SUITE_FORMAT}\""
                )))
            }
            None => {
                return Err(Error::Invalid(format!(
                    "{file}: not a calibration results file (no \"format\": \"{SUITE_FORMAT}\"); \
                     write one with `labelcast calibrate-suite`"
                )))
            }
        }
        let r: SuiteResults = serde_json::from_value(v).map_err(|e| Error::Invalid(format!("{file}: {e}")))?;
        for t in &r.tasks {
            if t.draws.is_empty() {
                return Err(Error::Invalid(format!("{file}: task \"{}\" has no draws", t.task)));
            }
        }
        Ok(r)
    }

    pub fn task(&self, name: &str) -> Option<&TaskRun> {
        self.tasks.iter().find(|t| t.task == name)
    }
}

/// Rows to score: every row, or a seeded sample of `size` in row order. The page's
/// "Prompts to score" and the suite draw the same rows from the same seed.
pub fn sample_rows(n: usize, size: usize, seed: u64) -> Vec<usize> {
    if size >= n {
        return (0..n).collect();
    }
    let mut rows = Rng::new(seed).sample_indices(n, size);
    rows.sort_unstable();
    rows
}

/// Median pairwise cosine of the gradients after subtracting their mean, from their Gram
/// matrix: `G_c = H G H` with `H = I − 11ᵀ/k`. What every example shares (learning the
/// answer's format) drops out, leaving how they differ.
pub fn centered_coslow(gram: &[Vec<f64>]) -> Result<f64> {
    let k = gram.len();
    if k < 3 || gram.iter().any(|r| r.len() != k) {
        return Err(Error::Invalid(format!("centered CoS-Low needs a square Gram of at least 3 examples, got {k}")));
    }
    let kf = k as f64;
    let row_mean: Vec<f64> = gram.iter().map(|r| r.iter().sum::<f64>() / kf).collect();
    let all_mean = row_mean.iter().sum::<f64>() / kf;
    let c = |i: usize, j: usize| gram[i][j] - row_mean[i] - row_mean[j] + all_mean;
    let mut cos = Vec::with_capacity(k * (k - 1) / 2);
    for i in 0..k {
        for j in i + 1..k {
            let d = (c(i, i) * c(j, j)).sqrt();
            if !(d > 0.0 && d.is_finite()) {
                return Err(Error::Invalid("centered gradients have zero norm (all examples alike)".into()));
            }
            cos.push((c(i, j) / d).clamp(-1.0, 1.0));
        }
    }
    Ok(stats::median(&cos).expect("at least 3 pairs, finite"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn centering_removes_a_shared_component() {
        // Three gradients = shared s + distinct e_i: raw cosines are high, centered ones are
        // those of e_i − mean(e), which for orthonormal e_i is −1/2.
        let s = [10.0, 0.0, 0.0, 0.0];
        let e = [[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]];
        let g: Vec<Vec<f64>> = (0..3)
            .map(|i| (0..3).map(|j| (0..4).map(|d| (s[d] + e[i][d]) * (s[d] + e[j][d])).sum()).collect())
            .collect();
        let raw = g[0][1] / (g[0][0] * g[1][1]).sqrt();
        assert!(raw > 0.99, "{raw}");
        assert!((centered_coslow(&g).unwrap() + 0.5).abs() < 1e-12);
        assert!(centered_coslow(&g[..2].iter().map(|r| r[..2].to_vec()).collect::<Vec<_>>()).is_err());
    }

    #[test]
    fn sample_is_seeded_sorted_and_all_when_large() {
        assert_eq!(sample_rows(5, 10, 0), vec![0, 1, 2, 3, 4]);
        let a = sample_rows(200, 40, 7);
        assert_eq!(a, sample_rows(200, 40, 7));
        assert_eq!(a.len(), 40);
        assert!(a.windows(2).all(|w| w[0] < w[1]));
        assert_ne!(a, sample_rows(200, 40, 8));
    }

    #[test]
    fn results_file_names_its_format() {
        let e = SuiteResults::from_json("r.json", "{\"tasks\": []}").unwrap_err().to_string();
        assert!(e.contains("r.json") && e.contains("calibrate-suite"), "{e}");
        let e = SuiteResults::from_json("r.json", "{\"format\": \"x/9\"}").unwrap_err().to_string();
        assert!(e.contains("x/9"), "{e}");
        assert!(SuiteResults::from_json("r.json", "nope").is_err());
    }

    #[test]
    fn parts_are_the_coslow_of_their_coordinates() {
        // Four examples, six groups of two coordinates each: each part's CoS-Low is the
        // median cosine of the examples' vectors restricted to that part's groups.
        let mut r = crate::rng::Rng::new(11);
        let v: Vec<Vec<f64>> = (0..4).map(|_| (0..12).map(|_| r.normal()).collect()).collect();
        let group = |c: usize| c / 2;
        let grams: Vec<Vec<Vec<f64>>> = (0..6)
            .map(|g| {
                (0..4)
                    .map(|i| {
                        (0..4).map(|j| (0..12).filter(|&c| group(c) == g).map(|c| v[i][c] * v[j][c]).sum()).collect()
                    })
                    .collect()
            })
            .collect();
        let direct = |groups: &[usize]| {
            let sub: Vec<Vec<f64>> =
                v.iter().map(|x| (0..12).filter(|&c| groups.contains(&group(c))).map(|c| x[c]).collect()).collect();
            let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
            let cos: Vec<Vec<f64>> = (0..4)
                .map(|i| {
                    (0..4)
                        .map(|j| dot(&sub[i], &sub[j]) / (dot(&sub[i], &sub[i]) * dot(&sub[j], &sub[j])).sqrt())
                        .collect()
                })
                .collect();
            crate::forecast::coslow_from_matrix(&cos).unwrap()
        };
        let p = CoslowParts::from_group_grams(&grams).unwrap();
        for (got, groups) in [
            (p.early, vec![0, 1]),
            (p.middle, vec![2, 3]),
            (p.late, vec![4, 5]),
            (p.attention, vec![0, 2, 4]),
            (p.mlp, vec![1, 3, 5]),
        ] {
            assert!((got - direct(&groups)).abs() < 1e-12, "{groups:?}: {got}");
        }
        assert!(CoslowParts::from_group_grams(&grams[..5]).is_err());
        let mut zero = grams.clone();
        zero[0][1][1] = 0.0;
        zero[1][1][1] = 0.0;
        assert!(CoslowParts::from_group_grams(&zero).is_err(), "an example with no early-layer gradient");
    }
}
