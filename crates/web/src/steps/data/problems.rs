//! Turning a core error into the list of problems the page shows, one per located error.

use labelcast_core::Error;

/// Rendering a list item per problem is linear in the DOM; a file with a million broken
/// rows would freeze the tab, so the list stops here and says how many were left out.
pub const MAX_SHOWN: usize = 1000;

/// Serializable: the parse worker sends a file's problems to the page.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Problem {
    pub line: Option<usize>,
    pub row: Option<usize>,
    pub column: Option<String>,
    /// What is wrong, without the "file, line N" prefix the core message starts with,
    /// because the page shows the location separately.
    pub message: String,
}

impl Problem {
    pub fn from_error(e: &Error) -> Problem {
        let text = e.to_string();
        match e.location() {
            Some(loc) => {
                let prefix = format!("{loc}: ");
                let message = text.strip_prefix(&prefix).map(str::to_string).unwrap_or(text);
                Problem { line: Some(loc.line), row: loc.row, column: loc.column.clone(), message }
            }
            None => Problem { line: e.line(), row: None, column: None, message: text },
        }
    }

    /// Free-text message, e.g. from the browser, with no place in the file.
    pub fn general(message: impl Into<String>) -> Problem {
        Problem { line: None, row: None, column: None, message: message.into() }
    }

    /// "line 5 · row 4 · column \"prompt\"", or "" when the problem has no place.
    pub fn place(&self) -> String {
        let mut parts = Vec::new();
        if let Some(l) = self.line {
            parts.push(format!("line {l}"));
        }
        if let Some(r) = self.row {
            parts.push(format!("row {r}"));
        }
        if let Some(c) = &self.column {
            parts.push(format!("column \"{c}\""));
        }
        parts.join(" · ")
    }
}

/// Every individual problem of an error (a `Many` is flattened).
pub fn problems(e: &Error) -> Vec<Problem> {
    e.problems().into_iter().map(Problem::from_error).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use labelcast_core::error::Location;

    fn at(line: usize, row: Option<usize>, column: Option<&str>) -> Location {
        Location { file: "pool.csv".to_string(), line, row, column: column.map(str::to_string) }
    }

    #[test]
    fn located_error_keeps_line_and_drops_prefix() {
        let e = Error::RaggedRow { at: at(5, Some(4), None), expected: 4, found: 3 };
        let p = Problem::from_error(&e);
        assert_eq!(p.line, Some(5));
        assert_eq!(p.row, Some(4));
        assert_eq!(p.message, "expected 4 fields like the header, found 3");
        assert_eq!(p.place(), "line 5 · row 4");
    }

    #[test]
    fn column_is_part_of_the_place() {
        let e = Error::MissingValue { at: at(9, Some(8), Some("prompt")) };
        let p = Problem::from_error(&e);
        assert_eq!(p.place(), "line 9 · row 8 · column \"prompt\"");
        assert!(!p.message.contains("pool.csv"));
    }

    #[test]
    fn many_is_flattened_in_order() {
        let e = Error::Many(vec![
            Error::BadQuote { at: at(2, Some(1), None) },
            Error::Many(vec![Error::UnterminatedQuote { at: at(7, Some(6), None) }]),
            Error::EmptyFile("x.csv".to_string()),
        ]);
        let ps = problems(&e);
        assert_eq!(ps.len(), 3);
        assert_eq!(ps[0].line, Some(2));
        assert_eq!(ps[1].line, Some(7));
        assert_eq!(ps[2].line, None);
        assert_eq!(ps[2].message, "x.csv: the file is empty");
        assert_eq!(ps[2].place(), "");
    }
}
