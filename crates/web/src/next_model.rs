//! Step 6: the next batch to annotate (any core selection strategy over the rest of the
//! scored pool) and a training order of the labeled rows (any core ordering strategy, with
//! difficulty from the model's confidence). The same core functions as `labelcast select`
//! and `labelcast order`.

use std::collections::HashSet;

use labelcast_core::order::{order, OrderOptions, Strategy};
use labelcast_core::select::{
    facility_location, k_center, low_confidence_decile, top_uncertain, uncertain_diverse, Measure,
    SelectStrategy,
};
use labelcast_core::table::Table;
use labelcast_protocol::ScoreRow;

use crate::annotate_model::{labeled_table, Labels};
use crate::workflow::Scored;

/// The column the training order adds: 1 − avg_confidence, higher = harder.
pub const DIFFICULTY_COLUMN: &str = "model_difficulty";

fn measure(s: &ScoreRow, m: Measure) -> Option<f64> {
    match m {
        Measure::AvgConfidence => s.avg_confidence,
        Measure::MeanEntropy => s.mean_entropy,
        Measure::LeastConfidence => s.least_confidence,
        Measure::MeanMargin => s.mean_margin,
        Measure::MinMargin => s.min_margin,
    }
}

fn cell(v: Option<f64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

type Stat = fn(&ScoreRow) -> Option<f64>;

/// `rows` of the pool with the score columns `labelcast score` writes.
pub fn with_scores(t: &Table, rows: &[usize], scores: &[&ScoreRow]) -> Result<Table, String> {
    let mut out = t.select_rows(rows);
    let cols: [(&str, Stat); 6] = [
        ("avg_confidence", |s| s.avg_confidence),
        ("ppl", |s| s.ppl),
        ("mean_entropy", |s| s.mean_entropy),
        ("least_confidence", |s| s.least_confidence),
        ("mean_margin", |s| s.mean_margin),
        ("min_margin", |s| s.min_margin),
    ];
    for (name, f) in cols {
        if out.headers.iter().any(|h| h.trim() == name) {
            continue; // a re-imported scores file keeps its own column
        }
        let values = scores.iter().map(|s| cell(f(s))).collect();
        out.push_column(name, values).map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// The next `k` rows to annotate among the scored rows not in `exclude` (pool rows), best
/// first as the strategy ranks them. Returns pool rows and the strategy's notes.
pub fn next_batch(
    scored: &Scored,
    exclude: &[usize],
    strategy: SelectStrategy,
    k: usize,
    seed: u64,
) -> Result<(Vec<usize>, Vec<String>), String> {
    let skip: HashSet<usize> = exclude.iter().copied().collect();
    let cand: Vec<usize> = (0..scored.rows.len())
        .filter(|&i| !skip.contains(&scored.rows[i]))
        .collect();
    if cand.is_empty() {
        return Err("Every scored row is already labeled: score more of the pool first.".into());
    }
    let k = k.clamp(1, cand.len());
    let scores = |m: Measure| -> Vec<Option<f64>> {
        cand.iter().map(|&i| measure(&scored.scores[i], m)).collect()
    };
    let emb = || -> Result<Vec<Vec<f32>>, String> {
        let e: Vec<Vec<f32>> = cand.iter().map(|&i| scored.scores[i].embedding.clone()).collect();
        if e.iter().any(Vec::is_empty) {
            return Err("This strategy needs the prompts' embeddings, which were not kept after the \
                        page was reloaded: score the prompts again, or choose an uncertainty strategy."
                .into());
        }
        Ok(e)
    };
    let sel = match strategy {
        SelectStrategy::LowConfidenceDecile => {
            low_confidence_decile(&scores(Measure::AvgConfidence), k, seed)
        }
        SelectStrategy::Uncertainty(m) => top_uncertain(&scores(m), m, k),
        SelectStrategy::KCenter => k_center(&emb()?, k, seed),
        SelectStrategy::FacilityLocation => facility_location(&emb()?, k),
        SelectStrategy::UncertainDiverse => {
            uncertain_diverse(&scores(Measure::MeanEntropy), Measure::MeanEntropy, &emb()?, k, seed)
        }
    }
    .map_err(|e| e.to_string())?;
    Ok((
        sel.indices.iter().map(|&i| scored.rows[cand[i]]).collect(),
        sel.notes,
    ))
}

/// The labeled rows in a training order, with their labels and a difficulty column from the
/// model's confidence (rows without a confidence count as hardest).
pub fn training_order(
    t: &Table,
    rows: &[usize],
    labels: &Labels,
    scored: &Scored,
    strategy: Strategy,
    seed: u64,
) -> Result<Table, String> {
    let conf = |row: usize| {
        scored
            .rows
            .iter()
            .position(|&r| r == row)
            .and_then(|i| scored.scores[i].avg_confidence)
    };
    let difficulty: Vec<f64> = rows.iter().map(|&r| conf(r).map_or(1.0, |c| 1.0 - c)).collect();
    let mut out = labeled_table(t, rows, labels)?;
    if !out.headers.iter().any(|h| h.trim() == DIFFICULTY_COLUMN) {
        out.push_column(DIFFICULTY_COLUMN, difficulty.iter().map(|d| d.to_string()).collect())
            .map_err(|e| e.to_string())?;
    }
    let categories: Option<Vec<String>> = t
        .roles
        .category
        .map(|c| rows.iter().map(|&r| t.get(r, c).to_string()).collect());
    let opts = OrderOptions {
        strategy,
        seed,
        ..OrderOptions::default()
    };
    let perm = order(categories.as_deref(), Some(&difficulty), rows.len(), &opts)
        .map_err(|e| e.to_string())?;
    let mut ordered = out.select_rows(&perm);
    ordered.roles.difficulty = ordered.headers.iter().position(|h| h == DIFFICULTY_COLUMN);
    Ok(ordered)
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
                    avg_confidence: Some(c),
                    mean_entropy: Some(1.0 - c),
                    embedding: vec![i as f32, 1.0],
                    ..ScoreRow::default()
                })
                .collect(),
            seconds: 1.0,
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
    fn diversity_without_embeddings_is_explained() {
        let mut s = scored(&[0.1, 0.2]);
        s.scores.iter_mut().for_each(|r| r.embedding.clear());
        let e = next_batch(&s, &[], SelectStrategy::FacilityLocation, 1, 0).unwrap_err();
        assert!(e.contains("embeddings"), "{e}");
    }

    #[test]
    fn curriculum_orders_easiest_first_with_labels() {
        let t = read_table("p.csv", b"prompt,category\na,x\nb,y\nc,x\n", &ReadOptions::default()).expect("table");
        let s = Scored {
            rows: vec![0, 1, 2],
            scores: [0.5, 0.9, 0.1]
                .iter()
                .map(|&c| ScoreRow { avg_confidence: Some(c), ..ScoreRow::default() })
                .collect(),
            seconds: 1.0,
        };
        let labels: Labels = [(0, "A".to_string()), (1, "B".into()), (2, "C".into())].into();
        let out = training_order(&t, &[0, 1, 2], &labels, &s, Strategy::Curriculum, 0).expect("order");
        let csv = out.to_csv();
        assert!(csv.starts_with("prompt,category,answer,model_difficulty\n"), "{csv}");
        let firsts: Vec<&str> = csv.lines().skip(1).map(|l| &l[..1]).collect();
        assert_eq!(firsts, vec!["b", "a", "c"]);
    }
}
