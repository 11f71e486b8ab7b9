//! Ordering the training data (METHOD.md 3, human-inspired strategies).
//!
//! Each example may have a category and a difficulty (METHOD 3 recommends the LLM-defined
//! one, 1 − P(correct answer) under the model). [`order`] returns a permutation of `0..n`:
//! position p of the training order holds input row `result[p]`.
//!
//! Conventions shared by all strategies:
//! - Without categories every row is in one category.
//! - Categories are taken in order of first appearance in the input (not alphabetically),
//!   so the order follows how the user's file is laid out and needs no collation rules.
//! - Every shuffle uses one [`Rng`] seeded with `OrderOptions::seed`: a seed reproduces
//!   the order exactly, on every platform.
//! - Difficulty ties are broken by a seeded shuffle (shuffle, then stable sort), so equal
//!   difficulties do not silently keep file order.

use crate::error::{Error, Result};
use crate::rng::Rng;
use crate::stats::quantile;
use std::fmt;
use std::str::FromStr;

/// How many consecutive chunks `interleaved` cuts each category's block into.
pub const INTERLEAVE_CHUNKS: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// Seeded shuffle.
    Random,
    /// Grouped by category, shuffled within each group.
    Blocked,
    /// Easiest first (strict sort by difficulty).
    Curriculum,
    /// Easy, then medium, then hard bucket, shuffled within each bucket.
    CurriculumBuckets,
    /// Grouped by category, easiest first within each.
    BlockedCurriculum,
    /// Each category's shuffled block cut into 3 chunks, dealt round robin.
    Interleaved,
    /// All easy rows (grouped by category), then all medium, then all hard.
    InterleavedCurriculum,
}

impl Strategy {
    pub const ALL: [Strategy; 7] = [
        Strategy::Random,
        Strategy::Blocked,
        Strategy::Curriculum,
        Strategy::CurriculumBuckets,
        Strategy::BlockedCurriculum,
        Strategy::Interleaved,
        Strategy::InterleavedCurriculum,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Strategy::Random => "random",
            Strategy::Blocked => "blocked",
            Strategy::Curriculum => "curriculum",
            Strategy::CurriculumBuckets => "curriculum-buckets",
            Strategy::BlockedCurriculum => "blocked-curriculum",
            Strategy::Interleaved => "interleaved",
            Strategy::InterleavedCurriculum => "interleaved-curriculum",
        }
    }

    /// Whether the strategy cannot run without a difficulty per row.
    pub fn needs_difficulty(self) -> bool {
        matches!(
            self,
            Strategy::Curriculum
                | Strategy::CurriculumBuckets
                | Strategy::BlockedCurriculum
                | Strategy::InterleavedCurriculum
        )
    }

    /// Whether categories change the result (without them all rows are one category).
    pub fn uses_categories(self) -> bool {
        matches!(
            self,
            Strategy::Blocked | Strategy::BlockedCurriculum | Strategy::Interleaved | Strategy::InterleavedCurriculum
        )
    }

    /// Whether the easy/medium/hard buckets are used.
    pub fn uses_buckets(self) -> bool {
        matches!(self, Strategy::CurriculumBuckets | Strategy::InterleavedCurriculum)
    }

    /// One-line description for help texts and the web app.
    pub fn description(self) -> &'static str {
        match self {
            Strategy::Random => "seeded shuffle",
            Strategy::Blocked => "grouped by category, shuffled within each group",
            Strategy::Curriculum => "easiest first",
            Strategy::CurriculumBuckets => "easy, medium, hard buckets, shuffled within each",
            Strategy::BlockedCurriculum => "grouped by category, easiest first within each",
            Strategy::Interleaved => "each category cut into 3 chunks, dealt round robin across categories",
            Strategy::InterleavedCurriculum => "all easy (grouped by category), then all medium, then all hard",
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Strategy {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let t = s.trim().to_ascii_lowercase().replace('_', "-");
        Strategy::ALL.into_iter().find(|x| x.name() == t).ok_or_else(|| {
            let known: Vec<&str> = Strategy::ALL.iter().map(|x| x.name()).collect();
            Error::Invalid(format!("unknown ordering strategy \"{s}\"; known: {}", known.join(", ")))
        })
    }
}

/// Where the easy / medium / hard boundaries lie. With boundaries (a, b):
/// easy < a ≤ medium < b ≤ hard. Rows of equal difficulty always share a bucket, so with
/// many ties the buckets can be uneven (or empty).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Buckets {
    /// Boundaries at these quantiles of the difficulty distribution (linear interpolation,
    /// as numpy), 0 ≤ a < b ≤ 1. Default (1/3, 2/3): thirds.
    Quantiles(f64, f64),
    /// Absolute difficulty boundaries, a < b.
    Thresholds(f64, f64),
}

impl Default for Buckets {
    fn default() -> Self {
        Buckets::Quantiles(1.0 / 3.0, 2.0 / 3.0)
    }
}

impl Buckets {
    pub fn validate(&self) -> Result<()> {
        match *self {
            Buckets::Quantiles(a, b) => {
                if !(0.0..=1.0).contains(&a) || !(0.0..=1.0).contains(&b) || a >= b {
                    return Err(Error::Invalid(format!("bucket quantiles must satisfy 0 ≤ a < b ≤ 1, got ({a}, {b})")));
                }
            }
            Buckets::Thresholds(a, b) => {
                if !a.is_finite() || !b.is_finite() || a >= b {
                    return Err(Error::Invalid(format!("bucket thresholds must be finite with a < b, got ({a}, {b})")));
                }
            }
        }
        Ok(())
    }

    /// The absolute boundaries (a, b) for these difficulties. Requires finite values.
    pub fn boundaries(&self, difficulty: &[f64]) -> Result<(f64, f64)> {
        self.validate()?;
        match *self {
            Buckets::Thresholds(a, b) => Ok((a, b)),
            Buckets::Quantiles(qa, qb) => match (quantile(difficulty, qa), quantile(difficulty, qb)) {
                (Some(a), Some(b)) => Ok((a, b)),
                _ => Err(Error::Invalid("difficulty quantiles need at least one (non-NaN) value".into())),
            },
        }
    }
}

/// Difficulty bucket of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Level {
    Easy,
    Medium,
    Hard,
}

impl Level {
    pub const ALL: [Level; 3] = [Level::Easy, Level::Medium, Level::Hard];

    pub fn name(self) -> &'static str {
        match self {
            Level::Easy => "easy",
            Level::Medium => "medium",
            Level::Hard => "hard",
        }
    }
}

/// The bucket of every row (easy < a ≤ medium < b ≤ hard). Errors on NaN/infinite values,
/// naming the rows, and on invalid bucket settings.
pub fn levels(difficulty: &[f64], b: &Buckets) -> Result<Vec<Level>> {
    check_difficulty(difficulty)?;
    if difficulty.is_empty() {
        b.validate()?;
        return Ok(Vec::new());
    }
    let (lo, hi) = b.boundaries(difficulty)?;
    Ok(difficulty
        .iter()
        .map(|&d| {
            if d < lo {
                Level::Easy
            } else if d < hi {
                Level::Medium
            } else {
                Level::Hard
            }
        })
        .collect())
}

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OrderOptions {
    pub strategy: Strategy,
    pub seed: u64,
    pub buckets: Buckets,
}

impl Default for OrderOptions {
    fn default() -> Self {
        OrderOptions { strategy: Strategy::Random, seed: 0, buckets: Buckets::default() }
    }
}

/// The training order for `n` rows: a permutation of `0..n` (METHOD 3).
///
/// `categories` and `difficulty`, when given, have one entry per row. Strategies that
/// need difficulty (curriculum, curriculum-buckets, blocked-curriculum,
/// interleaved-curriculum) fail without it; NaN or infinite difficulty is an error naming
/// the row (1-based data row). Difficulty is not read by the other strategies. Bucket
/// settings are validated whatever the strategy, since a bad setting is a mistake either
/// way. Buckets are cut over the whole data set, not per category, so "easy" means the
/// same in every category.
pub fn order(
    categories: Option<&[String]>,
    difficulty: Option<&[f64]>,
    n: usize,
    o: &OrderOptions,
) -> Result<Vec<usize>> {
    let s = o.strategy;
    if let Some(c) = categories {
        if c.len() != n {
            return Err(Error::Invalid(format!("{} categories for {n} rows", c.len())));
        }
    }
    if let Some(d) = difficulty {
        if d.len() != n {
            return Err(Error::Invalid(format!("{} difficulty values for {n} rows", d.len())));
        }
    }
    o.buckets.validate()?;
    let diff = match (s.needs_difficulty(), difficulty) {
        (true, None) => {
            return Err(Error::Invalid(format!(
                "ordering strategy \"{}\" needs a difficulty column (one number per row, e.g. \
                 1 - P(correct answer) under the model); choose that column or use random, \
                 blocked or interleaved",
                s.name()
            )))
        }
        (true, Some(d)) => {
            check_difficulty(d)?;
            d
        }
        (false, _) => &[][..],
    };

    let mut rng = Rng::new(o.seed);
    let by_difficulty = |rows: &mut Vec<usize>, rng: &mut Rng| {
        rng.shuffle(rows);
        rows.sort_by(|&a, &b| diff[a].total_cmp(&diff[b]));
    };
    let out = match s {
        Strategy::Random => {
            let mut p: Vec<usize> = (0..n).collect();
            rng.shuffle(&mut p);
            p
        }
        Strategy::Blocked => shuffled_groups(categories, n, &mut rng).concat(),
        Strategy::Curriculum => {
            let mut p: Vec<usize> = (0..n).collect();
            by_difficulty(&mut p, &mut rng);
            p
        }
        Strategy::CurriculumBuckets => {
            let lv = levels(diff, &o.buckets)?;
            let mut out = Vec::with_capacity(n);
            for l in Level::ALL {
                let mut b: Vec<usize> = (0..n).filter(|&i| lv[i] == l).collect();
                rng.shuffle(&mut b);
                out.extend(b);
            }
            out
        }
        Strategy::BlockedCurriculum => {
            let mut out = Vec::with_capacity(n);
            for mut g in category_groups(categories, n) {
                by_difficulty(&mut g, &mut rng);
                out.extend(g);
            }
            out
        }
        Strategy::Interleaved => interleave_chunks(&shuffled_groups(categories, n, &mut rng), INTERLEAVE_CHUNKS),
        Strategy::InterleavedCurriculum => {
            let lv = levels(diff, &o.buckets)?;
            let groups = category_groups(categories, n);
            let mut out = Vec::with_capacity(n);
            for l in Level::ALL {
                for g in &groups {
                    let mut b: Vec<usize> = g.iter().copied().filter(|&i| lv[i] == l).collect();
                    rng.shuffle(&mut b);
                    out.extend(b);
                }
            }
            out
        }
    };
    debug_assert_eq!(out.len(), n);
    Ok(out)
}

/// Row indices grouped by category, groups in order of first appearance, rows in input
/// order within a group. Without categories: one group of all rows (none when `n == 0`).
pub fn category_groups(categories: Option<&[String]>, n: usize) -> Vec<Vec<usize>> {
    let Some(cats) = categories else {
        return if n == 0 { Vec::new() } else { vec![(0..n).collect()] };
    };
    let mut slot: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (i, c) in cats.iter().enumerate().take(n) {
        let g = *slot.entry(c.as_str()).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[g].push(i);
    }
    groups
}

fn shuffled_groups(categories: Option<&[String]>, n: usize, rng: &mut Rng) -> Vec<Vec<usize>> {
    let mut groups = category_groups(categories, n);
    for g in &mut groups {
        rng.shuffle(g);
    }
    groups
}

/// Sizes of `parts` consecutive chunks of `n` items, as `numpy.array_split`: as equal as
/// possible, the first `n % parts` chunks one larger. `parts` must be ≥ 1.
pub fn array_split_sizes(n: usize, parts: usize) -> Vec<usize> {
    assert!(parts > 0, "array_split_sizes: parts must be >= 1");
    (0..parts).map(|i| n / parts + usize::from(i < n % parts)).collect()
}

/// Cuts each block into `parts` consecutive chunks ([`array_split_sizes`]) and deals them
/// round robin: chunk 1 of every block (in block order), then chunk 2 of every block, ...
/// This is the `interleaved` strategy once the blocks are shuffled categories.
pub fn interleave_chunks(blocks: &[Vec<usize>], parts: usize) -> Vec<usize> {
    let mut chunked: Vec<_> = blocks.iter().map(|b| split_chunks(b, parts).into_iter()).collect();
    let mut out = Vec::with_capacity(blocks.iter().map(Vec::len).sum());
    for _ in 0..parts {
        for chunks in &mut chunked {
            if let Some(chunk) = chunks.next() {
                out.extend_from_slice(chunk);
            }
        }
    }
    out
}

fn split_chunks(block: &[usize], parts: usize) -> Vec<&[usize]> {
    let mut rest = block;
    array_split_sizes(block.len(), parts)
        .into_iter()
        .map(|size| {
            let (chunk, tail) = rest.split_at(size);
            rest = tail;
            chunk
        })
        .collect()
}

fn check_difficulty(d: &[f64]) -> Result<()> {
    let mut bad: Vec<Error> = d
        .iter()
        .enumerate()
        .filter(|(_, x)| !x.is_finite())
        .map(|(i, x)| Error::Invalid(format!("data row {}: difficulty is {x} (must be a finite number)", i + 1)))
        .collect();
    match bad.len() {
        0 => Ok(()),
        1 => Err(bad.remove(0)),
        _ => Err(Error::Many(bad)),
    }
}
