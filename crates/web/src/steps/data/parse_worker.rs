//! Reading and parsing a pool off the page's main thread. A 100,000-row, 50 MB CSV takes
//! seconds to parse in wasm; on the main thread the tab would freeze that long. The page
//! starts a small module worker (web/parse-worker.js) that loads this same wasm, reads the
//! file in slices (reporting bytes), parses it with the core reader and sends the table back
//! as one UTF-8 buffer of fields plus their lengths (transferred, not copied). The page then
//! builds the rows in chunks, yielding between them, so it keeps painting and answering.
//!
//! JSON tables also send their value kinds (`Table::json_kinds`, a byte per cell), so the
//! page's table writes numbers back as numbers in exports, as the core reader's does.

use labelcast_core::table::{Format, Table};
use serde::{Deserialize, Serialize};

/// Rows built per turn of the page's event loop: ~10-20 ms of work in wasm.
pub const ROWS_PER_CHUNK: usize = 10_000;

/// What comes with the fields: everything of the table but its cells.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    pub name: String,
    pub format: Format,
    pub headers: Vec<String>,
    pub lines: Vec<usize>,
    pub skipped_lines: Vec<usize>,
    pub crlf: bool,
    pub info: Vec<String>,
}

/// A table as sent: `text` holds every field in order, `lens` per row its field count and
/// then each field's length in bytes; `kinds` the JSON value kinds of a table read from JSON.
pub struct Wire {
    pub meta: Meta,
    pub text: String,
    pub lens: Vec<u32>,
    pub kinds: Option<Vec<u8>>,
}

pub fn to_wire(t: &Table, name: &str, info: Vec<String>) -> Wire {
    let bytes: usize = t.rows.iter().flat_map(|r| r.fields.iter().map(String::len)).sum();
    let mut text = String::with_capacity(bytes);
    let mut lens = Vec::with_capacity(t.rows.len() * (t.headers.len() + 1));
    for r in &t.rows {
        lens.push(r.fields.len() as u32);
        for f in &r.fields {
            lens.push(f.len() as u32);
            text.push_str(f);
        }
    }
    let meta = Meta {
        name: name.to_string(),
        format: t.format,
        headers: t.headers.clone(),
        lines: t.rows.iter().map(|r| r.line).collect(),
        skipped_lines: t.skipped_lines.clone(),
        crlf: t.crlf(),
        info,
    };
    Wire { meta, text, lens, kinds: t.json_kinds() }
}

/// Reads rows from the wire, `max` at most, from the cursor (`at` in `lens`, `pos` in `text`).
/// Each field is checked as UTF-8 as it is read, so that cost is spread over the chunks too.
pub struct Cursor<'a> {
    text: &'a [u8],
    lens: &'a [u32],
    at: usize,
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(text: &'a [u8], lens: &'a [u32]) -> Self {
        Cursor { text, lens, at: 0, pos: 0 }
    }

    /// The next rows; None when the wire is cut or a length falls inside a character.
    pub fn rows(&mut self, max: usize, out: &mut Vec<Vec<String>>) -> Option<()> {
        for _ in 0..max {
            let Some(&n) = self.lens.get(self.at) else { return Some(()) };
            let lens = self.lens.get(self.at + 1..self.at + 1 + n as usize)?;
            let mut fields = Vec::with_capacity(lens.len());
            for &l in lens {
                let end = self.pos + l as usize;
                fields.push(std::str::from_utf8(self.text.get(self.pos..end)?).ok()?.to_string());
                self.pos = end;
            }
            self.at += 1 + n as usize;
            out.push(fields);
        }
        Some(())
    }
}

/// What the parse worker sent that the page cannot build a table from, or why it did not answer.
#[derive(Debug, thiserror::Error)]
pub enum ParseWorkerError {
    #[error("the parse worker sent {sent} rows of {of}")]
    RowCount { sent: usize, of: usize },
    #[error("the parse worker sent value kinds that do not fit the table")]
    Kinds,
    #[error(transparent)]
    Table(#[from] labelcast_core::Error),
    /// The worker could not start or stopped (the browser's words); the page parses instead.
    #[error("the parse worker failed: {0}")]
    Worker(String),
}

/// The table from its rows, meta and JSON kinds: roles detected as the core reader does (no
/// prompt column required; the data step says when there is none).
pub fn table_from(meta: &Meta, rows: Vec<Vec<String>>, kinds: Option<&[u8]>) -> Result<Table, ParseWorkerError> {
    if rows.len() != meta.lines.len() {
        return Err(ParseWorkerError::RowCount { sent: rows.len(), of: meta.lines.len() });
    }
    let width = meta.headers.len();
    // JSONL records may lack keys; the core pads them the same way when it adds a column.
    let rows = rows.into_iter().map(|mut r| {
        if r.len() < width {
            r.resize(width, String::new());
        }
        r
    });
    let mut t = Table::from_rows(&meta.name, meta.headers.clone(), rows.collect())?;
    t.format = meta.format;
    t.skipped_lines = meta.skipped_lines.clone();
    t.set_crlf(meta.crlf);
    for (row, &line) in t.rows.iter_mut().zip(&meta.lines) {
        row.line = line;
    }
    if let Some(k) = kinds {
        if !t.set_json_kinds(k) {
            return Err(ParseWorkerError::Kinds);
        }
    }
    Ok(t)
}

/// Where a parse is: bytes read, then checking, then rows built on the page.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Step {
    Read { read: f64, size: f64 },
    Checking,
    Rows { done: usize, total: usize },
}

pub use browser::{parse_blob, parse_worker_message};

#[path = "parse_worker_browser.rs"]
mod browser;

#[cfg(test)]
mod tests {
    use super::*;
    use labelcast_core::table::{read_table, ReadOptions};

    fn through_wire(name: &str, bytes: &[u8], chunk: usize) -> (Table, Table) {
        let t =
            read_table(name, bytes, &ReadOptions { require_prompt: false, ..ReadOptions::default() }).expect("reads");
        let wire = to_wire(&t, name, vec!["note".into()]);
        let meta: Meta = serde_json::from_str(&serde_json::to_string(&wire.meta).expect("encode")).expect("decode");
        let mut cursor = Cursor::new(wire.text.as_bytes(), &wire.lens);
        let mut rows = Vec::new();
        loop {
            let before = rows.len();
            cursor.rows(chunk, &mut rows).expect("whole wire");
            if rows.len() == before {
                break;
            }
        }
        assert_eq!(meta.info, vec!["note".to_string()]);
        (t, table_from(&meta, rows, wire.kinds.as_deref()).expect("table"))
    }

    #[test]
    fn a_csv_table_comes_back_equal_through_the_wire_in_chunks() {
        let csv = "id,question,label\r\n1,\"multi\r\nline, é\",x\r\n\r\n2,b,\r\n3,c,z\r\n";
        let (t, back) = through_wire("pool.csv", csv.as_bytes(), 2);
        assert_eq!(back, t);
        assert_eq!(back.to_csv(), t.to_csv());
        assert_eq!(
            (back.rows[1].line, back.skipped_lines.clone(), back.crlf()),
            (t.rows[1].line, t.skipped_lines.clone(), true)
        );
    }

    #[test]
    fn a_json_table_keeps_its_value_kinds_through_the_wire() {
        let jsonl = "{\"id\": 1, \"prompt\": \"a\", \"answer\": true}\n\n{\"id\": \"2\", \"prompt\": \"b\", \"answer\": null, \"x\": [1, 2.50]}\n{\"prompt\": \"c\"}\n";
        let (t, back) = through_wire("pool.jsonl", jsonl.as_bytes(), 1);
        assert_eq!(back, t);
        assert_eq!(back.to_jsonl(), t.to_jsonl(), "numbers stay numbers, absent keys stay absent");
        assert!(back.to_jsonl().contains("\"x\":[1, 2.50]") || back.to_jsonl().contains("\"x\": [1, 2.50]"));
        assert_eq!(back.answer_str(0), Some("True".into()), "Python's str() of a JSON true, as the CLI teaches it");
        let (t, back) = through_wire("arr.json", b"[{\"prompt\": \"a\", \"n\": 1.0}]", 5);
        assert_eq!((back.to_jsonl(), back), (t.to_jsonl(), t));
    }

    #[test]
    fn a_tsv_and_a_table_without_prompt_keep_their_format_and_roles() {
        let (t, back) = through_wire("p.tsv", b"id\tbody\n1\thello\n", 10);
        assert_eq!(back, t);
        assert_eq!(back.roles, t.roles);
    }

    #[test]
    fn a_cut_wire_is_refused_not_misread() {
        let lens = [2u32, 1, 5];
        let mut rows = Vec::new();
        assert!(Cursor::new(b"ab", &lens).rows(1, &mut rows).is_none());
        // A length that ends inside a character.
        assert!(Cursor::new("é".as_bytes(), &[1, 1]).rows(1, &mut rows).is_none());
        let meta = Meta {
            name: "x.csv".into(),
            format: Format::Csv,
            headers: vec!["prompt".into()],
            lines: vec![2, 3],
            skipped_lines: vec![],
            crlf: false,
            info: vec![],
        };
        assert!(table_from(&meta, vec![vec!["a".into()]], None).is_err());
        let rows = vec![vec!["a".into()], vec!["b".into()]];
        assert!(table_from(&meta, rows.clone(), None).is_ok());
        let e = table_from(&meta, rows.clone(), Some(&[1, 0, 0, 0, 0])).unwrap_err().to_string();
        assert!(e.contains("value kinds"), "{e}");
        assert!(table_from(&meta, rows, Some(&[1, 0, 0, 0, 9, 0])).is_err(), "an unknown kind");
    }
}
