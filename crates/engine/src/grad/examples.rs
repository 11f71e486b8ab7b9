//! Labeled examples as the gradients see them, whatever the backend: token ids with the
//! answer's start, the positions whose next token is scored (METHOD 1d), the loss targets and
//! where each example of a pack lies.

use candle_core::Tensor;

use crate::error::{EngineError, Result};
use crate::model::Proj;

/// One labeled example as token ids: the answer starts at `n_prompt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenExample {
    pub ids: Vec<u32>,
    pub n_prompt: usize,
}

impl TokenExample {
    /// Tokens of the answer (those from `n_prompt` on).
    pub fn answer_len(&self) -> usize {
        self.ids.len().saturating_sub(self.n_prompt)
    }
}

/// Receives (layer, projection, X [T, in], dY [T, out]) for every projection of every layer,
/// last layer first (T: all tokens of the pack).
pub type ProjSink<'a> = dyn FnMut(usize, Proj, &Tensor, &Tensor) -> Result<()> + 'a;

/// The positions whose next token is scored: t where ids[t+1] is an answer token
/// (index ≥ n_prompt) not in `excluded` (METHOD 1d).
pub fn counted_positions(ex: &TokenExample, excluded: &[u32]) -> Vec<usize> {
    (0..ex.ids.len().saturating_sub(1))
        .filter(|&t| t + 1 >= ex.n_prompt && !excluded.contains(&ex.ids[t + 1]))
        .collect()
}

/// One scored next-token prediction: which example it belongs to, the position in that
/// example predicting, the label, and the weight 1/N of the example's mean.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub example: usize,
    pub pos: usize,
    pub label: u32,
    pub weight: f64,
}

/// The loss targets of every example (METHOD 1d), shared by both backends so they score the
/// same tokens and refuse the same examples: `first_index` numbers the examples in errors;
/// one with no counted answer token has no gradient, one longer than `max_len` cannot run.
pub fn targets(examples: &[TokenExample], excluded: &[u32], first_index: usize, max_len: usize) -> Result<Vec<Target>> {
    let mut out = Vec::new();
    for (i, ex) in examples.iter().enumerate() {
        let row = first_index + i;
        if ex.ids.len() > max_len {
            return Err(EngineError::SequenceTooLong { row, len: ex.ids.len(), max: max_len });
        }
        let counted = counted_positions(ex, excluded);
        if counted.is_empty() {
            return Err(EngineError::NoAnswerTokens { example: row });
        }
        let weight = 1.0 / counted.len() as f64;
        out.extend(counted.into_iter().map(|pos| Target { example: i, pos, label: ex.ids[pos + 1], weight }));
    }
    Ok(out)
}

/// Where each example of a pack lies on the packed token axis: (start, length).
pub fn segments(examples: &[TokenExample]) -> Vec<(usize, usize)> {
    let mut start = 0;
    examples
        .iter()
        .map(|e| {
            let s = (start, e.ids.len());
            start += e.ids.len();
            s
        })
        .collect()
}
