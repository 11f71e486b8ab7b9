//! METHOD 2: diversity selection over prompt embeddings (k-center, facility location).
//!
//! Both use cosine geometry rather than Euclidean: embeddings are mean-pooled hidden
//! states, whose norms vary with prompt length and token mix; cosine compares direction
//! only, so a long prompt is not "far" from a short one just because its vector is longer.
//!
//! A zero vector has no direction, so its cosine with every row (itself included) is taken
//! as 0: cosine distance 1, facility-location similarity 1/2 — as unrelated as an
//! orthogonal prompt, neither attracting nor repelling the selection.
//!
//! Nothing here stores an n×n matrix: distances are recomputed from the vectors, so memory
//! stays O(n) beyond the input and k-center costs O(n·k·d).

use super::{check_k, Selection};
use crate::error::{Error, Result};
use crate::rng::Rng;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Validated embeddings with their norms precomputed.
pub(crate) struct Embeddings<'a> {
    rows: &'a [Vec<f32>],
    norms: Vec<f64>,
    zero_rows: usize,
}

impl<'a> Embeddings<'a> {
    /// Checks the rows are non-empty, all the same length and finite; every bad row is
    /// reported (up to what `Error::Many` shows) so a user can fix a file in one go.
    pub(crate) fn new(rows: &'a [Vec<f32>]) -> Result<Self> {
        let Some(first) = rows.first() else {
            return Err(Error::Invalid("no embeddings: the pool is empty".into()));
        };
        let dim = first.len();
        if dim == 0 {
            return Err(Error::Invalid("data row 1: the embedding has no values".into()));
        }
        let mut bad = Vec::new();
        for (i, r) in rows.iter().enumerate() {
            if r.len() != dim {
                bad.push(Error::Invalid(format!(
                    "data row {}: the embedding has {} values, but row 1 has {dim}",
                    i + 1,
                    r.len()
                )));
            } else if let Some((j, x)) = r.iter().enumerate().find(|(_, x)| !x.is_finite()) {
                bad.push(Error::Invalid(format!(
                    "data row {}: embedding value {} is {x} (must be a finite number)",
                    i + 1,
                    j + 1
                )));
            }
        }
        if bad.len() == 1 {
            return Err(bad.remove(0));
        }
        if !bad.is_empty() {
            return Err(Error::Many(bad));
        }
        let norms: Vec<f64> = rows.iter().map(|r| dot(r, r).sqrt()).collect();
        let zero_rows = norms.iter().filter(|&&n| n == 0.0).count();
        Ok(Embeddings { rows, norms, zero_rows })
    }

    pub(crate) fn len(&self) -> usize {
        self.rows.len()
    }

    /// Cosine similarity in [-1, 1]; 0 when either vector is zero (see the module docs).
    fn cos(&self, i: usize, j: usize) -> f64 {
        let (ni, nj) = (self.norms[i], self.norms[j]);
        if ni == 0.0 || nj == 0.0 {
            return 0.0;
        }
        // Rounding can push |cos| a hair past 1; clamping keeps distances non-negative.
        (dot(&self.rows[i], &self.rows[j]) / (ni * nj)).clamp(-1.0, 1.0)
    }

    fn distance(&self, i: usize, j: usize) -> f64 {
        1.0 - self.cos(i, j)
    }

    /// Cosine shifted to [0, 1]. Facility location needs non-negative similarities: with
    /// them f(S) = Σ_i max_{j∈S} sim(i, j) is monotone submodular, which is what makes the
    /// greedy (1 − 1/e)-optimal and lazy evaluation exact.
    fn sim01(&self, i: usize, j: usize) -> f64 {
        (1.0 + self.cos(i, j)) / 2.0
    }

    pub(crate) fn zero_note(&self, notes: &mut Vec<String>) {
        if self.zero_rows > 0 {
            notes.push(format!(
                "{} rows have all-zero embeddings; their cosine with every row is taken as 0",
                self.zero_rows
            ));
        }
    }
}

/// Accumulated in f64: d ~ 1000 f32 products summed in f32 would lose digits that decide
/// near-ties. Eight independent partial sums, combined in a fixed order, let the compiler
/// vectorise (a single running sum is bound by add latency) while every platform, wasm
/// included, still adds in exactly the same order and so gets bit-identical results.
fn dot(a: &[f32], b: &[f32]) -> f64 {
    const LANES: usize = 8;
    let mut acc = [0.0f64; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..LANES {
            acc[l] += x[l] as f64 * y[l] as f64;
        }
    }
    let tail: f64 = ra.iter().zip(rb).map(|(&x, &y)| x as f64 * y as f64).sum();
    let pairs = [acc[0] + acc[4], acc[1] + acc[5], acc[2] + acc[6], acc[3] + acc[7]];
    ((pairs[0] + pairs[2]) + (pairs[1] + pairs[3])) + tail
}

/// Greedy k-center (coreset) over `emb` with cosine distance: the first center is drawn by
/// the seeded rng, then each step adds the row farthest from its nearest chosen center
/// (ties: lowest index). This spreads the batch over the embedding space.
///
/// Indices are returned in the order they were chosen. A note reports the final covering
/// radius (largest distance from any row to its nearest chosen row).
/// Errors: empty pool, rows of differing length or with non-finite values (naming the
/// row), `k == 0` (`Invalid`), `k` above the number of rows (`KTooLarge`).
pub fn k_center(emb: &[Vec<f32>], k: usize, seed: u64) -> Result<Selection> {
    let e = Embeddings::new(emb)?;
    check_k(k, e.len())?;
    let mut notes = Vec::new();
    e.zero_note(&mut notes);
    let all: Vec<usize> = (0..e.len()).collect();
    let (indices, radius) = k_center_among(&e, &all, k, seed);
    notes.push(format!("covering radius (cosine distance to the nearest chosen row): {radius:.4}"));
    Ok(Selection { indices, notes })
}

/// k-center restricted to `cand` (row indices). Ties on distance go to the candidate that
/// comes first in `cand`, so callers control tie-breaking by how they order it. Returns
/// the chosen rows in choice order and the covering radius over `cand`.
/// Requires `1 <= k <= cand.len()`.
pub(crate) fn k_center_among(e: &Embeddings, cand: &[usize], k: usize, seed: u64) -> (Vec<usize>, f64) {
    let m = cand.len();
    let mut chosen = vec![false; m];
    let mut nearest = vec![f64::INFINITY; m];
    let mut last = Rng::new(seed).below(m);
    let mut out = Vec::with_capacity(k);
    loop {
        chosen[last] = true;
        out.push(cand[last]);
        for p in 0..m {
            if !chosen[p] {
                let d = e.distance(cand[p], cand[last]);
                if d < nearest[p] {
                    nearest[p] = d;
                }
            }
        }
        // Farthest unchosen point; strict `>` keeps the earliest on ties.
        let mut best: Option<(usize, f64)> = None;
        for p in 0..m {
            if !chosen[p] && best.is_none_or(|(_, bd)| nearest[p] > bd) {
                best = Some((p, nearest[p]));
            }
        }
        match best {
            Some((p, _)) if out.len() < k => last = p,
            Some((_, radius)) => return (out, radius),
            None => return (out, 0.0),
        }
    }
}

/// Greedy facility location: maximises f(S) = Σ_i max_{j∈S} sim(i, j), sim = (1 + cos)/2,
/// adding at each step the row with the largest gain (ties: lowest index). Uses lazy
/// evaluation (a max-heap of stale gains, which submodularity makes upper bounds), and
/// gives exactly the same rows as [`facility_location_naive`].
///
/// Cost: the first step's bounds come from one O(n·d) pass (Σ_i cos(i, j) = u_j · Σ_i u_i
/// with u the unit vectors); each exact gain is O(n·d). The first chosen row lowers every
/// gain, so the second step re-evaluates nearly all rows, and in practice the whole run
/// costs a handful of O(n²·d) passes (about 5n gains): seconds for a few thousand rows,
/// minutes for tens of thousands. For bigger pools prefer [`k_center`] (O(n·k·d)).
/// On native targets re-evaluations run in batches on all cores; wasm runs one thread.
/// Indices are returned in choice order; a note reports the coverage f(S)/n.
/// Errors as for [`k_center`].
pub fn facility_location(emb: &[Vec<f32>], k: usize) -> Result<Selection> {
    let e = Embeddings::new(emb)?;
    check_k(k, e.len())?;
    let n = e.len();
    let mut notes = Vec::new();
    e.zero_note(&mut notes);

    let batch_size = if n * e.rows[0].len() >= PARALLEL_WORK { threads() } else { 1 };
    let mut cur = vec![0.0f64; n];
    let mut heap: BinaryHeap<Entry> =
        initial_bounds(&e).into_iter().enumerate().map(|(idx, gain)| Entry { gain, idx, round: None }).collect();
    let mut out = Vec::with_capacity(k);
    while out.len() < k {
        let round = Some(out.len());
        let Some(top) = heap.pop() else { break };
        if top.round == round {
            // Fresh this round and no bound in the heap beats it: it is the greedy choice.
            out.push(top.idx);
            add_to_cover(&e, top.idx, &mut cur);
            continue;
        }
        // Re-evaluate the top stale bounds together (one per worker thread). Evaluating a
        // few more than strictly needed only tightens bounds; the choice rule above is
        // what guarantees the plain greedy's result.
        let mut batch = vec![top.idx];
        while batch.len() < batch_size {
            match heap.peek() {
                Some(next) if next.round != round => batch.extend(heap.pop().map(|x| x.idx)),
                _ => break,
            }
        }
        for (idx, gain) in batch.iter().zip(gains_of(&e, &batch, &cur)) {
            heap.push(Entry { gain, idx: *idx, round });
        }
    }
    notes.push(coverage_note(&cur));
    Ok(Selection { indices: out, notes })
}

/// Plain greedy facility location (every gain recomputed every step; O(k·n²·d)). The
/// reference [`facility_location`] is checked against; usable for small pools.
pub fn facility_location_naive(emb: &[Vec<f32>], k: usize) -> Result<Selection> {
    let e = Embeddings::new(emb)?;
    check_k(k, e.len())?;
    let n = e.len();
    let mut notes = Vec::new();
    e.zero_note(&mut notes);
    let mut cur = vec![0.0f64; n];
    let mut taken = vec![false; n];
    let mut out = Vec::with_capacity(k);
    while out.len() < k {
        let mut best: Option<(usize, f64)> = None;
        for j in (0..n).filter(|&j| !taken[j]) {
            let g = gain_of(&e, j, &cur);
            if best.is_none_or(|(_, bg)| g > bg) {
                best = Some((j, g));
            }
        }
        let Some((j, _)) = best else { break };
        taken[j] = true;
        out.push(j);
        add_to_cover(&e, j, &mut cur);
    }
    notes.push(coverage_note(&cur));
    Ok(Selection { indices: out, notes })
}

/// f(S) = Σ_i max_{j∈S} (1 + cos(i, j))/2 for a given set of rows (0 for an empty set).
pub fn facility_location_objective(emb: &[Vec<f32>], set: &[usize]) -> Result<f64> {
    let e = Embeddings::new(emb)?;
    if let Some(&j) = set.iter().find(|&&j| j >= e.len()) {
        return Err(Error::Invalid(format!("index {j} is outside the {} rows", e.len())));
    }
    let mut cur = vec![0.0f64; e.len()];
    for &j in set {
        add_to_cover(&e, j, &mut cur);
    }
    Ok(cur.iter().sum())
}

/// Gain of adding `j` given each row's current best similarity. Summed in row order with
/// max(0, ·) terms: floating-point rounding is monotone, so a gain computed against an
/// earlier (smaller) `cur` is never below the current one — stale gains stay valid upper
/// bounds even in floating point, which the lazy greedy's exactness relies on.
fn gain_of(e: &Embeddings, j: usize, cur: &[f64]) -> f64 {
    let mut g = 0.0;
    for (i, &c) in cur.iter().enumerate() {
        let s = e.sim01(i, j);
        if s > c {
            g += s - c;
        }
    }
    g
}

/// Below this many values per gain (n·d), threads cost more than they save.
const PARALLEL_WORK: usize = 1 << 18;

#[cfg(not(target_arch = "wasm32"))]
fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |t| t.get()).min(64)
}

/// The browser build runs on one thread (wasm32 has no `std::thread`).
#[cfg(target_arch = "wasm32")]
fn threads() -> usize {
    1
}

/// [`gain_of`] for several candidates, spread over threads on native targets. Each gain
/// is computed by the same sequential code, so the values do not depend on the split.
fn gains_of(e: &Embeddings, cand: &[usize], cur: &[f64]) -> Vec<f64> {
    #[cfg(not(target_arch = "wasm32"))]
    if cand.len() > 1 {
        let per = cand.len().div_ceil(threads());
        return std::thread::scope(|s| {
            let handles: Vec<_> = cand
                .chunks(per)
                .map(|part| s.spawn(move || part.iter().map(|&j| gain_of(e, j, cur)).collect::<Vec<_>>()))
                .collect();
            handles.into_iter().flat_map(|h| h.join().expect("gain worker panicked")).collect()
        });
    }
    cand.iter().map(|&j| gain_of(e, j, cur)).collect()
}

fn add_to_cover(e: &Embeddings, j: usize, cur: &mut [f64]) {
    for (i, c) in cur.iter_mut().enumerate() {
        let s = e.sim01(i, j);
        if s > *c {
            *c = s;
        }
    }
}

/// Upper bounds on every first-step gain in O(n·d): with S empty, gain(j) = Σ_i sim(i, j)
/// = (n + u_j · Σ_i u_i) / 2. The margin absorbs rounding differences from computing it
/// this way instead of term by term, so these are safe bounds for the lazy heap.
fn initial_bounds(e: &Embeddings) -> Vec<f64> {
    let n = e.len();
    let dim = e.rows[0].len();
    let mut sum = vec![0.0f64; dim];
    for (r, &norm) in e.rows.iter().zip(&e.norms) {
        if norm > 0.0 {
            for (s, &x) in sum.iter_mut().zip(r) {
                *s += x as f64 / norm;
            }
        }
    }
    let margin = 1e-6 * (n as f64 + 1.0);
    e.rows
        .iter()
        .zip(&e.norms)
        .map(|(r, &norm)| {
            let proj =
                if norm > 0.0 { r.iter().zip(&sum).map(|(&x, &s)| x as f64 * s).sum::<f64>() / norm } else { 0.0 };
            (n as f64 + proj) / 2.0 + margin
        })
        .collect()
}

fn coverage_note(cur: &[f64]) -> String {
    let f: f64 = cur.iter().sum();
    format!(
        "coverage f(S)/n (mean similarity (1+cos)/2 of each row to its nearest chosen row): {:.4}",
        f / cur.len() as f64
    )
}

/// Heap entry: larger gain first, then lower index, as the plain greedy's tie-break.
/// `round` is the step its gain was computed in (`None`: only an initial bound).
struct Entry {
    gain: f64,
    idx: usize,
    round: Option<usize>,
}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        self.gain.total_cmp(&other.gain).then_with(|| other.idx.cmp(&self.idx))
    }
}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Entry {}
