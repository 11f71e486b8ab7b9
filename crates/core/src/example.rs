//! What the model is given: a prompt to score, and a labeled example for CoS-Low. The same
//! types for the engine, the CLI and the page's messages to its worker (which add how the
//! page names the row).

use serde::{Deserialize, Serialize};

/// One prompt to score: the user turn and an optional system message.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Prompt {
    pub system: Option<String>,
    pub text: String,
}

impl From<&str> for Prompt {
    fn from(text: &str) -> Self {
        Prompt { system: None, text: text.to_string() }
    }
}

/// One labeled example for CoS-Low.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Example {
    pub system: Option<String>,
    pub prompt: String,
    pub answer: String,
}
