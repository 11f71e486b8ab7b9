//! From the bytes of a dropped file to what the data step shows: a table, or every problem.

use labelcast_core::table::{read_table, ReadOptions, Role, Table};
use labelcast_core::Error;

use crate::steps::data::problems::{problems, Problem};

/// Cells longer than this are cut in the preview so one huge field cannot blow up the
/// layout or the DOM; the full text stays in the cell's tooltip.
pub const PREVIEW_CELL_CHARS: usize = 300;

#[derive(Debug)]
pub enum Parsed {
    Table { table: Box<Table>, info: Vec<String> },
    Failed(Vec<Problem>),
}

/// Bytes scanned for a NUL byte, which no CSV or JSONL text has and nearly every binary file
/// (spreadsheet, archive, model, image) has near its start.
const BINARY_SCAN_BYTES: usize = 64 * 1024;

/// When `bytes` are a binary file rather than text: the line of the first NUL byte and what
/// to tell the person. Without this, a renamed binary gives one "not UTF-8" error per line.
pub fn binary_problem(bytes: &[u8]) -> Option<(usize, &'static str)> {
    // UTF-16 has NULs too, but starts with a byte-order mark the core reader explains.
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return None;
    }
    let head = &bytes[..bytes.len().min(BINARY_SCAN_BYTES)];
    let at = head.iter().position(|&b| b == 0)?;
    let line = 1 + head[..at].iter().filter(|&&b| b == b'\n').count();
    Some((
        line,
        "this is not a text file (it holds a NUL byte, as binary files such as spreadsheets, \
         archives or models do). labelcast reads CSV, TSV, JSONL or JSON text; save a \
         spreadsheet as CSV first.",
    ))
}

/// Parses a file with the core reader. A file whose only problem is that no column is
/// recognised as the prompt is still shown (read again without requiring a prompt), so
/// the person can pick the prompt column in the role selects instead of renaming headers.
pub fn parse(name: &str, bytes: &[u8]) -> Parsed {
    if let Some((line, message)) = binary_problem(bytes) {
        return Parsed::Failed(vec![Problem { line: Some(line), ..Problem::general(message) }]);
    }
    let opts = ReadOptions::default();
    match read_table(name, bytes, &opts) {
        Ok(table) => {
            let info = info(&table);
            Parsed::Table { table: Box::new(table), info }
        }
        Err(e) if only_missing_prompt(&e) => {
            let relaxed = ReadOptions { require_prompt: false, ..ReadOptions::default() };
            match read_table(name, bytes, &relaxed) {
                Ok(table) => {
                    let info = info(&table);
                    Parsed::Table { table: Box::new(table), info }
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
        let shown: Vec<String> = t.skipped_lines.iter().take(10).map(|l| l.to_string()).collect();
        let more = if n > 10 { format!(" and {} more", n - 10) } else { String::new() };
        let noun = if n == 1 { "line" } else { "lines" };
        out.push(format!("Skipped {n} empty {noun} ({}{more}); they are not rows.", shown.join(", ")));
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
        let csv = b"id,question,label\na,ok,x\nb,two fields\nc,\"x\"y,z\nd,fine,w\ne,too,many,fields\n";
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

    fn failed(name: &str, bytes: &[u8]) -> Vec<Problem> {
        match parse(name, bytes) {
            Parsed::Failed(ps) => ps,
            Parsed::Table { .. } => panic!("{name} must fail"),
        }
    }

    #[test]
    fn header_only_csv_reads_with_no_rows_and_says_so() {
        match parse("h.csv", b"id,prompt\n") {
            Parsed::Table { table, info } => {
                assert!(table.rows.is_empty());
                assert!(info.iter().any(|i| i.contains("no rows")), "{info:?}");
            }
            Parsed::Failed(p) => panic!("unexpected problems: {p:?}"),
        }
    }

    #[test]
    fn binary_file_renamed_csv_is_one_clear_problem() {
        let mut zip = b"PK\x03\x04\x14\x00\x06\x00".to_vec();
        zip.extend((0..20_000u32).map(|i| (i * 7919 % 251) as u8));
        let ps = failed("sheet.csv", &zip);
        assert_eq!(ps.len(), 1, "{ps:?}");
        assert_eq!(ps[0].line, Some(1));
        assert!(ps[0].message.contains("not a text file"), "{ps:?}");
        // Invalid UTF-8 without NULs: the core reader's errors, by line.
        let ps = failed("latin1.csv", b"prompt\ncaf\xe9\n");
        assert!(ps.iter().all(|p| p.line == Some(2)) && ps[0].message.contains("UTF-8"), "{ps:?}");
        assert_eq!(binary_problem(b"a\nb\n\x00").map(|b| b.0), Some(3));
        assert!(binary_problem(b"\xFF\xFEp\x00").is_none(), "UTF-16 is left to the core");
    }

    #[test]
    fn jsonl_with_one_bad_line_names_it() {
        let ps =
            failed("p.jsonl", b"{\"prompt\": \"a\"}\n{\"prompt\": \"b\"}\n{\"prompt\": oops}\n{\"prompt\": \"d\"}\n");
        assert_eq!(ps.len(), 1, "{ps:?}");
        assert_eq!(ps[0].line, Some(3));
    }

    #[test]
    fn a_huge_single_cell_reads_and_previews_cut() {
        let cell = "x".repeat(5_000_000);
        let csv = format!("prompt\n{cell}\n");
        match parse("big.csv", csv.as_bytes()) {
            Parsed::Table { table, .. } => {
                assert_eq!(table.get(0, 0).len(), cell.len());
                assert!(preview_cell(table.get(0, 0)).1);
            }
            Parsed::Failed(p) => panic!("unexpected problems: {p:?}"),
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
