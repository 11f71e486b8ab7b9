//! labelcast-text: turning prompts into token ids the way the model's own tokenizer does.

pub mod error;

pub use error::{Result, TextError};
