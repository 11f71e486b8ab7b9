//! METHOD 1c: the examples to annotate for a CoS-Low forecast.

use super::{check_k, valid_scores, Selection};
use crate::error::Result;
use crate::rng::Rng;

/// Share of the pool the draw comes from: the bottom decile.
pub const DECILE_FRACTION: f64 = 0.1;

/// Draws `k` rows uniformly at random, without replacement, from the 10% of rows with the
/// lowest `avg_confidence` (METHOD 1c; the paper uses `k = 32`).
///
/// - Rows whose confidence is `None` (no tokens to average) are left out and counted in a
///   note; the pool is the remaining rows. NaN/infinite confidence is an error naming the row.
/// - The decile has `ceil(pool / 10)` rows: rounding up so that any non-empty pool has a
///   non-empty decile, and so that a pool of 320 gives exactly the 32 the method needs.
/// - Rows are ranked by confidence ascending with ties broken by input position, so which
///   tied row falls inside the decile boundary does not depend on the seed.
/// - If the decile has fewer than `k` rows, the `k` lowest-confidence rows are taken
///   instead (no randomness) and a note says so.
/// - Errors: `k == 0` → `Invalid`; `k` above the pool → `KTooLarge`.
///
/// The returned indices (input positions) are sorted by confidence ascending, ties by
/// input position, so the least confident chosen row comes first whatever the draw order.
pub fn low_confidence_decile(conf: &[Option<f64>], k: usize, seed: u64) -> Result<Selection> {
    let mut notes = Vec::new();
    let mut ranked = valid_scores(conf, "avg_confidence", &mut notes)?;
    let pool = ranked.len();
    check_k(k, pool)?;
    ranked.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));

    let decile = pool.div_ceil(10);
    let mut chosen: Vec<usize> = if decile < k {
        notes.push(format!(
            "the bottom decile has only {decile} of {pool} rows, fewer than k = {k}; \
             took the {k} lowest-confidence rows instead of a random draw"
        ));
        (0..k).collect()
    } else {
        Rng::new(seed).sample_indices(decile, k)
    };
    // Positions in `ranked` are confidence ranks, so sorting them sorts by confidence.
    chosen.sort_unstable();
    Ok(Selection { indices: chosen.into_iter().map(|r| ranked[r].0).collect(), notes })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decile_size_rounds_up() {
        // 11 valid rows → decile of 2 → with k = 2 both lowest rows, whatever the seed.
        let conf: Vec<Option<f64>> = (0..11).map(|i| Some(1.0 - i as f64 / 20.0)).collect();
        for seed in 0..5 {
            let s = low_confidence_decile(&conf, 2, seed).unwrap();
            assert_eq!(s.indices, vec![10, 9]);
            assert!(s.notes.is_empty());
        }
    }
}
