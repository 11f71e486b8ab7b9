//! A small scanner over JSON text already validated by serde_json: it takes each member's raw
//! text, so numbers keep their exact spelling and nested values their JSON text.

/// How a field appeared in the JSON, for writing it back the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Str,
    /// Number, bool, array or object: the field holds its JSON text.
    Raw,
    Null,
    /// The key was absent from this record.
    Missing,
}

impl Kind {
    pub(super) const ALL: [Kind; 4] = [Kind::Str, Kind::Raw, Kind::Null, Kind::Missing];
}

pub(super) enum Bad {
    NotObject(String),
    Json(String),
}

/// The members of the object at `at` as (key, kind, field text). Assumes `text` is valid JSON
/// but stays panic-free if it is not.
pub(super) fn members(text: &str, at: usize) -> std::result::Result<Vec<(String, Kind, String)>, Bad> {
    let b = text.as_bytes();
    let found = match b.get(at) {
        Some(b'{') => None,
        Some(b'[') => Some("an array"),
        Some(b'"') => Some("a string"),
        Some(b't' | b'f') => Some("a boolean"),
        Some(b'n') => Some("null"),
        _ => Some("a number"),
    };
    if let Some(f) = found {
        return Err(Bad::NotObject(f.to_string()));
    }
    let broken = || Bad::Json("malformed object".to_string());
    let mut out = Vec::new();
    let mut i = skip_ws(b, at + 1);
    if b.get(i) == Some(&b'}') {
        return Ok(out);
    }
    loop {
        let key_end = value_end(b, i);
        let key = decode_string(text.get(i..key_end).ok_or_else(broken)?)?;
        i = skip_ws(b, key_end);
        if b.get(i) != Some(&b':') {
            return Err(broken());
        }
        i = skip_ws(b, i + 1);
        let end = value_end(b, i);
        let raw = text.get(i..end).ok_or_else(broken)?;
        let (kind, value) = match b.get(i) {
            Some(b'"') => (Kind::Str, decode_string(raw)?),
            Some(b'n') => (Kind::Null, String::new()),
            _ => (Kind::Raw, raw.to_string()),
        };
        out.push((key, kind, value));
        i = skip_ws(b, end);
        match b.get(i) {
            Some(b',') => i = skip_ws(b, i + 1),
            Some(b'}') => return Ok(out),
            _ => return Err(broken()),
        }
    }
}

pub(super) fn decode_string(raw: &str) -> std::result::Result<String, Bad> {
    match raw.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        Some(inner) if !inner.contains('\\') => Ok(inner.to_string()),
        _ => serde_json::from_str::<String>(raw).map_err(|e| Bad::Json(message(&e, false))),
    }
}

pub(super) fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// End (exclusive) of the JSON value starting at `i`.
pub(super) fn value_end(b: &[u8], i: usize) -> usize {
    match b.get(i) {
        Some(b'"') => string_end(b, i),
        Some(b'{' | b'[') => {
            let mut depth = 0usize;
            let mut j = i;
            while j < b.len() {
                match b[j] {
                    b'"' => {
                        j = string_end(b, j);
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            return j + 1;
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            b.len()
        }
        _ => {
            let rest = b.get(i..).unwrap_or(&[]);
            i + rest
                .iter()
                .position(|c| matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'))
                .unwrap_or(rest.len())
        }
    }
}

pub(super) fn string_end(b: &[u8], i: usize) -> usize {
    let mut j = i + 1;
    while j < b.len() {
        match b[j] {
            b'\\' => j += 2,
            b'"' => return j + 1,
            _ => j += 1,
        }
    }
    b.len()
}

/// serde_json's message without its "at line 1 column N" (our line is the file's line).
pub(super) fn message(e: &serde_json::Error, whole_file: bool) -> String {
    let full = e.to_string();
    let text = full.rsplit_once(" at line ").map_or(full.as_str(), |(m, _)| m);
    if whole_file {
        format!("{text} (column {})", e.column())
    } else {
        format!("{text} at column {}", e.column())
    }
}
