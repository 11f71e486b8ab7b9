//! The problems one pass over a file finds, collected (up to [`MAX_PROBLEMS`]) so a reader
//! sees them all at once, and the helpers that word them.

use super::MAX_PROBLEMS;
use crate::error::{Error, Location, Result};

/// Collects problems of one pass, keeping at most [`MAX_PROBLEMS`].
pub(crate) struct Problems {
    file: String,
    pub(super) list: Vec<Error>,
    more: usize,
}

impl Problems {
    pub(super) fn new(file: &str) -> Self {
        Problems { file: file.to_string(), list: Vec::new(), more: 0 }
    }

    pub(super) fn push(&mut self, e: Error) {
        if self.list.len() < MAX_PROBLEMS {
            self.list.push(e);
        } else {
            self.more += 1;
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub(super) fn finish(mut self) -> Result<()> {
        if self.list.is_empty() {
            return Ok(());
        }
        if self.list.len() == 1 {
            return Err(self.list.remove(0));
        }
        if self.more > 0 {
            self.list.push(Error::Invalid(format!("{}: {} more problems not listed", self.file, self.more)));
        }
        Err(Error::Many(self.list))
    }
}

pub(super) fn loc(file: &str, line: usize, row: Option<usize>, column: Option<&str>) -> Location {
    Location { file: file.to_string(), line, row, column: column.map(str::to_string) }
}

/// Headers as `"a", "b"` for messages.
pub(super) fn header_list(headers: &[String]) -> String {
    headers.iter().map(|h| format!("\"{h}\"")).collect::<Vec<_>>().join(", ")
}

/// Long values in messages are cut so one bad multi-kilobyte field does not flood the UI.
pub(super) fn shorten(s: &str) -> String {
    const MAX: usize = 60;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// Two headers with the same trimmed name would make lookups by name ambiguous.
pub(super) fn check_duplicate_headers(file: &str, headers: &[String], problems: &mut Problems) {
    let mut seen = std::collections::HashMap::new();
    for (i, h) in headers.iter().enumerate() {
        if let Some(&first) = seen.get(h.trim()) {
            problems.push(Error::DuplicateHeader { file: file.to_string(), column: h.clone(), first, second: i + 1 });
        } else {
            seen.insert(h.trim(), i + 1);
        }
    }
}
