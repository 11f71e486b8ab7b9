//! Why labels could not be read, used or written. Each message names the file or the rows,
//! as the person sees them.

use labelcast_core::table::Role;

use crate::browser::download::SaveError;
use crate::browser::file_read::ReadError;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LabelError {
    #[error("{file}: choose the prompt column first")]
    NoPromptColumn { file: String },
    /// Rows are matched to a labels file by prompt text, which needs the pool's prompt column.
    #[error("{file}: choose the prompt column first (rows are matched by prompt text)")]
    NoPromptToMatch { file: String },
    #[error("No prompt has a confidence score (every generation was empty).")]
    NoConfidence,
    #[error("{} of {of} rows have no label yet ({}).", missing.len(), missing.join(", "))]
    Unlabeled { missing: Vec<String>, of: usize },
    /// A file that is not text (a spreadsheet, an image), found before parsing it.
    #[error("{file}, line {line}: {message}")]
    NotText { file: String, line: usize, message: &'static str },
    #[error("{file}: no answer column (looked for {})", Role::Answer.aliases().join(", "))]
    NoAnswerColumn { file: String },
    #[error(
        "{file}: no prompt column (looked for {}) and no id column shared with the pool, so its rows \
         cannot be matched to the pool's",
        Role::Prompt.aliases().join(", ")
    )]
    NoMatchColumn { file: String },
    #[error("{file}: {source}")]
    Read { file: String, source: ReadError },
    /// The file's table, or one the page builds, broke a rule of the core (its message names
    /// the file and line).
    #[error(transparent)]
    Table(#[from] labelcast_core::Error),
    #[error(transparent)]
    Save(#[from] SaveError),
}
