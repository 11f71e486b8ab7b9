//! Labels from a file of already-labeled rows, for the matching rows of the pool: matched by
//! the id column when both files have one, else by the prompt text. The same reading as the
//! re-import of the exported rows (`annotate_model::import_labels`, through [`LabelFile`]), but
//! over the whole pool, and it never overwrites: a pool row that already has a different label
//! (typed on the page or in the pool's own answer column) keeps it and is reported.

use std::collections::HashMap;

use labelcast_core::table::{read_table, ReadOptions, Role, Table};

use crate::format;
use crate::steps::annotate::label_error::LabelError;
use crate::workflow::Labels;

/// A file of labeled rows, read for matching against a pool.
pub struct LabelFile {
    pub table: Table,
    pub answer: usize,
    /// Rows are matched by id (both files have an id column), else by prompt text.
    pub by_id: bool,
}

impl LabelFile {
    /// Reads `bytes` as a CSV/JSONL table with an answer column, and one to match the pool's
    /// rows by. Errors name the file (and, for a malformed file, the line and column).
    pub fn read(pool: &Table, name: &str, bytes: &[u8]) -> Result<LabelFile, LabelError> {
        // No prompt column is needed when rows are matched by id; checked below instead.
        if let Some((line, message)) = crate::steps::data::data_model::binary_problem(bytes) {
            return Err(LabelError::NotText { file: name.into(), line, message });
        }
        let opts = ReadOptions { require_prompt: false, ..ReadOptions::default() };
        let table = read_table(name, bytes, &opts)?;
        let answer = table.roles.answer.ok_or_else(|| LabelError::NoAnswerColumn { file: name.into() })?;
        let by_id = pool.roles.id.is_some() && table.roles.id.is_some();
        if !by_id && table.roles.prompt.is_none() {
            return Err(LabelError::NoMatchColumn { file: name.into() });
        }
        Ok(LabelFile { table, answer, by_id })
    }

    fn role(&self) -> Role {
        if self.by_id {
            Role::Id
        } else {
            Role::Prompt
        }
    }

    /// What rows are matched by, for messages.
    pub fn matched_by(&self) -> &'static str {
        if self.by_id {
            "id"
        } else {
            "prompt text"
        }
    }

    /// The matching key of row `r` of `t` (this file or the pool); None when empty.
    pub fn key(&self, t: &Table, r: usize) -> Option<String> {
        t.role_value(r, self.role()).map(str::trim).filter(|k| !k.is_empty()).map(str::to_string)
    }

    /// The answer of this file's row `r`, trimmed; None when empty.
    pub fn answer(&self, r: usize) -> Option<&str> {
        Some(self.table.get(r, self.answer).trim()).filter(|a| !a.is_empty())
    }
}

/// A pool row that already had a different label: it keeps that label.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    pub pool_line: usize,
    pub file_line: usize,
}

/// What filling labels from a file found.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Fill {
    /// New labels, by pool row.
    pub labels: Labels,
    /// Rows of the file that matched at least one pool row.
    pub matched: usize,
    /// Pool rows that already had exactly this label.
    pub same: usize,
    /// Lines of the file whose prompt (or id) is not in the pool.
    pub not_found: Vec<usize>,
    /// Lines of the file with an empty answer or key (skipped).
    pub empty: Vec<usize>,
    pub conflicts: Vec<Conflict>,
    /// "id" or "prompt text".
    pub matched_by: &'static str,
}

/// Lines shown by name in a message; the rest are counted.
const SHOWN_LINES: usize = 5;

/// "line 4", "lines 3, 5", "lines 1, 2, 3, 4, 5 and 2 more".
pub fn lines(ls: &[usize]) -> String {
    let shown: Vec<String> = ls.iter().take(SHOWN_LINES).map(|l| l.to_string()).collect();
    let more = ls.len().saturating_sub(SHOWN_LINES);
    let noun = if ls.len() == 1 { "line" } else { "lines" };
    if more > 0 {
        format!("{noun} {} and {more} more", shown.join(", "))
    } else {
        format!("{noun} {}", shown.join(", "))
    }
}

impl Fill {
    /// One paragraph for the page: counts first, then the rows at fault by line.
    pub fn message(&self, name: &str) -> String {
        let matched_by = self.matched_by;
        let mut parts = vec![format!(
            "{name}: {} matched the pool (by {matched_by}); {} filled{}.",
            format::count(self.matched, "row", "rows"),
            format::count(self.labels.len(), "label", "labels"),
            if self.same > 0 { format!(", {} already there", self.same) } else { String::new() }
        )];
        if !self.not_found.is_empty() {
            parts.push(format!(
                "{} not in the pool ({}).",
                format::count(self.not_found.len(), "row is", "rows are"),
                lines(&self.not_found)
            ));
        }
        if !self.conflicts.is_empty() {
            let shown: Vec<String> = self
                .conflicts
                .iter()
                .take(SHOWN_LINES)
                .map(|c| format!("pool line {} vs {name} line {}", c.pool_line, c.file_line))
                .collect();
            let more = self.conflicts.len().saturating_sub(SHOWN_LINES);
            parts.push(format!(
                "{} a different label already; kept the existing one ({}{}).",
                format::count(self.conflicts.len(), "pool row has", "pool rows have"),
                shown.join("; "),
                if more > 0 { format!("; and {more} more") } else { String::new() }
            ));
        }
        if !self.empty.is_empty() {
            parts.push(format!(
                "{} skipped: no answer or no {matched_by} ({}).",
                format::count(self.empty.len(), "row", "rows"),
                lines(&self.empty)
            ));
        }
        parts.join(" ")
    }
}

/// Labels from the file `name` for every pool row it matches. `current` are the labels typed
/// on the page; a pool row with a label (typed, or in the pool's answer column) keeps it.
/// Within the file the first answer for a key wins; a later, different one is a conflict.
pub fn fill_labels(pool: &Table, current: &Labels, name: &str, bytes: &[u8]) -> Result<Fill, LabelError> {
    let file = LabelFile::read(pool, name, bytes)?;
    if !file.by_id && pool.roles.prompt.is_none() {
        return Err(LabelError::NoPromptToMatch { file: pool.file.clone() });
    }
    let mut index: HashMap<String, Vec<usize>> = HashMap::new();
    for r in 0..pool.rows.len() {
        if let Some(k) = file.key(pool, r) {
            index.entry(k).or_default().push(r);
        }
    }
    let mut fill = Fill { matched_by: file.matched_by(), ..Fill::default() };
    for r in 0..file.table.rows.len() {
        let line = file.table.rows[r].line;
        let (Some(key), Some(answer)) = (file.key(&file.table, r), file.answer(r)) else {
            fill.empty.push(line);
            continue;
        };
        let Some(pool_rows) = index.get(&key) else {
            fill.not_found.push(line);
            continue;
        };
        fill.matched += 1;
        for &p in pool_rows {
            let existing = fill.labels.get(&p).cloned().or_else(|| label_of(pool, current, p));
            match existing {
                None => {
                    fill.labels.insert(p, answer.to_string());
                }
                Some(e) if e == answer => fill.same += 1,
                Some(_) => fill.conflicts.push(Conflict { pool_line: pool.rows[p].line, file_line: line }),
            }
        }
    }
    Ok(fill)
}

/// The label a row already has in the input file (its answer column), if any, as the model
/// is taught it (`Table::answer_str`: Python's str() of a JSON value, as the CLI).
pub fn given_label(t: &Table, row: usize) -> Option<String> {
    t.answer_str(row)
}

/// A row's label: typed on the page, else from the input file.
pub fn label_of(t: &Table, labels: &Labels, row: usize) -> Option<String> {
    labels.get(&row).map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).or_else(|| given_label(t, row))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(text: &str) -> Table {
        read_table("pool.csv", text.as_bytes(), &ReadOptions::default()).expect("pool")
    }

    #[test]
    fn fills_by_prompt_reports_missing_and_keeps_existing_labels() {
        let t = pool("prompt,category\nq1,a\nq2,a\nq3,b\nq4,b\n");
        let mut typed = Labels::new();
        typed.insert(1, "typed".into());
        typed.insert(2, "same".into());
        let file = "prompt,answer\nq1,one\nq2,other\nq3,same\nnope,x\nq4,\nalso missing,y\n";
        let f = fill_labels(&t, &typed, "mine.csv", file.as_bytes()).expect("fill");
        assert_eq!(f.labels.into_iter().collect::<Vec<_>>(), vec![(0, "one".to_string())]);
        assert_eq!(f.matched, 3);
        assert_eq!(f.same, 1);
        assert_eq!(f.conflicts, vec![Conflict { pool_line: 3, file_line: 3 }]);
        assert_eq!(f.not_found, vec![5, 7]);
        assert_eq!(f.empty, vec![6]);
    }

    #[test]
    fn message_names_counts_and_lines() {
        let t = pool("prompt\nq1\nq2\n");
        let file = "prompt,answer\nq1,x\n".to_string() + &"zz,y\n".repeat(7);
        let f = fill_labels(&t, &Labels::new(), "l.csv", file.as_bytes()).expect("fill");
        let m = f.message("l.csv");
        assert!(m.starts_with("l.csv: 1 row matched the pool (by prompt text); 1 label filled."), "{m}");
        assert!(m.contains("7 rows are not in the pool (lines 3, 4, 5, 6, 7 and 2 more)"), "{m}");
    }

    #[test]
    fn matches_by_id_when_both_files_have_one_and_pool_answers_count_as_labels() {
        let t = pool("id,prompt,answer\na,q1,given\nb,q2,\n");
        let file = "id,label\na,other\nb,new\n";
        let f = fill_labels(&t, &Labels::new(), "l.csv", file.as_bytes()).expect("fill");
        assert_eq!(f.labels.get(&1).map(String::as_str), Some("new"));
        assert_eq!(f.conflicts.len(), 1, "the pool's own answer is kept");
        assert!(f.message("l.csv").contains("kept the existing one (pool line 2 vs l.csv line 2)"));
    }

    #[test]
    fn duplicate_prompts_fill_every_pool_row_and_the_first_answer_wins() {
        let t = pool("prompt\nq\nq\n");
        let f = fill_labels(
            &t,
            &Labels::new(),
            "l.jsonl",
            b"{\"prompt\":\"q\",\"answer\":\"1\"}\n{\"prompt\":\"q\",\"answer\":\"2\"}\n",
        )
        .expect("fill");
        assert_eq!(f.labels.len(), 2);
        assert_eq!(f.conflicts.len(), 2);
    }

    #[test]
    fn errors_name_the_file_and_line() {
        let t = pool("prompt\nq\n");
        let e = fill_labels(&t, &Labels::new(), "l.csv", b"prompt\nq\n").unwrap_err().to_string();
        assert!(e.contains("l.csv: no answer column"), "{e}");
        let e = fill_labels(&t, &Labels::new(), "l.jsonl", b"{\"prompt\":\"q\",\"answer\":\"1\"}\n{oops\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("l.jsonl, line 2"), "{e}");
        let e = fill_labels(&t, &Labels::new(), "l.csv", b"").unwrap_err().to_string();
        assert!(e.contains("l.csv") && e.contains("empty"), "{e}");
        let e = fill_labels(&t, &Labels::new(), "l.csv", b"prompt,answer\nq,\xff\xfe\n").unwrap_err().to_string();
        assert!(e.contains("l.csv, line 2"), "{e}");
    }
}
