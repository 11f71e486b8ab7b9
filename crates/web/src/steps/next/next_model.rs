//! Step 6: the next batch to annotate (any core selection strategy over the scored rows not
//! labeled yet) and a training order of every labeled row (any core ordering strategy, with
//! difficulty from the model's confidence). Labeled rows are the 32 annotated ones and any
//! other row with a label: typed, filled from a labels file, or in the pool's answer column.
//! The same core functions as `labelcast select --exclude-labeled` and `labelcast order`.

use std::collections::{HashMap, HashSet};

use labelcast_core::order::{order, OrderOptions, Strategy};
use labelcast_core::select::{choose, Measure, SelectStrategy};
use labelcast_core::table::Table;
use labelcast_protocol::{ScoreRow, Scores};

use crate::browser::download::SaveError;
use crate::format;
use crate::steps::annotate::annotate_model::{label_of, labeled_table, Labels};
use crate::steps::annotate::label_error::LabelError;
use crate::steps::annotate::label_fill::lines;
use crate::workflow::Scored;

/// The column the training order adds: 1 − avg_confidence, higher = harder.
pub const DIFFICULTY_COLUMN: &str = "model_difficulty";

/// Why no rows could be picked or ordered, or the file not saved.
#[derive(Debug, thiserror::Error)]
pub enum NextError {
    #[error("Every scored row is already labeled: score more of the pool first.")]
    AllLabeled,
    #[error(
        "This strategy needs the prompts' embeddings, which were not kept after the page was reloaded: score \
         the prompts again, or choose an uncertainty strategy."
    )]
    NoEmbeddings,
    #[error("No row is labeled yet: label the rows in step 3, or drop a file of labeled rows in step 1.")]
    NoneLabeled,
    /// Every labeled row lacks a score; `note` names them.
    #[error("{note} Score them first.")]
    Unscored { note: String },
    #[error(transparent)]
    Label(#[from] LabelError),
    #[error(transparent)]
    Rules(#[from] labelcast_core::Error),
    #[error(transparent)]
    Save(#[from] SaveError),
}

fn cell(v: Option<f64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

/// `rows` of the pool with the score columns `labelcast score` writes.
pub fn with_scores(t: &Table, rows: &[usize], scores: &[&ScoreRow]) -> Result<Table, NextError> {
    let mut out = t.select_rows(rows);
    for (i, name) in Scores::COLUMNS.into_iter().enumerate() {
        if out.headers.iter().any(|h| h.trim() == name) {
            continue; // a re-imported scores file keeps its own column
        }
        let values = scores.iter().map(|s| cell(s.stats.values()[i])).collect();
        out.push_column(name, values)?;
    }
    Ok(out)
}

/// Every pool row with a label, in pool order.
pub fn labeled_rows(t: &Table, labels: &Labels) -> Vec<usize> {
    (0..t.rows.len()).filter(|&r| label_of(t, labels, r).is_some()).collect()
}

/// The model's confidence (avg_confidence) by pool row: from the scored sample, then from the
/// labeled rows scored since.
pub struct Confidence(HashMap<usize, Option<f64>>);

impl Confidence {
    pub fn new(scored: &Scored, extra: Option<&Scored>) -> Self {
        let pairs = |s: &Scored| {
            s.rows.iter().copied().zip(s.scores.iter().map(|x| x.stats.avg_confidence)).collect::<Vec<_>>()
        };
        let mut map: HashMap<usize, Option<f64>> = extra.map(pairs).unwrap_or_default().into_iter().collect();
        map.extend(pairs(scored));
        Confidence(map)
    }

    /// None when the model never scored the row; Some(None) when it did but generated no
    /// counted token (so it has no confidence).
    pub fn get(&self, row: usize) -> Option<Option<f64>> {
        self.0.get(&row).copied()
    }

    /// The rows of `rows` the model never scored.
    pub fn unscored(&self, rows: &[usize]) -> Vec<usize> {
        rows.iter().copied().filter(|&r| self.get(r).is_none()).collect()
    }
}

/// Why some labeled rows are not in the training order, for the page; None when all are.
pub fn unscored_note(t: &Table, unscored: &[usize]) -> Option<String> {
    (!unscored.is_empty()).then(|| {
        let ls: Vec<usize> = unscored.iter().map(|&r| t.rows[r].line).collect();
        format!(
            "{} outside the scored sample, so the model has no confidence (difficulty) for {} yet ({}).",
            format::count(unscored.len(), "labeled row is", "labeled rows are"),
            if unscored.len() == 1 { "it" } else { "them" },
            lines(&ls)
        )
    })
}

/// The next `k` rows to annotate among the scored rows not in `exclude` (pool rows), best
/// first as the strategy ranks them. Returns pool rows and the strategy's notes.
pub fn next_batch(
    scored: &Scored,
    exclude: &[usize],
    strategy: SelectStrategy,
    k: usize,
    seed: u64,
) -> Result<(Vec<usize>, Vec<String>), NextError> {
    let skip: HashSet<usize> = exclude.iter().copied().collect();
    // Rows skipped for their length have no scores or embedding to rank by.
    let cand: Vec<usize> = (0..scored.rows.len())
        .filter(|&i| !skip.contains(&scored.rows[i]) && scored.scores[i].skipped.is_none())
        .collect();
    if cand.is_empty() {
        return Err(NextError::AllLabeled);
    }
    let k = k.clamp(1, cand.len());
    let scores = |m: Measure| -> Vec<Option<f64>> { cand.iter().map(|&i| scored.scores[i].stats.measure(m)).collect() };
    let emb = || -> Result<Vec<Vec<f32>>, NextError> {
        let e: Vec<Vec<f32>> = cand.iter().map(|&i| scored.scores[i].embedding.clone()).collect();
        if e.iter().any(Vec::is_empty) {
            return Err(NextError::NoEmbeddings);
        }
        Ok(e)
    };
    // The page's uncertain-and-diverse strategy ranks by mean entropy first.
    let sel = choose(strategy, Measure::MeanEntropy, k, seed, |m| Ok(scores(m)), emb)?;
    Ok((sel.indices.iter().map(|&i| scored.rows[cand[i]]).collect(), sel.notes))
}

/// A training order of the labeled rows the model has scored.
#[derive(Debug)]
pub struct Ordered {
    pub table: Table,
    /// Labeled rows left out: never scored, so without a difficulty.
    pub unscored: Vec<usize>,
}

/// Every labeled row the model has scored, in a training order, with its label and a
/// difficulty column from the model's confidence (a row whose answer had no counted token has
/// no confidence and counts as hardest). Rows enter in pool order, as `labelcast order` reads
/// a labeled file, so both give the same order. A task `instruction` goes into the rows as
/// `labeled_table` puts it.
pub fn training_order(
    t: &Table,
    labels: &Labels,
    conf: &Confidence,
    strategy: Strategy,
    seed: u64,
    instruction: Option<&str>,
) -> Result<Ordered, NextError> {
    let labeled = labeled_rows(t, labels);
    let unscored = conf.unscored(&labeled);
    let rows: Vec<usize> = labeled.into_iter().filter(|&r| conf.get(r).is_some()).collect();
    if rows.is_empty() {
        return Err(match unscored.is_empty() {
            true => NextError::NoneLabeled,
            false => NextError::Unscored { note: unscored_note(t, &unscored).unwrap_or_default() },
        });
    }
    let difficulty: Vec<f64> = rows.iter().map(|&r| conf.get(r).flatten().map_or(1.0, |c| 1.0 - c)).collect();
    let mut out = labeled_table(t, &rows, labels, instruction)?;
    if !out.headers.iter().any(|h| h.trim() == DIFFICULTY_COLUMN) {
        out.push_column(DIFFICULTY_COLUMN, difficulty.iter().map(|d| d.to_string()).collect())?;
    }
    let categories: Option<Vec<String>> =
        t.roles.category.map(|c| rows.iter().map(|&r| t.get(r, c).to_string()).collect());
    let opts = OrderOptions { strategy, seed, ..OrderOptions::default() };
    let perm = order(categories.as_deref(), Some(&difficulty), rows.len(), &opts)?;
    let mut ordered = out.select_rows(&perm);
    ordered.roles.difficulty = ordered.headers.iter().position(|h| h == DIFFICULTY_COLUMN);
    Ok(Ordered { table: ordered, unscored })
}

#[cfg(test)]
mod tests {
    use super::*;
    use labelcast_core::table::{read_table, ReadOptions};

    fn scored(conf: &[f64]) -> Scored {
        Scored {
            rows: (0..conf.len()).map(|i| i * 2).collect(),
            scores: conf
                .iter()
                .enumerate()
                .map(|(i, &c)| ScoreRow {
                    stats: Scores { avg_confidence: Some(c), mean_entropy: Some(1.0 - c), ..Scores::default() },
                    embedding: vec![i as f32, 1.0],
                    ..ScoreRow::default()
                })
                .collect(),
            seconds: 1.0,
            cancelled_of: None,
        }
    }

    #[test]
    fn next_batch_skips_labeled_rows_and_maps_to_pool_rows() {
        let s = scored(&[0.1, 0.2, 0.9, 0.3, 0.8]);
        let (rows, _) = next_batch(&s, &[0], SelectStrategy::Uncertainty(Measure::MeanEntropy), 2, 0).expect("batch");
        assert_eq!(rows, vec![2, 6], "pool rows of the two most uncertain unlabeled prompts");
        let (rows, _) = next_batch(&s, &[0, 2], SelectStrategy::KCenter, 10, 0).expect("batch");
        assert_eq!(rows.len(), 3, "k is clamped to the rows left");
        assert!(!rows.contains(&0) && !rows.contains(&2));
    }

    #[test]
    fn rows_skipped_for_their_length_are_never_next() {
        let mut s = scored(&[0.1, 0.2, 0.9]);
        s.scores[0] = ScoreRow { skipped: Some(9000), ..ScoreRow::default() };
        for strategy in [SelectStrategy::Uncertainty(Measure::MeanEntropy), SelectStrategy::KCenter] {
            let (rows, _) = next_batch(&s, &[], strategy, 3, 0).expect("batch");
            let mut rows = rows;
            rows.sort();
            assert_eq!(rows, vec![2, 4], "{strategy:?}");
        }
    }

    #[test]
    fn diversity_without_embeddings_is_explained() {
        let mut s = scored(&[0.1, 0.2]);
        s.scores.iter_mut().for_each(|r| r.embedding.clear());
        let e = next_batch(&s, &[], SelectStrategy::FacilityLocation, 1, 0).unwrap_err().to_string();
        assert!(e.contains("embeddings"), "{e}");
    }

    #[test]
    fn curriculum_orders_easiest_first_with_labels() {
        let t = read_table("p.csv", b"prompt,category\na,x\nb,y\nc,x\n", &ReadOptions::default()).expect("table");
        let s = Scored {
            rows: vec![0, 1, 2],
            scores: [0.5, 0.9, 0.1]
                .iter()
                .map(|&c| ScoreRow {
                    stats: Scores { avg_confidence: Some(c), ..Scores::default() },
                    ..ScoreRow::default()
                })
                .collect(),
            seconds: 1.0,
            cancelled_of: None,
        };
        let labels: Labels = [(0, "A".to_string()), (1, "B".into()), (2, "C".into())].into();
        let out =
            training_order(&t, &labels, &Confidence::new(&s, None), Strategy::Curriculum, 0, None).expect("order");
        assert!(out.unscored.is_empty());
        let csv = out.table.to_csv();
        assert!(csv.starts_with("prompt,category,answer,model_difficulty\n"), "{csv}");
        let firsts: Vec<&str> = csv.lines().skip(1).map(|l| &l[..1]).collect();
        assert_eq!(firsts, vec!["b", "a", "c"]);
    }

    fn pool() -> Table {
        let csv = "id,prompt,answer\n1,p1,\n2,p2,given\n3,p3,\n4,p4,\n5,p5,\n6,p6,\n";
        read_table("p.csv", csv.as_bytes(), &ReadOptions::default()).expect("table")
    }

    fn conf_of(rows: &[usize], conf: &[Option<f64>]) -> Scored {
        Scored {
            rows: rows.to_vec(),
            scores: conf
                .iter()
                .map(|&c| ScoreRow {
                    stats: Scores { avg_confidence: c, mean_entropy: c.map(|c| 1.0 - c), ..Scores::default() },
                    ..ScoreRow::default()
                })
                .collect(),
            seconds: 1.0,
            cancelled_of: None,
        }
    }

    #[test]
    fn every_labeled_row_is_ordered_and_unscored_ones_are_named() {
        let t = pool();
        // Typed (row 0), in the pool's answer column (row 1), from a labels file (rows 3 and 5).
        let labels: Labels = [(0, "a".to_string()), (3, "d".into()), (4, "  ".into()), (5, "f".into())].into();
        assert_eq!(labeled_rows(&t, &labels), vec![0, 1, 3, 5], "a blank label is no label");
        let sample = conf_of(&[0, 1, 2], &[Some(0.9), Some(0.2), Some(0.5)]);
        let out =
            training_order(&t, &labels, &Confidence::new(&sample, None), Strategy::Curriculum, 0, None).expect("order");
        assert_eq!(out.unscored, vec![3, 5]);
        let ids: Vec<&str> = out.table.rows.iter().map(|r| r.fields[0].as_str()).collect();
        assert_eq!(ids, vec!["1", "2"], "easiest first; unscored rows are left out");
        let note = unscored_note(&t, &out.unscored).expect("note");
        assert_eq!(note, "2 labeled rows are outside the scored sample, so the model has no confidence (difficulty) for them yet (lines 5, 7).");

        // Once scored (row 5 generated no counted token: hardest), every labeled row is in.
        let extra = conf_of(&[3, 5], &[Some(0.95), None]);
        let conf = Confidence::new(&sample, Some(&extra));
        let out = training_order(&t, &labels, &conf, Strategy::Curriculum, 0, None).expect("order");
        assert!(out.unscored.is_empty());
        let csv = out.table.to_csv();
        assert_eq!(csv, "id,prompt,answer,model_difficulty\n4,p4,d,0.050000000000000044\n1,p1,a,0.09999999999999998\n2,p2,given,0.8\n6,p6,f,1\n");
    }

    #[test]
    fn the_training_order_equals_core_order_over_the_labeled_rows_in_pool_order() {
        // What `labelcast order --difficulty-column model_difficulty` does with the labeled rows.
        let t = pool();
        let labels: Labels = (0..6).filter(|r| r % 2 == 0).map(|r| (r, format!("l{r}"))).collect();
        let sample = conf_of(&[0, 1, 2, 3, 4, 5], &[Some(0.3), Some(0.1), Some(0.8), Some(0.6), Some(0.4), Some(0.2)]);
        let out =
            training_order(&t, &labels, &Confidence::new(&sample, None), Strategy::Random, 5, None).expect("order");
        let rows = [0usize, 1, 2, 4];
        let difficulty: Vec<f64> = [0.3, 0.1, 0.8, 0.4].iter().map(|c| 1.0 - c).collect();
        let opts = OrderOptions { strategy: Strategy::Random, seed: 5, ..OrderOptions::default() };
        let perm = order(None, Some(&difficulty), rows.len(), &opts).expect("core order");
        let want: Vec<String> = perm.iter().map(|&i| (rows[i] + 1).to_string()).collect();
        let got: Vec<String> = out.table.rows.iter().map(|r| r.fields[0].clone()).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn nothing_to_order_is_explained() {
        let t = pool();
        let none = Labels::new();
        let s = conf_of(&[0], &[Some(0.5)]);
        // Row 1 has its answer in the pool but was not scored.
        let e =
            training_order(&t, &none, &Confidence::new(&s, None), Strategy::Random, 0, None).unwrap_err().to_string();
        assert!(
            e.contains("1 labeled row is outside the scored sample")
                && e.contains("line 3")
                && e.contains("Score them first"),
            "{e}"
        );
        let t = read_table("p.csv", b"prompt\nq\n", &ReadOptions::default()).expect("table");
        let e =
            training_order(&t, &none, &Confidence::new(&s, None), Strategy::Random, 0, None).unwrap_err().to_string();
        assert!(e.starts_with("No row is labeled yet"), "{e}");
    }

    #[test]
    fn the_next_batch_leaves_out_every_labeled_row() {
        let t = pool();
        let labels: Labels = [(0, "a".to_string()), (4, "e".into())].into();
        let s = conf_of(&[0, 1, 2, 3, 4, 5], &[Some(0.1), Some(0.2), Some(0.3), Some(0.4), Some(0.5), Some(0.6)]);
        let exclude = labeled_rows(&t, &labels);
        let (rows, _) =
            next_batch(&s, &exclude, SelectStrategy::Uncertainty(Measure::MeanEntropy), 10, 0).expect("batch");
        assert_eq!(rows, vec![2, 3, 5], "most uncertain first, rows 0, 1 and 4 are labeled");
    }
}
