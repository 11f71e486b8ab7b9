//! From a scored pool to the rows to label, their labels, and the labeled file: the same
//! rules as the CLI (METHOD.md 1c through `labelcast_core::select::low_confidence_decile`,
//! seed 0, k = 32), so the page's rows equal `labelcast select`'s on the same scores.

use std::collections::BTreeMap;

use labelcast_core::select::low_confidence_decile;
use labelcast_core::table::Table;
use labelcast_protocol::{Example, ExampleIn, Prompt, PromptIn};

use crate::steps::annotate::label_error::LabelError;
use crate::steps::annotate::label_fill::LabelFile;
pub use crate::steps::annotate::label_fill::{given_label, label_of};

use crate::workflow::Scored;

/// The method's constants, from core as the CLI's defaults (32 examples, 30 new tokens,
/// LoRA r 64 / alpha 32).
pub use labelcast_core::method::{EXAMPLES as K, LORA_ALPHA, LORA_RANK, MAX_NEW_TOKENS};
/// The CLI's default `--seed` (selection and the LoRA initialisation).
pub const SEED: u64 = 0;

pub use crate::workflow::Labels;

/// Rows to score: all, or a seeded sample of `size` (in pool order); the same rows
/// `labelcast calibrate-suite --pool-sample` scores.
pub use labelcast_core::suite::sample_rows;

/// The prompts of `rows`, as the CLI builds them (prompt column; the system message from the
/// system column, else the task `instruction`, by `Table::system_message`).
pub fn prompts(t: &Table, rows: &[usize], instruction: Option<&str>) -> Result<Vec<PromptIn>, LabelError> {
    let p = t.roles.prompt.ok_or_else(|| LabelError::NoPromptColumn { file: t.file.clone() })?;
    Ok(rows
        .iter()
        .map(|&r| PromptIn {
            prompt: Prompt { system: t.system_message(r, instruction), text: t.get(r, p).to_string() },
            name: Some(t.row_name(r)),
        })
        .collect())
}

/// The rows to label: METHOD.md 1c over the scored rows (pool row indices, lowest
/// confidence first), with what the selection had to say.
pub fn to_label(scored: &Scored) -> Result<(Vec<usize>, Vec<String>), LabelError> {
    // Rows skipped for their length have no confidence, and are not ones that "generated no
    // token": left out before the draw, with their own note.
    let kept: Vec<usize> = (0..scored.scores.len()).filter(|&i| scored.scores[i].skipped.is_none()).collect();
    let conf: Vec<Option<f64>> = kept.iter().map(|&i| scored.scores[i].stats.avg_confidence).collect();
    let valid = conf.iter().filter(|c| c.is_some_and(f64::is_finite)).count();
    let mut notes = Vec::new();
    let skipped = scored.scores.len() - kept.len();
    if skipped > 0 {
        notes.push(format!(
            "{} longer than the model's context and skipped, so never picked.",
            crate::format::count(skipped, "prompt was", "prompts were")
        ));
    }
    let k = K.min(valid);
    if k == 0 {
        return Err(LabelError::NoConfidence);
    }
    if k < K {
        notes.push(format!(
            "Only {valid} scored prompts have a confidence; all of them are listed (METHOD.md asks for {K})."
        ));
    }
    let sel = low_confidence_decile(&conf, k, SEED)?;
    notes.extend(sel.notes);
    Ok((sel.indices.iter().map(|&i| scored.rows[kept[i]]).collect(), notes))
}

/// The labeled examples for CoS-Low, in `rows` order; names every row still unlabeled.
pub fn examples(
    t: &Table,
    rows: &[usize],
    labels: &Labels,
    instruction: Option<&str>,
) -> Result<Vec<ExampleIn>, LabelError> {
    let prompts = prompts(t, rows, instruction)?;
    let missing: Vec<String> =
        rows.iter().filter(|&&r| label_of(t, labels, r).is_none()).map(|&r| t.row_name(r)).collect();
    if !missing.is_empty() {
        return Err(LabelError::Unlabeled { missing, of: rows.len() });
    }
    Ok(rows
        .iter()
        .zip(prompts)
        .map(|(&r, p)| ExampleIn {
            example: Example {
                system: p.prompt.system,
                prompt: p.prompt.text,
                answer: label_of(t, labels, r).unwrap_or_default(),
            },
            name: p.name,
        })
        .collect())
}

/// `rows` with every input column and their labels: in the file's answer column when it
/// has one, else in a new `answer` column. Unlabeled rows get an empty answer. A task
/// `instruction` goes where the model got it: into the system column's empty cells, or a new
/// `system` column, so the CLI given this file computes what the page did.
pub fn labeled_table(
    t: &Table,
    rows: &[usize],
    labels: &Labels,
    instruction: Option<&str>,
) -> Result<Table, LabelError> {
    let mut out = t.select_rows(rows);
    // Each row's system message by the one rule (`Table::system_message`), written back.
    let systems: Vec<String> = rows.iter().map(|&r| t.system_message(r, instruction).unwrap_or_default()).collect();
    match t.roles.system {
        Some(c) => {
            for (row, s) in out.rows.iter_mut().zip(systems) {
                if let Some(f) = row.fields.get_mut(c) {
                    *f = s;
                }
            }
        }
        None if systems.iter().any(|s| !s.is_empty()) => {
            out.push_column("system", systems)?;
            out.roles.system = Some(out.headers.len() - 1);
        }
        None => {}
    }
    let values: Vec<String> = rows.iter().map(|&r| label_of(t, labels, r).unwrap_or_default()).collect();
    match t.roles.answer {
        Some(c) => {
            let width = out.headers.len();
            for (row, v) in out.rows.iter_mut().zip(values) {
                row.fields.resize(width, String::new());
                row.fields[c] = v;
            }
        }
        None => {
            out.push_column("answer", values)?;
            out.roles.answer = Some(out.headers.len() - 1);
        }
    }
    Ok(out)
}

/// Labels from a re-imported file for `rows`: matched by the id column when both files have
/// one, else by the prompt text. Returns the labels found and what could not be used.
pub fn import_labels(t: &Table, rows: &[usize], name: &str, bytes: &[u8]) -> Result<(Labels, Vec<String>), LabelError> {
    let file = LabelFile::read(t, name, bytes)?;
    let mut found: BTreeMap<String, String> = BTreeMap::new();
    for r in 0..file.table.rows.len() {
        if let (Some(k), Some(a)) = (file.key(&file.table, r), file.answer(r)) {
            found.insert(k, a.to_string());
        }
    }
    let mut labels = Labels::new();
    let mut notes = Vec::new();
    for &r in rows {
        if let Some(a) = file.key(t, r).and_then(|k| found.get(&k)) {
            labels.insert(r, a.clone());
        }
    }
    let unmatched = rows.len() - labels.len();
    if unmatched > 0 {
        notes.push(format!(
            "{unmatched} of the {} rows to label have no answer in {name} (matched by {}).",
            rows.len(),
            file.matched_by()
        ));
    }
    Ok((labels, notes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use labelcast_core::table::{read_table, ReadOptions};
    use labelcast_protocol::{ScoreRow, Scores};

    fn pool(csv: &str) -> Table {
        read_table("pool.csv", csv.as_bytes(), &ReadOptions::default()).expect("table")
    }

    fn scored(rows: Vec<usize>, conf: &[f64]) -> Scored {
        Scored {
            rows,
            scores: conf
                .iter()
                .map(|&c| ScoreRow {
                    stats: Scores { avg_confidence: Some(c), ..Scores::default() },
                    ..ScoreRow::default()
                })
                .collect(),
            seconds: 1.0,
            cancelled_of: None,
        }
    }

    #[test]
    fn rows_skipped_for_their_length_are_never_to_label_and_said_so() {
        let mut s = scored((10..50).collect(), &(0..40).map(|i| i as f64 / 40.0).collect::<Vec<_>>());
        // The least confident row was skipped: no confidence, its own note.
        s.scores[0] = ScoreRow { skipped: Some(9000), ..ScoreRow::default() };
        let (rows, notes) = to_label(&s).expect("rows");
        assert!(!rows.contains(&10), "{rows:?}");
        assert!(notes.iter().any(|n| n.starts_with("1 prompt was longer than the model's context")), "{notes:?}");
        assert!(!notes.iter().any(|n| n.contains("no token") || n.contains("None")), "{notes:?}");
    }

    #[test]
    fn rows_sent_to_the_worker_carry_their_names_and_file_labels_are_taught_as_the_cli_does() {
        let t = read_table(
            "pool.jsonl",
            b"{\"id\": \"a\", \"prompt\": \"p1\", \"answer\": true}\n{\"id\": \"b\", \"prompt\": \"p2\"}\n",
            &ReadOptions::default(),
        )
        .expect("table");
        let p = prompts(&t, &[1, 0], None).expect("prompts");
        assert_eq!((p[0].name.as_deref(), p[1].name.as_deref()), (Some("line 2 (id b)"), Some("line 1 (id a)")));
        let labels: Labels = [(1, " yes ".to_string())].into();
        let ex = examples(&t, &[0, 1], &labels, None).expect("examples");
        assert_eq!((ex[0].example.answer.as_str(), ex[1].example.answer.as_str()), ("True", "yes"));
        assert_eq!(ex[1].name.as_deref(), Some("line 2 (id b)"));
        let err = examples(&t, &[1], &Labels::new(), None).unwrap_err().to_string();
        assert!(err.contains("line 2 (id b)"), "{err}");
    }

    #[test]
    fn the_task_instruction_is_sent_and_exported_where_the_file_has_none() {
        let t = pool("id,prompt,answer\na,one?,1\nb,two?,2\n");
        let ex = examples(&t, &[0, 1], &Labels::new(), Some("Answer with a digit.")).expect("examples");
        assert!(ex.iter().all(|e| e.example.system.as_deref() == Some("Answer with a digit.")));
        assert!(
            prompts(&t, &[0], Some(" ")).expect("prompts")[0].prompt.system.is_none(),
            "a blank field is no instruction"
        );
        let out = labeled_table(&t, &[1], &Labels::new(), Some("Answer with a digit.")).expect("table");
        assert_eq!(out.to_csv(), "id,prompt,answer,system\nb,two?,2,Answer with a digit.\n");
        // A system column keeps its own cells; its empty ones get the instruction, as the model did.
        let t = pool("system,prompt,answer\nBe terse.,one?,1\n,two?,2\n");
        let ex = examples(&t, &[0, 1], &Labels::new(), Some("Answer with a digit.")).expect("examples");
        assert_eq!(
            (ex[0].example.system.as_deref(), ex[1].example.system.as_deref()),
            (Some("Be terse."), Some("Answer with a digit."))
        );
        let out = labeled_table(&t, &[0, 1], &Labels::new(), Some("Answer with a digit.")).expect("table");
        assert_eq!(out.to_csv(), "system,prompt,answer\nBe terse.,one?,1\nAnswer with a digit.,two?,2\n");
    }

    #[test]
    fn to_label_maps_back_to_pool_rows_lowest_first() {
        let s = scored(vec![10, 20, 30, 40], &[0.9, 0.1, 0.5, 0.3]);
        let (rows, notes) = to_label(&s).expect("rows");
        assert_eq!(rows, vec![20, 40, 30, 10]);
        assert!(notes.iter().any(|n| n.contains("Only 4")));
    }

    #[test]
    fn labels_from_page_then_file_and_missing_rows_named() {
        let t = pool("id,prompt,answer\na,one?,1\nb,two?,\nc,three?,\n");
        let mut labels = Labels::new();
        labels.insert(1, " 2 ".into());
        let err = examples(&t, &[0, 1, 2], &labels, None).unwrap_err().to_string();
        assert!(err.contains("line 4"), "{err}");
        labels.insert(2, "3".into());
        let ex = examples(&t, &[2, 0, 1], &labels, None).expect("examples");
        let answers: Vec<&str> = ex.iter().map(|e| e.example.answer.as_str()).collect();
        assert_eq!(answers, vec!["3", "1", "2"]);
        let out = labeled_table(&t, &[2, 0], &labels, None).expect("table");
        assert_eq!(out.to_csv(), "id,prompt,answer\nc,three?,3\na,one?,1\n");
    }

    #[test]
    fn labeled_table_adds_an_answer_column_and_import_reads_it_back() {
        let t = pool("prompt,category\nWhat is 2+2?,math\n\"Say \"\"hi\"\"\",misc\n");
        let mut labels = Labels::new();
        labels.insert(0, "4".into());
        labels.insert(1, "hi".into());
        let csv = labeled_table(&t, &[1, 0], &labels, None).expect("table").to_csv();
        assert!(csv.starts_with("prompt,category,answer\n"), "{csv}");
        let (back, notes) = import_labels(&t, &[0, 1], "labels.csv", csv.as_bytes()).expect("import");
        assert_eq!(back, labels);
        assert!(notes.is_empty());
    }

    #[test]
    fn import_explains_a_file_without_answers() {
        let t = pool("prompt\nq\n");
        let e = import_labels(&t, &[0], "x.csv", b"prompt\nq\n").unwrap_err().to_string();
        assert!(e.contains("no answer column"), "{e}");
        let e = import_labels(&t, &[0], "x.csv", b"prompt,answer\n\"q,a\n").unwrap_err().to_string();
        assert!(e.contains("x.csv"), "{e}");
    }
}
