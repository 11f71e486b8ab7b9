//! From the bytes of a dropped file to what the data step shows: a table, or every problem.

use labelcast_core::table::{read_table, ReadOptions, Role, Table};
use labelcast_core::Error;

use crate::problems::{problems, Problem};

/// Rows shown in the preview; the status line gives the full count.
pub const PREVIEW_ROWS: usize = 50;

/// Cells longer than this are cut in the preview so one huge field cannot blow up the
/// layout or the DOM; the full text stays in the cell's tooltip.
pub const PREVIEW_CELL_CHARS: usize = 300;

#[derive(Debug)]
pub enum Parsed {
    Table {
        table: Box<Table>,
        info: Vec<String>,
    },
    Failed(Vec<Problem>),
}

/// Parses a file with the core reader. A file whose only problem is that no column is
/// recognised as the prompt is still shown (read again without requiring a prompt), so
/// the person can pick the prompt column in the role selects instead of renaming headers.
pub fn parse(name: &str, bytes: &[u8]) -> Parsed {
    let opts = ReadOptions::default();
    match read_table(name, bytes, &opts) {
        Ok(table) => {
            let info = info(&table);
            Parsed::Table {
                table: Box::new(table),
                info,
            }
        }
        Err(e) if only_missing_prompt(&e) => {
            let relaxed = ReadOptions {
                require_prompt: false,
                ..ReadOptions::default()
            };
            match read_table(name, bytes, &relaxed) {
                Ok(table) => {
                    let info = info(&table);
                    Parsed::Table {
                        table: Box::new(table),
                        info,
                    }
                }
                Err(e) => Parsed::Failed(problems(&e)),
            }
        }
        Err(e) => Parsed::Failed(problems(&e)),
    }
}

fn only_missing_prompt(e: &Error) -> bool {
    let ps = e.problems();
    !ps.is_empty() && ps.iter().all(|p| matches!(p, Error::NoPromptColumn { .. }))
}

/// Remarks about a table that read fine but where something was skipped.
fn info(t: &Table) -> Vec<String> {
    let mut out = Vec::new();
    let n = t.skipped_lines.len();
    if n > 0 {
        let shown: Vec<String> = t
            .skipped_lines
            .iter()
            .take(10)
            .map(|l| l.to_string())
            .collect();
        let more = if n > 10 {
            format!(" and {} more", n - 10)
        } else {
            String::new()
        };
        let noun = if n == 1 { "line" } else { "lines" };
        out.push(format!(
            "Skipped {n} empty {noun} ({}{more}); they are not rows.",
            shown.join(", ")
        ));
    }
    if t.rows.is_empty() {
        out.push("The file has a header but no rows.".to_string());
    }
    out
}

/// Problems that follow from the roles chosen, shown with the file's problems: labelcast
/// cannot work without a prompt column.
pub fn role_problems(t: &Table) -> Vec<Problem> {
    if t.roles.get(Role::Prompt).is_some() {
        return Vec::new();
    }
    let looked_for = Role::Prompt.aliases().join(", ");
    vec![Problem::general(format!(
        "{}: no prompt column. labelcast looks for a header named {looked_for}; choose the \
         column that holds the prompts under “Column roles”.",
        t.file
    ))]
}

/// A preview cell: the text cut at [`PREVIEW_CELL_CHARS`] characters (on a char boundary)
/// with an ellipsis, and whether it was cut.
pub fn preview_cell(text: &str) -> (String, bool) {
    match text.char_indices().nth(PREVIEW_CELL_CHARS) {
        Some((i, _)) => (format!("{}…", &text[..i]), true),
        None => (text.to_string(), false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_csv_reads_with_roles() {
        let csv = b"id,question,label\n1,What is 2+2?,4\n2,Capital of France?,Paris\n";
        match parse("pool.csv", csv) {
            Parsed::Table { table, info } => {
                assert_eq!(table.rows.len(), 2);
                assert_eq!(table.roles.get(Role::Prompt), Some(1));
                assert_eq!(table.roles.get(Role::Answer), Some(2));
                assert!(info.is_empty());
                assert!(role_problems(&table).is_empty());
            }
            Parsed::Failed(p) => panic!("unexpected problems: {p:?}"),
        }
    }

    #[test]
    fn every_row_problem_is_listed_with_its_line() {
        let csv =
            b"id,question,label\na,ok,x\nb,two fields\nc,\"x\"y,z\nd,fine,w\ne,too,many,fields\n";
        match parse("bad.csv", csv) {
            Parsed::Failed(ps) => {
                let lines: Vec<_> = ps.iter().filter_map(|p| p.line).collect();
                assert!(lines.contains(&3), "{ps:?}");
                assert!(lines.contains(&4), "{ps:?}");
                assert!(lines.contains(&6), "{ps:?}");
            }
            Parsed::Table { .. } => panic!("a broken file must fail"),
        }
    }

    #[test]
    fn missing_prompt_column_still_shows_the_table() {
        let csv = b"id,body\n1,hello\n";
        match parse("x.csv", csv) {
            Parsed::Table { table, .. } => {
                assert_eq!(table.roles.get(Role::Prompt), None);
                let ps = role_problems(&table);
                assert_eq!(ps.len(), 1);
                assert!(ps[0].message.contains("no prompt column"));
            }
            Parsed::Failed(p) => panic!("unexpected problems: {p:?}"),
        }
    }

    #[test]
    fn empty_file_is_a_problem() {
        match parse("e.csv", b"  \n") {
            Parsed::Failed(ps) => assert!(ps[0].message.contains("empty")),
            Parsed::Table { .. } => panic!("an empty file must fail"),
        }
    }

    #[test]
    fn jsonl_reads() {
        let jsonl = b"{\"prompt\": \"hi\", \"answer\": \"there\"}\n{\"prompt\": \"a\", \"answer\": \"b\"}\n";
        match parse("p.jsonl", jsonl) {
            Parsed::Table { table, .. } => assert_eq!(table.rows.len(), 2),
            Parsed::Failed(p) => panic!("unexpected problems: {p:?}"),
        }
    }

    #[test]
    fn preview_cells_are_cut_on_char_boundaries() {
        let long = "é".repeat(PREVIEW_CELL_CHARS + 5);
        let (cut, was_cut) = preview_cell(&long);
        assert!(was_cut);
        assert_eq!(cut.chars().count(), PREVIEW_CELL_CHARS + 1);
        assert_eq!(preview_cell("short"), ("short".to_string(), false));
    }
}
