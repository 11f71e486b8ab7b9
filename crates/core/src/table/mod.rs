//! Input tables: CSV/TSV and JSONL (or a JSON array of objects) parsed from bytes, with column
//! roles found by header name and every problem located by file, line, data row and column.
//!
//! Reading rules, so that nothing is dropped without a trace:
//! - A UTF-8 byte-order mark is skipped; UTF-16 is refused with an error at line 1.
//! - CSV follows RFC 4180 (quoted fields may hold delimiters, `""` and line breaks) and takes
//!   LF, CRLF or a lone CR as line ends, mixed freely. A quote inside an unquoted field is kept
//!   as text (`5" screen`); text after a closing quote is an error.
//! - Empty lines, and in tables of more than one column lines of only spaces/tabs, are not rows:
//!   they are skipped, and those between records are listed in [`Table::skipped_lines`]
//!   (trailing ones are ignored).
//! - A file with a header but no rows is a valid, empty table; callers decide if that is enough.
//! - Row-level problems are all collected in one pass (up to [`MAX_PROBLEMS`]) and returned as
//!   one error, or `Error::Many` when there are several.
//!
//! Locations: `line` is where the record starts, except that an unterminated quote names the
//! line where it opened, and a bad quote or invalid UTF-8 byte the line it is on (with the
//! byte's 1-based position in that line), since records can span lines. `row` counts data
//! records from 1 (blank lines and the header excluded); for `Table::numbers` it is the row's
//! position in that table, which differs from the file's after `select_rows`.

mod csv;
mod json_scan;
mod jsonl;
mod problems;
mod pystr;
mod roles;
mod write;

pub use pystr::{float_repr, python_str};
pub use roles::{Role, RoleOverrides, Roles};
pub use write::write_csv;

use problems::{check_duplicate_headers, header_list, loc, shorten, Problems};

use crate::error::{Error, Location, Result};
use serde::{Deserialize, Serialize};

/// At most this many problems are kept from one pass; the rest are only counted, so a
/// hopelessly wrong file cannot exhaust memory.
pub const MAX_PROBLEMS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Jsonl,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
        }
    }

    /// The format a file extension implies (`.csv .tsv .tab .txt` / `.jsonl .json .ndjson`).
    pub fn from_file_name(file: &str) -> Option<Format> {
        match extension(file).as_str() {
            "csv" | "tsv" | "tab" | "txt" => Some(Format::Csv),
            "jsonl" | "json" | "ndjson" => Some(Format::Jsonl),
            _ => None,
        }
    }

    /// JSON when the text starts with `{` (JSONL) or `[` then `{`/`]` (a JSON array of
    /// objects), else CSV.
    pub fn sniff(bytes: &[u8]) -> Format {
        let mut it = strip_bom(bytes).iter().copied().filter(|b| !b.is_ascii_whitespace());
        match (it.next(), it.next()) {
            (Some(b'{'), _) | (Some(b'['), Some(b'{' | b']')) => Format::Jsonl,
            _ => Format::Csv,
        }
    }
}

fn extension(file: &str) -> String {
    let name = file.rsplit(['/', '\\']).next().unwrap_or(file);
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => ext.to_ascii_lowercase(),
        _ => String::new(),
    }
}

fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReadOptions {
    /// More data rows than this is `Error::TooManyRows` (checked while reading, so a huge file
    /// fails fast instead of filling memory).
    pub max_rows: usize,
    pub roles: RoleOverrides,
    /// `None`: from the file extension, else sniffed from the content.
    pub format: Option<Format>,
    pub require_prompt: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions { max_rows: 1_000_000, roles: RoleOverrides::default(), format: None, require_prompt: true }
    }
}

/// One data row. `line` is the 1-based physical line where the record starts in its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub line: usize,
    pub fields: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub file: String,
    pub format: Format,
    pub headers: Vec<String>,
    pub rows: Vec<Row>,
    pub roles: Roles,
    /// Empty (or blank) lines between records that were skipped, 1-based.
    pub skipped_lines: Vec<usize>,
    crlf: bool,
    /// Value types of JSON input, so `to_jsonl` writes numbers back as numbers.
    json: Option<jsonl::Kinds>,
}

/// What a format reader hands back; problems go into the shared [`Problems`].
pub(crate) struct Parsed {
    headers: Vec<String>,
    rows: Vec<Row>,
    crlf: bool,
    skipped_lines: Vec<usize>,
    json: Option<jsonl::Kinds>,
    /// False when broken records may have hidden columns: role problems would mislead.
    headers_known: bool,
}

/// Reads a CSV/TSV/JSONL/JSON file from its bytes. `file` names it in errors and picks the
/// format and delimiter by extension (`.tsv`/`.tab`: tab; otherwise comma, or tab/semicolon
/// when the header has no comma but has those).
pub fn read_table(file: &str, bytes: &[u8], opts: &ReadOptions) -> Result<Table> {
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        // UTF-16 would otherwise give one "not UTF-8" error per line.
        return Err(Error::InvalidUtf8 { at: loc(file, 1, None, None), byte: 1 });
    }
    let body = strip_bom(bytes);
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(Error::EmptyFile(file.to_string()));
    }
    let format = opts.format.or_else(|| Format::from_file_name(file)).unwrap_or_else(|| Format::sniff(body));
    let mut problems = Problems::new(file);
    let parsed = match format {
        Format::Csv => {
            let tab = matches!(extension(file).as_str(), "tsv" | "tab");
            let delim = if tab { b'\t' } else { csv::sniff_delimiter(body) };
            csv::read(file, body, delim, opts.max_rows, &mut problems)?
        }
        Format::Jsonl => jsonl::read(file, body, opts.max_rows, &mut problems)?,
    };
    if parsed.headers.is_empty() && parsed.rows.is_empty() && problems.is_empty() {
        return Err(Error::EmptyFile(file.to_string()));
    }
    let headers_known = parsed.headers_known;
    let mut table = Table {
        file: file.to_string(),
        format,
        headers: parsed.headers,
        rows: parsed.rows,
        roles: Roles::default(),
        skipped_lines: parsed.skipped_lines,
        crlf: parsed.crlf,
        json: parsed.json,
    };
    match table.set_roles(&opts.roles) {
        _ if !headers_known => {}
        Ok(()) if opts.require_prompt && table.roles.prompt.is_none() => problems.push(Error::NoPromptColumn {
            file: file.to_string(),
            looked_for: Role::Prompt.aliases().join(", "),
            headers: header_list(&table.headers),
        }),
        Ok(()) => {}
        Err(e) => e.problems().into_iter().for_each(|p| problems.push(p.clone())),
    }
    problems.finish()?;
    Ok(table)
}

impl Table {
    /// A table built in code (e.g. results to export). Rows get lines 2, 3, … as if written
    /// under a header line; roles are detected from the headers, none is required.
    pub fn from_rows(file: &str, headers: Vec<String>, rows: Vec<Vec<String>>) -> Result<Table> {
        let mut problems = Problems::new(file);
        check_duplicate_headers(file, &headers, &mut problems);
        for (i, r) in rows.iter().enumerate() {
            if r.len() != headers.len() {
                problems.push(Error::RaggedRow {
                    at: loc(file, i + 2, Some(i + 1), None),
                    expected: headers.len(),
                    found: r.len(),
                });
            }
        }
        problems.finish()?;
        let rows = rows.into_iter().enumerate().map(|(i, fields)| Row { line: i + 2, fields }).collect();
        let mut t = Table {
            file: file.to_string(),
            format: Format::from_file_name(file).unwrap_or(Format::Csv),
            headers,
            rows,
            roles: Roles::default(),
            skipped_lines: Vec::new(),
            crlf: false,
            json: None,
        };
        t.set_roles(&RoleOverrides::default())?;
        Ok(t)
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Index of a column: an exact header match, else the first whose trimmed name matches
    /// case-insensitively.
    pub fn column(&self, name: &str) -> Result<usize> {
        roles::find_column(&self.headers, name).ok_or_else(|| Error::NoSuchColumn {
            file: self.file.clone(),
            column: name.to_string(),
            headers: header_list(&self.headers),
        })
    }

    /// The field, or "" when the row or column does not exist (never panics).
    pub fn get(&self, row: usize, col: usize) -> &str {
        self.rows.get(row).and_then(|r| r.fields.get(col)).map_or("", String::as_str)
    }

    /// The field of the role's column; `None` when the role has no column.
    pub fn role_value(&self, row: usize, role: Role) -> Option<&str> {
        let col = self.roles.get(role)?;
        self.rows.get(row)?;
        Some(self.get(row, col))
    }

    /// A row's answer (its label), trimmed; None when the table has no answer column or the
    /// field is blank. The one rule for "this row is labeled", so the CLI and the page agree.
    pub fn answer(&self, row: usize) -> Option<&str> {
        self.role_value(row, Role::Answer).map(str::trim).filter(|s| !s.is_empty())
    }

    /// A labeled row's answer as the model is taught it (METHOD.md 1d): Python's `str()` of
    /// the value, so a JSON `true` is "True" and `1.50` is "1.5" as in the paper's code; a
    /// string (every CSV field) as written, untrimmed. `None` where `answer` is `None`.
    pub fn answer_str(&self, row: usize) -> Option<String> {
        self.answer(row)?;
        let col = self.roles.answer?;
        let field = self.get(row, col);
        let line = self.rows.get(row)?.line;
        let raw = self.json.as_ref().is_some_and(|k| k.kind(row, line, col) == json_scan::Kind::Raw);
        Some(if raw { python_str(field).unwrap_or_else(|| field.to_string()) } else { field.to_string() })
    }

    /// How every message and view names a row: its line in the file, with its id where the
    /// file has an id column ("line 8 (id q-17)"); "row 9" past the end.
    pub fn row_name(&self, row: usize) -> String {
        let Some(r) = self.rows.get(row) else { return format!("row {}", row + 1) };
        match self.role_value(row, Role::Id).map(str::trim).filter(|s| !s.is_empty()) {
            Some(id) => format!("line {} (id {id})", r.line),
            None => format!("line {}", r.line),
        }
    }

    /// Every row's field in one column.
    pub fn column_values(&self, col: usize) -> Vec<&str> {
        (0..self.rows.len()).map(|r| self.get(r, col)).collect()
    }

    /// Where a cell is, for error messages about its value (line of the row's record,
    /// 1-based row, column name).
    pub fn location(&self, row: usize, col: usize) -> Location {
        let line = self.rows.get(row).map_or(0, |r| r.line);
        loc(&self.file, line, Some(row + 1), self.headers.get(col).map(String::as_str))
    }

    /// The column parsed as finite numbers (surrounding spaces allowed). Every empty field
    /// (`MissingValue`) and non-number (`NotANumber`, including NaN/inf) is reported.
    pub fn numbers(&self, col: usize) -> Result<Vec<f64>> {
        let values = self.parse_numbers(col, true)?;
        Ok(values.into_iter().map(|v| v.unwrap_or(f64::NAN)).collect())
    }

    /// Like [`Table::numbers`] but an empty field is `None`.
    pub fn optional_numbers(&self, col: usize) -> Result<Vec<Option<f64>>> {
        self.parse_numbers(col, false)
    }

    fn parse_numbers(&self, col: usize, required: bool) -> Result<Vec<Option<f64>>> {
        let Some(name) = self.headers.get(col) else {
            return Err(Error::Invalid(format!(
                "{}: column index {col} is out of range ({} columns)",
                self.file,
                self.headers.len()
            )));
        };
        let mut problems = Problems::new(&self.file);
        let mut out = Vec::with_capacity(self.rows.len());
        for (i, row) in self.rows.iter().enumerate() {
            let text = row.fields.get(col).map_or("", String::as_str).trim();
            let at = || loc(&self.file, row.line, Some(i + 1), Some(name));
            if text.is_empty() {
                if required {
                    problems.push(Error::MissingValue { at: at() });
                }
                out.push(None);
                continue;
            }
            match text.parse::<f64>() {
                Ok(x) if x.is_finite() => out.push(Some(x)),
                _ => {
                    problems.push(Error::NotANumber { at: at(), value: shorten(text) });
                    out.push(None);
                }
            }
        }
        problems.finish()?;
        Ok(out)
    }

    /// Re-detects roles from the headers with these overrides applied: `Some(name)` picks that
    /// column (`NoSuchColumn` if absent), `Some("")` means "no column", `None` auto-detects
    /// (never taking a column an override claimed).
    pub fn set_roles(&mut self, o: &RoleOverrides) -> Result<()> {
        self.roles = Roles::detect(&self.file, &self.headers, o)?;
        Ok(())
    }

    /// A table of the rows at these indices, in this order (repeats allowed). Indices past the
    /// end are ignored.
    pub fn select_rows(&self, order: &[usize]) -> Table {
        let picked: Vec<usize> = order.iter().copied().filter(|&i| i < self.rows.len()).collect();
        Table {
            file: self.file.clone(),
            format: self.format,
            headers: self.headers.clone(),
            rows: picked.iter().map(|&i| self.rows[i].clone()).collect(),
            roles: self.roles,
            skipped_lines: self.skipped_lines.clone(),
            crlf: self.crlf,
            json: self.json.as_ref().map(|k| k.select(&picked)),
        }
    }

    /// Appends a column (e.g. scores). Its name must be new and it needs one value per row.
    pub fn push_column(&mut self, name: &str, values: Vec<String>) -> Result<()> {
        let key = name.trim();
        if let Some(i) = self.headers.iter().position(|h| h.trim() == key) {
            return Err(Error::DuplicateHeader {
                file: self.file.clone(),
                column: name.to_string(),
                first: i + 1,
                second: self.headers.len() + 1,
            });
        }
        if values.len() != self.rows.len() {
            return Err(Error::Invalid(format!(
                "column \"{name}\" has {} values but {} has {} rows",
                values.len(),
                self.file,
                self.rows.len()
            )));
        }
        let width = self.headers.len();
        self.headers.push(name.to_string());
        for (row, v) in self.rows.iter_mut().zip(values) {
            // Rows edited to be short must not shift the new value into another column.
            row.fields.resize(width, String::new());
            row.fields.push(v);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
