//! Why the forecast's inputs give no number or no coefficient set. The panel shows the message
//! beside the input or the set it is about.

use crate::steps::forecast::coef_sets::message;

/// A number typed by the person that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("Enter a value for {what}.")]
    Empty { what: String },
    #[error("{what} must be a number, got \"{text}\".")]
    NotANumber { what: String, text: String },
}

/// Why the choice gives no coefficient set, or a calibration file no sets.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CoefError {
    #[error(transparent)]
    Number(#[from] InputError),
    /// The core's rules refused it; its message names the file or the set.
    #[error("{}", message(.0))]
    Rules(#[from] labelcast_core::Error),
}
