//! RFC 4180 CSV reading in one pass over the bytes. Records are found first (by quotes and line
//! ends, which are ASCII) and then validated as UTF-8 as a whole, so a bad byte is reported
//! with its own line and the fields can be sliced from the checked text without copying twice.

use super::{check_duplicate_headers, loc, Parsed, Problems, Row};
use crate::error::{Error, Result};

/// Picks the delimiter from the header: comma if it has one outside quotes, else tab, else
/// semicolon, else comma (a one-column file).
pub(crate) fn sniff_delimiter(b: &[u8]) -> u8 {
    let (mut commas, mut tabs, mut semis) = (0usize, 0usize, 0usize);
    let mut quoted = false;
    let start = b.iter().position(|&c| c != b'\n' && c != b'\r').unwrap_or(b.len());
    for &c in &b[start..] {
        match c {
            b'"' => quoted = !quoted,
            b'\n' | b'\r' if !quoted => break,
            b',' if !quoted => commas += 1,
            b'\t' if !quoted => tabs += 1,
            b';' if !quoted => semis += 1,
            _ => {}
        }
    }
    if commas > 0 {
        b','
    } else if tabs > 0 {
        b'\t'
    } else if semis > 0 {
        b';'
    } else {
        b','
    }
}

/// A field's content as byte offsets into the input (inside the quotes when quoted).
#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
    quoted: bool,
    /// Holds `""` pairs that stand for one quote.
    escaped: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QuoteProblem {
    /// A quote opened on `line` in field `field` and never closed.
    Unterminated { line: usize, field: usize },
    /// Something other than a delimiter or line end after the closing quote, on `line`.
    AfterClose { line: usize, field: usize },
}

#[derive(Debug, Default)]
struct Record {
    /// Byte range of the whole record without its line end.
    start: usize,
    end: usize,
    line: usize,
    fields: Vec<Span>,
    problem: Option<QuoteProblem>,
}

enum Next {
    Eof,
    Blank(usize),
    Record,
}

struct Scanner<'a> {
    b: &'a [u8],
    pos: usize,
    line: usize,
    delim: u8,
    crlf_ends: usize,
    other_ends: usize,
}

impl<'a> Scanner<'a> {
    fn new(b: &'a [u8], delim: u8) -> Self {
        Scanner { b, pos: 0, line: 1, delim, crlf_ends: 0, other_ends: 0 }
    }

    /// Consumes a line end at `pos` if there is one.
    fn line_end(&mut self) -> bool {
        match self.b.get(self.pos) {
            Some(b'\n') => self.other_ends += 1,
            Some(b'\r') if self.b.get(self.pos + 1) == Some(&b'\n') => {
                self.crlf_ends += 1;
                self.pos += 1;
            }
            Some(b'\r') => self.other_ends += 1,
            _ => return false,
        }
        self.pos += 1;
        self.line += 1;
        true
    }

    fn next(&mut self, rec: &mut Record) -> Next {
        if self.pos >= self.b.len() {
            return Next::Eof;
        }
        let line = self.line;
        if self.line_end() {
            return Next::Blank(line);
        }
        rec.start = self.pos;
        rec.line = line;
        rec.fields.clear();
        rec.problem = None;
        loop {
            let field = rec.fields.len();
            if self.b.get(self.pos) == Some(&b'"') {
                if let Some(p) = self.quoted_field(rec, field) {
                    rec.problem.get_or_insert(p);
                    if matches!(p, QuoteProblem::Unterminated { .. }) {
                        rec.end = self.b.len();
                        return Next::Record;
                    }
                }
            } else {
                let start = self.pos;
                let rest = &self.b[start..];
                let len = rest.iter().position(|&c| c == self.delim || c == b'\n' || c == b'\r');
                self.pos = start + len.unwrap_or(rest.len());
                rec.fields.push(Span { start, end: self.pos, quoted: false, escaped: false });
            }
            if self.b.get(self.pos) == Some(&self.delim) {
                self.pos += 1;
                continue;
            }
            rec.end = self.pos;
            self.line_end();
            return Next::Record;
        }
    }

    /// Reads a quoted field starting at the opening quote and leaves `pos` at the delimiter,
    /// line end or end of input that follows it.
    fn quoted_field(&mut self, rec: &mut Record, field: usize) -> Option<QuoteProblem> {
        let open_line = self.line;
        self.pos += 1;
        let start = self.pos;
        let mut escaped = false;
        loop {
            let rest = &self.b[self.pos..];
            let Some(k) = rest.iter().position(|&c| c == b'"' || c == b'\n' || c == b'\r') else {
                rec.fields.push(Span { start, end: self.b.len(), quoted: true, escaped });
                self.pos = self.b.len();
                return Some(QuoteProblem::Unterminated { line: open_line, field });
            };
            self.pos += k;
            match self.b[self.pos] {
                b'"' if self.b.get(self.pos + 1) == Some(&b'"') => {
                    escaped = true;
                    self.pos += 2;
                }
                b'"' => break,
                // Line breaks inside quotes are data, only counted for line numbers.
                b'\r' if self.b.get(self.pos + 1) == Some(&b'\n') => self.pos += 2,
                _ => self.pos += 1,
            }
            if matches!(self.b[self.pos - 1], b'\n' | b'\r') {
                self.line += 1;
            }
        }
        rec.fields.push(Span { start, end: self.pos, quoted: true, escaped });
        self.pos += 1;
        match self.b.get(self.pos) {
            None | Some(b'\n' | b'\r') => None,
            Some(&c) if c == self.delim => None,
            Some(_) => {
                let line = self.line;
                // Skip the rest of the field so the following fields still line up.
                let rest = &self.b[self.pos..];
                let len = rest.iter().position(|&c| c == self.delim || c == b'\n' || c == b'\r');
                self.pos += len.unwrap_or(rest.len());
                Some(QuoteProblem::AfterClose { line, field })
            }
        }
    }
}

pub(crate) fn read(file: &str, b: &[u8], delim: u8, max_rows: usize, problems: &mut Problems) -> Result<Parsed> {
    let mut sc = Scanner::new(b, delim);
    let mut rec = Record::default();
    loop {
        match sc.next(&mut rec) {
            Next::Eof => return Err(Error::EmptyFile(file.to_string())),
            Next::Blank(_) => continue,
            Next::Record => break,
        }
    }
    let decoded = decode(file, b, &rec, None, &[], problems);
    let headers_known = decoded.is_some();
    let headers = match decoded {
        Some(h) => h,
        // Keep going with a lossy header so row problems are still found in the same pass.
        None => rec.fields.iter().map(|s| String::from_utf8_lossy(&b[s.start..s.end]).into_owned()).collect(),
    };
    check_duplicate_headers(file, &headers, problems);

    let mut rows = Vec::new();
    let mut skipped = Vec::new();
    let mut pending = Vec::new();
    let mut row = 0usize;
    loop {
        match sc.next(&mut rec) {
            Next::Eof => break,
            Next::Blank(line) => pending.push(line),
            Next::Record => {
                if headers.len() > 1 && is_blank(b, &rec) {
                    pending.push(rec.line);
                    continue;
                }
                skipped.append(&mut pending);
                row += 1;
                if row > max_rows {
                    return Err(Error::TooManyRows { file: file.to_string(), max: max_rows });
                }
                let fields = decode(file, b, &rec, Some(row), &headers, problems);
                if rec.problem.is_none() && rec.fields.len() != headers.len() {
                    problems.push(Error::RaggedRow {
                        at: loc(file, rec.line, Some(row), None),
                        expected: headers.len(),
                        found: rec.fields.len(),
                    });
                }
                // Once anything is wrong the table is not returned: stop holding rows.
                if let (Some(fields), true) = (fields, problems.is_empty()) {
                    rows.push(Row { line: rec.line, fields });
                }
            }
        }
    }
    let crlf = sc.crlf_ends > sc.other_ends;
    Ok(Parsed { headers, rows, crlf, skipped_lines: skipped, json: None, headers_known })
}

/// A single unquoted field of only spaces/tabs: a blank line to a reader, not a row.
fn is_blank(b: &[u8], rec: &Record) -> bool {
    match rec.fields.as_slice() {
        [s] => !s.quoted && b[s.start..s.end].iter().all(|&c| c == b' ' || c == b'\t'),
        _ => false,
    }
}

/// The record's fields as text, reporting quote and UTF-8 problems; `None` if any.
fn decode(
    file: &str,
    b: &[u8],
    rec: &Record,
    row: Option<usize>,
    headers: &[String],
    problems: &mut Problems,
) -> Option<Vec<String>> {
    let column = |field: usize| headers.get(field).map(String::as_str);
    match rec.problem {
        Some(QuoteProblem::Unterminated { line, field }) => {
            problems.push(Error::UnterminatedQuote { at: loc(file, line, row, column(field)) })
        }
        Some(QuoteProblem::AfterClose { line, field }) => {
            problems.push(Error::BadQuote { at: loc(file, line, row, column(field)) })
        }
        None => {}
    }
    let raw = &b[rec.start..rec.end];
    let text = match std::str::from_utf8(raw) {
        Ok(t) => t,
        Err(e) => {
            let bad = rec.start + e.valid_up_to();
            let (line, byte) = line_and_byte(b, rec.start, rec.line, bad);
            let field = rec.fields.iter().rposition(|s| s.start.saturating_sub(s.quoted as usize) <= bad).unwrap_or(0);
            problems.push(Error::InvalidUtf8 { at: loc(file, line, row, column(field)), byte });
            return None;
        }
    };
    if rec.problem.is_some() {
        return None;
    }
    let fields = rec
        .fields
        .iter()
        .map(|s| {
            // Offsets are at ASCII bytes, so always char boundaries of `text`.
            let f = text.get(s.start - rec.start..s.end - rec.start).unwrap_or("");
            if s.escaped {
                f.replace("\"\"", "\"")
            } else {
                f.to_string()
            }
        })
        .collect();
    Some(fields)
}

/// Physical line of byte `at` (counting LF, CRLF and lone CR as line ends from `start` on
/// `line`) and its 1-based byte position in that line.
fn line_and_byte(b: &[u8], start: usize, line: usize, at: usize) -> (usize, usize) {
    let (mut line, mut line_start) = (line, start);
    let mut i = start;
    while i < at {
        let end = match b[i] {
            b'\n' => true,
            b'\r' => b.get(i + 1) != Some(&b'\n'),
            _ => false,
        };
        i += 1;
        if end {
            line += 1;
            line_start = i;
        }
    }
    (line, at - line_start + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &[u8]) -> (Result<Parsed>, Problems) {
        let mut p = Problems::new("t.csv");
        let r = read("t.csv", text, sniff_delimiter(text), 100, &mut p);
        (r, p)
    }

    fn fields(text: &[u8]) -> Vec<Vec<String>> {
        let (r, p) = parse(text);
        assert!(p.is_empty(), "{:?}", p.list);
        let parsed = r.unwrap();
        let mut all = vec![parsed.headers];
        all.extend(parsed.rows.into_iter().map(|r| r.fields));
        all
    }

    #[test]
    fn sniffs_delimiters() {
        assert_eq!(sniff_delimiter(b"\n\"a;b\",c"), b',');
        assert_eq!(sniff_delimiter(b"a\tb;c"), b'\t');
        assert_eq!(sniff_delimiter(b"a;b\n1,2"), b';');
        assert_eq!(sniff_delimiter(b"\"a;b\"\n1;2"), b',');
    }

    #[test]
    fn quoted_fields_and_line_ends() {
        let got = fields(b"a,b\r\n\"x,\"\"y\"\"\r\nz\",2\r1,\"\"\n");
        assert_eq!(got, vec![vec!["a", "b"], vec!["x,\"y\"\r\nz", "2"], vec!["1", ""]]);
        let (r, _) = parse(b"a,b\r\n1,2\r\n3,4\n");
        assert!(r.unwrap().crlf);
    }

    #[test]
    fn lines_count_through_quoted_breaks() {
        let (r, _) = parse(b"a,b\n\"1\n\n2\",3\r\n\r\n4,5");
        let rows = r.unwrap().rows;
        assert_eq!(rows[1].line, 6);
        assert_eq!(line_and_byte(b"ab\r\ncd\rxy", 0, 1, 8), (3, 2));
    }

    #[test]
    fn quote_problems_are_located() {
        let (_, p) = parse(b"a,b\n1,\"x\"y\n2,\"open\n\n");
        assert!(matches!(&p.list[0], Error::BadQuote { at } if at.line == 2 && at.column.as_deref() == Some("b")));
        assert!(matches!(&p.list[1], Error::UnterminatedQuote { at } if at.line == 3 && at.row == Some(2)));
        assert_eq!(p.list.len(), 2);
    }

    #[test]
    fn whitespace_lines_skip_only_in_wide_tables() {
        let (r, _) = parse(b"a,b\n1,2\n  \n\n3,4\n \n\n");
        assert_eq!(r.unwrap().skipped_lines, vec![3, 4]);
        assert_eq!(fields(b"a\n \n"), vec![vec!["a"], vec![" "]]);
    }
}
