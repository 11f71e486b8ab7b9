//! Why the forecast's inputs give no number or no coefficient set. The panel shows the message
//! beside the input or the set it is about.

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

/// Core's message without its "invalid input:" prefix, which tells a person nothing (the
/// messages name the file or the set themselves).
pub fn message(e: &labelcast_core::Error) -> String {
    match e {
        labelcast_core::Error::Invalid(m) => m.clone(),
        e => e.to_string(),
    }
}

/// Parses a number typed by a person: surrounding spaces and a decimal comma are
/// accepted, because both are common and unambiguous in a single-number field.
pub fn parse_number(what: &str, text: &str) -> Result<f64, InputError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(InputError::Empty { what: what.into() });
    }
    let normalized = if t.contains(',') && !t.contains('.') { t.replace(',', ".") } else { t.to_string() };
    match normalized.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(InputError::NotANumber { what: what.into(), text: t.into() }),
    }
}
