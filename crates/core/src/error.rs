//! The one error type of labelcast-core. Every variant says what is wrong and, for input
//! files, where: file name, 1-based line, data row and column.

use std::fmt;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Where in an input file a problem is. `line` is the 1-based physical line where the
/// record starts; `row` is the 1-based data row (the header is not a row).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Location {
    pub file: String,
    pub line: usize,
    pub row: Option<usize>,
    pub column: Option<String>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}, line {}", self.file, self.line)?;
        if let Some(row) = self.row {
            write!(f, " (row {row})")?;
        }
        if let Some(col) = &self.column {
            write!(f, ", column \"{col}\"")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    // ---- input tables ----
    #[error("{0}: the file is empty")]
    EmptyFile(String),
    #[error("{at}: quoted field is never closed (opened here)")]
    UnterminatedQuote { at: Location },
    #[error("{at}: text is not valid UTF-8 (byte {byte} of the line)")]
    InvalidUtf8 { at: Location, byte: usize },
    #[error("{at}: expected {expected} fields like the header, found {found}")]
    RaggedRow { at: Location, expected: usize, found: usize },
    #[error("{at}: unexpected character after a closing quote")]
    BadQuote { at: Location },
    #[error("{file}: no prompt column; looked for {looked_for} among the headers [{headers}]; name one explicitly")]
    NoPromptColumn { file: String, looked_for: String, headers: String },
    #[error("{file}: no column named \"{column}\" (headers: [{headers}])")]
    NoSuchColumn { file: String, column: String, headers: String },
    #[error("{file}: header \"{column}\" appears twice (columns {first} and {second})")]
    DuplicateHeader { file: String, column: String, first: usize, second: usize },
    #[error("{at}: \"{value}\" is not a number")]
    NotANumber { at: Location, value: String },
    #[error("{at}: a value is required here but the field is empty")]
    MissingValue { at: Location },
    #[error("{file}: more than {max} rows; split the file or raise the limit")]
    TooManyRows { file: String, max: usize },
    #[error("{at}: invalid JSON: {message}")]
    Json { at: Location, message: String },
    #[error("{at}: each JSONL line must be a JSON object, found {found}")]
    JsonNotObject { at: Location, found: String },
    #[error("{at}: \"{value}\" is not allowed here; expected {expected}")]
    BadValue { at: Location, value: String, expected: String },
    /// Several problems found in one pass over a file; each is reported.
    #[error("{}", many(.0))]
    Many(Vec<Error>),

    // ---- numbers and models ----
    #[error("invalid input: {0}")]
    Invalid(String),
    #[error("CoS-Low must lie in [-1, 1], got {0}")]
    CosLowOutOfRange(f64),
    #[error("predicted AUC must lie strictly between 0 and 1 for a forecast, got {auc} (from {why})")]
    AucOutOfRange { auc: f64, why: String },
    #[error("target share must lie strictly between 0 and 1, got {0}")]
    TargetOutOfRange(f64),
    #[error("unknown coefficient family \"{name}\"; known: {known}")]
    UnknownFamily { name: String, known: String },
    #[error("calibration needs at least 3 tasks, got {0}")]
    TooFewTasks(usize),
    #[error("asked for {k} examples but the pool has only {pool}")]
    KTooLarge { k: usize, pool: usize },
}

impl Error {
    /// The individual problems: itself, or each one of a `Many`.
    pub fn problems(&self) -> Vec<&Error> {
        match self {
            Error::Many(v) => v.iter().flat_map(|e| e.problems()).collect(),
            e => vec![e],
        }
    }

    /// 1-based line the problem is at, when it is about a place in a file.
    pub fn line(&self) -> Option<usize> {
        self.location().map(|l| l.line)
    }

    pub fn location(&self) -> Option<&Location> {
        match self {
            Error::UnterminatedQuote { at }
            | Error::InvalidUtf8 { at, .. }
            | Error::RaggedRow { at, .. }
            | Error::BadQuote { at }
            | Error::NotANumber { at, .. }
            | Error::MissingValue { at }
            | Error::Json { at, .. }
            | Error::JsonNotObject { at, .. }
            | Error::BadValue { at, .. } => Some(at),
            _ => None,
        }
    }
}

fn many(errors: &[Error]) -> String {
    const SHOWN: usize = 20;
    let mut s = format!("{} problems:", errors.len());
    for e in errors.iter().take(SHOWN) {
        s.push_str("\n  ");
        s.push_str(&e.to_string());
    }
    if errors.len() > SHOWN {
        s.push_str(&format!("\n  … and {} more", errors.len() - SHOWN));
    }
    s
}
