//! JSONL (one object per line) and JSON arrays of objects. serde_json validates each record
//! (good messages, bounded nesting); a small scanner then takes each member's raw text, so
//! numbers keep their exact spelling (`1.50` stays `1.50`) and nested values their JSON text.

use super::json_scan::{members, message, skip_ws, value_end, Bad, Kind};
use super::{loc, Parsed, Problems, Row, Table};
use crate::error::{Error, Result};
use serde::de::IgnoredAny;
use std::collections::HashMap;

/// Kinds per row in read order. Rows carry their line so that rows moved around through the
/// public `rows` field are detected and written as plain strings instead of with wrong types.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Kinds {
    /// Columns that came from the JSON; later (pushed) columns are strings.
    cols: usize,
    rows: Vec<(usize, Box<[Kind]>)>,
}

impl Kinds {
    pub(crate) fn select(&self, picked: &[usize]) -> Kinds {
        let rows = picked.iter().map(|&i| self.rows.get(i).cloned().unwrap_or((0, Box::new([])))).collect();
        Kinds { cols: self.cols, rows }
    }

    pub(crate) fn kind(&self, row: usize, line: usize, col: usize) -> Kind {
        match self.rows.get(row) {
            Some((l, kinds)) if *l == line && col < self.cols => kinds.get(col).copied().unwrap_or(Kind::Missing),
            _ => Kind::Str,
        }
    }
}

/// The value kinds of a table read from JSON, for sending it as strings (the page's parse
/// worker sends its fields as text): the JSON columns' count as 4 little-endian bytes, then one
/// byte per cell of those columns, row by row.
impl Table {
    pub fn json_kinds(&self) -> Option<Vec<u8>> {
        let k = self.json.as_ref()?;
        let mut out = Vec::with_capacity(4 + self.rows.len() * k.cols);
        out.extend_from_slice(&(k.cols as u32).to_le_bytes());
        for (i, row) in self.rows.iter().enumerate() {
            out.extend((0..k.cols).map(|c| k.kind(i, row.line, c) as u8));
        }
        Some(out)
    }

    /// Puts back what `json_kinds` gave, for the same rows (their lines as read); false, and
    /// nothing changed, when the bytes do not fit the table.
    pub fn set_json_kinds(&mut self, bytes: &[u8]) -> bool {
        let Some((cols, cells)) = bytes.split_first_chunk::<4>() else { return false };
        let cols = u32::from_le_bytes(*cols) as usize;
        if cols > self.headers.len() || cells.len() != cols * self.rows.len() {
            return false;
        }
        let kind = |b: &u8| Kind::ALL.get(*b as usize).copied();
        let mut rows = Vec::with_capacity(self.rows.len());
        for (row, chunk) in self.rows.iter().zip(cells.chunks(cols.max(1))) {
            let Some(kinds) = chunk.iter().map(kind).collect::<Option<Box<[Kind]>>>() else { return false };
            rows.push((row.line, kinds));
        }
        self.json = Some(Kinds { cols, rows });
        true
    }
}

struct Builder<'a> {
    file: &'a str,
    max_rows: usize,
    headers: Vec<String>,
    index: HashMap<String, usize>,
    rows: Vec<Row>,
    kinds: Vec<(usize, Box<[Kind]>)>,
    row: usize,
}

impl Builder<'_> {
    /// Adds the object starting at byte `at` of `text` (already validated JSON).
    fn object(&mut self, text: &str, at: usize, line: usize, problems: &mut Problems) -> Result<()> {
        self.row += 1;
        if self.row > self.max_rows {
            return Err(Error::TooManyRows { file: self.file.to_string(), max: self.max_rows });
        }
        let row = self.row;
        let members = match members(text, at) {
            Ok(m) => m,
            Err(Bad::NotObject(found)) => {
                problems.push(Error::JsonNotObject { at: loc(self.file, line, Some(row), None), found });
                return Ok(());
            }
            Err(Bad::Json(message)) => {
                problems.push(Error::Json { at: loc(self.file, line, Some(row), None), message });
                return Ok(());
            }
        };
        let mut fields = vec![String::new(); self.headers.len()];
        let mut kinds = vec![Kind::Missing; self.headers.len()];
        for (key, kind, value) in members {
            let col = match self.index.get(&key) {
                Some(&c) => c,
                None => {
                    self.index.insert(key.clone(), self.headers.len());
                    self.headers.push(key.clone());
                    fields.push(String::new());
                    kinds.push(Kind::Missing);
                    self.headers.len() - 1
                }
            };
            if kinds[col] != Kind::Missing {
                // serde_json would keep the last silently; a second value is a conflict.
                let message = format!("key \"{key}\" appears twice in this object");
                problems.push(Error::Json { at: loc(self.file, line, Some(row), Some(&key)), message });
                continue;
            }
            kinds[col] = kind;
            fields[col] = value;
        }
        if problems.is_empty() {
            self.rows.push(Row { line, fields });
            self.kinds.push((line, kinds.into_boxed_slice()));
        }
        Ok(())
    }
}

pub(crate) fn read(file: &str, b: &[u8], max_rows: usize, problems: &mut Problems) -> Result<Parsed> {
    let mut bld = Builder {
        file,
        max_rows,
        headers: Vec::new(),
        index: HashMap::new(),
        rows: Vec::new(),
        kinds: Vec::new(),
        row: 0,
    };
    let crlf = b.windows(2).filter(|w| w == b"\r\n").count() * 2 > b.iter().filter(|&&c| c == b'\n').count();
    let mut skipped = Vec::new();
    if b.iter().find(|c| !c.is_ascii_whitespace()) == Some(&b'[') {
        read_array(&mut bld, b, problems)?;
    } else {
        let mut pending = Vec::new();
        for (i, raw) in b.split(|&c| c == b'\n').enumerate() {
            let line = i + 1;
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            if raw.iter().all(|c| c.is_ascii_whitespace()) {
                pending.push(line);
                continue;
            }
            skipped.append(&mut pending);
            let text = match std::str::from_utf8(raw) {
                Ok(t) => t,
                Err(e) => {
                    bld.row += 1;
                    if bld.row > max_rows {
                        return Err(Error::TooManyRows { file: file.to_string(), max: max_rows });
                    }
                    let at = loc(file, line, Some(bld.row), None);
                    problems.push(Error::InvalidUtf8 { at, byte: e.valid_up_to() + 1 });
                    continue;
                }
            };
            if let Err(e) = serde_json::from_str::<IgnoredAny>(text) {
                bld.row += 1;
                if bld.row > max_rows {
                    return Err(Error::TooManyRows { file: file.to_string(), max: max_rows });
                }
                let at = loc(file, line, Some(bld.row), None);
                problems.push(Error::Json { at, message: message(&e, false) });
                continue;
            }
            let start = text.len() - text.trim_start().len();
            bld.object(text, start, line, problems)?;
        }
    }
    let cols = bld.headers.len();
    for row in &mut bld.rows {
        // Rows read before a key first appeared lack it: empty, and written back absent.
        row.fields.resize(cols, String::new());
    }
    // Likewise their kinds (Missing), so that equal tables compare equal however they were built.
    let kinds = bld
        .kinds
        .into_iter()
        .map(|(line, k)| {
            let mut k = k.into_vec();
            k.resize(cols, Kind::Missing);
            (line, k.into_boxed_slice())
        })
        .collect();
    let json = Some(Kinds { cols, rows: kinds });
    let headers_known = problems.is_empty();
    Ok(Parsed { headers: bld.headers, rows: bld.rows, crlf, skipped_lines: skipped, json, headers_known })
}

/// A whole-file JSON array of objects; each element's row line is where it starts.
fn read_array(bld: &mut Builder, b: &[u8], problems: &mut Problems) -> Result<()> {
    let text = match std::str::from_utf8(b) {
        Ok(t) => t,
        Err(e) => {
            let bad = e.valid_up_to();
            let line = 1 + b[..bad].iter().filter(|&&c| c == b'\n').count();
            let line_start = b[..bad].iter().rposition(|&c| c == b'\n').map_or(0, |i| i + 1);
            problems.push(Error::InvalidUtf8 { at: loc(bld.file, line, None, None), byte: bad - line_start + 1 });
            return Ok(());
        }
    };
    if let Err(e) = serde_json::from_str::<IgnoredAny>(text) {
        let at = loc(bld.file, e.line().max(1), None, None);
        problems.push(Error::Json { at, message: message(&e, true) });
        return Ok(());
    }
    let bytes = text.as_bytes();
    let (mut line, mut counted) = (1usize, 0usize);
    let mut i = skip_ws(bytes, bytes.iter().position(|&c| c == b'[').unwrap_or(0) + 1);
    while i < bytes.len() && bytes[i] != b']' {
        line += bytes[counted..i].iter().filter(|&&c| c == b'\n').count();
        counted = i;
        bld.object(text, i, line, problems)?;
        i = skip_ws(bytes, value_end(bytes, i));
        if bytes.get(i) == Some(&b',') {
            i = skip_ws(bytes, i + 1);
        } else {
            break;
        }
    }
    Ok(())
}

pub(crate) fn write(t: &Table) -> String {
    let eol = t.eol();
    let keys: Vec<String> = t.headers.iter().map(|h| json_string(h)).collect();
    let mut out = String::new();
    for (r, row) in t.rows.iter().enumerate() {
        out.push('{');
        let mut first = true;
        for (c, key) in keys.iter().enumerate() {
            let field = row.fields.get(c).map_or("", String::as_str);
            let kind = t.json.as_ref().map_or(Kind::Str, |k| k.kind(r, row.line, c));
            // A field edited since reading no longer matches its kind: fall back to a string.
            let value = match kind {
                Kind::Missing if field.is_empty() => continue,
                Kind::Null if field.is_empty() => "null".to_string(),
                Kind::Raw if !field.starts_with('"') && serde_json::from_str::<IgnoredAny>(field).is_ok() => {
                    field.to_string()
                }
                _ => json_string(field),
            };
            if !first {
                out.push(',');
            }
            first = false;
            out.push_str(key);
            out.push(':');
            out.push_str(&value);
        }
        out.push('}');
        out.push_str(eol);
    }
    out
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_keep_raw_text() {
        let text = r#" {"a" : 1.50, "b":"x\"y", "c": [1, {"d": "]"}], "e": null, "f":true} "#;
        let m = members(text, 1).ok().unwrap();
        let got: Vec<_> = m.iter().map(|(k, kind, v)| (k.as_str(), *kind, v.as_str())).collect();
        assert_eq!(
            got,
            vec![
                ("a", Kind::Raw, "1.50"),
                ("b", Kind::Str, "x\"y"),
                ("c", Kind::Raw, r#"[1, {"d": "]"}]"#),
                ("e", Kind::Null, ""),
                ("f", Kind::Raw, "true"),
            ]
        );
    }

    #[test]
    fn not_objects_are_named() {
        for (text, found) in [("[1]", "an array"), ("\"s\"", "a string"), ("-1", "a number"), ("null", "null")] {
            assert!(matches!(members(text, 0), Err(Bad::NotObject(f)) if f == found));
        }
    }

    #[test]
    fn strings_escape_controls() {
        assert_eq!(json_string("a\"\\\n\u{1}é"), r#""a\"\\\n\u0001é""#);
    }
}
