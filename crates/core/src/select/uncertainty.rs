//! METHOD 2: plain uncertainty selection.

use super::{check_k, valid_scores, Measure, Selection};
use crate::error::Result;

/// Row positions with a score, most uncertain first by `m`; ties keep input order (the
/// sort is stable) so the result never depends on anything but the scores.
pub(crate) fn rank_uncertain(scores: &[Option<f64>], m: Measure, notes: &mut Vec<String>) -> Result<Vec<usize>> {
    let mut valid = valid_scores(scores, m.column(), notes)?;
    if m.higher_is_uncertain() {
        valid.sort_by(|a, b| b.1.total_cmp(&a.1));
    } else {
        valid.sort_by(|a, b| a.1.total_cmp(&b.1));
    }
    Ok(valid.into_iter().map(|(i, _)| i).collect())
}

/// The `k` most uncertain rows by measure `m` (highest entropy / least confidence; lowest
/// confidence / margin). `None` rows are left out with a note; ties are broken by input
/// position (earlier row first). Indices are returned most uncertain first.
///
/// Errors: `k == 0` → `Invalid`; `k` above the number of scored rows → `KTooLarge`;
/// NaN/infinite score → `Invalid` naming the row.
pub fn top_uncertain(scores: &[Option<f64>], m: Measure, k: usize) -> Result<Selection> {
    let mut notes = Vec::new();
    let mut ranked = rank_uncertain(scores, m, &mut notes)?;
    check_k(k, ranked.len())?;
    ranked.truncate(k);
    Ok(Selection { indices: ranked, notes })
}
