//! "uncertain-diverse": uncertainty first, then diversity among the uncertain rows.
//!
//! Plain top-k uncertainty tends to return near-duplicates (METHOD 2's known weakness):
//! prompts that confuse the model in the same way score alike. Restricting k-center to the
//! most uncertain candidates keeps the batch uncertain while spreading it out.

use super::diversity::{k_center_among, Embeddings};
use super::uncertainty::rank_uncertain;
use super::{check_k, Measure, Selection};
use crate::error::{Error, Result};

/// Options of [`uncertain_diverse_with`].
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HybridOptions {
    /// The candidate set is the `m = min(pool, ceil(factor · k))` most uncertain rows.
    /// Default 3: large enough that k-center has room to skip near-duplicates, small
    /// enough that every chosen row is still among the clearly uncertain ones. Must be ≥ 1
    /// (1 reduces to plain top-k uncertainty).
    pub factor: f64,
}

impl Default for HybridOptions {
    fn default() -> Self {
        HybridOptions { factor: 3.0 }
    }
}

/// [`uncertain_diverse_with`] with the default options (candidate factor 3).
pub fn uncertain_diverse(
    scores: &[Option<f64>],
    m: Measure,
    emb: &[Vec<f32>],
    k: usize,
    seed: u64,
) -> Result<Selection> {
    uncertain_diverse_with(scores, m, emb, k, seed, &HybridOptions::default())
}

/// Takes the `min(pool, ceil(factor · k))` most uncertain rows by `m` (pool = rows with a
/// score; ties by input position), then runs greedy k-center ([`super::k_center`]'s rule,
/// first center drawn with `seed`) among them. Distance ties go to the more uncertain row.
///
/// `scores` and `emb` are per input row and must have the same length; every embedding is
/// validated, even of rows without a score, so a broken file is reported as such.
/// Indices (input positions) are returned in k-center choice order. Deterministic for a
/// seed. Errors: as [`super::top_uncertain`] and [`super::k_center`], plus a length
/// mismatch or a factor below 1 (`Invalid`).
pub fn uncertain_diverse_with(
    scores: &[Option<f64>],
    m: Measure,
    emb: &[Vec<f32>],
    k: usize,
    seed: u64,
    opts: &HybridOptions,
) -> Result<Selection> {
    if !(opts.factor.is_finite() && opts.factor >= 1.0) {
        return Err(Error::Invalid(format!("the candidate factor must be a number ≥ 1, got {}", opts.factor)));
    }
    if scores.len() != emb.len() {
        return Err(Error::Invalid(format!(
            "{} uncertainty scores but {} embeddings; need one of each per row",
            scores.len(),
            emb.len()
        )));
    }
    let e = Embeddings::new(emb)?;
    let mut notes = Vec::new();
    let mut ranked = rank_uncertain(scores, m, &mut notes)?;
    let pool = ranked.len();
    check_k(k, pool)?;
    // The float product can exceed usize for absurd factors; the clamp to the pool fixes it.
    let wanted = (opts.factor * k as f64).ceil();
    let cands = if wanted >= pool as f64 { pool } else { (wanted as usize).max(k) };
    ranked.truncate(cands);
    e.zero_note(&mut notes);
    notes.push(format!(
        "candidates: the {cands} most uncertain of {pool} rows by {}; k-center chose {k} of them",
        m.name()
    ));
    let (indices, radius) = k_center_among(&e, &ranked, k, seed);
    notes.push(format!("covering radius over the candidates (cosine distance): {radius:.4}"));
    Ok(Selection { indices, notes })
}
