//! The tokenizer a GGUF file describes in its metadata, as a plain struct.
//!
//! A GGUF carries no tokenizer.json; llama.cpp's converter stores the vocabulary, merges, token
//! types, special ids and chat template under the keys in [`keys`]. The engine reads them with
//! its GGUF parser and fills [`TokenizerData`], either field by field or through
//! [`TokenizerData::from_lookup`] with a closure that answers one key at a time.

use crate::error::{Result, TextError};

/// The GGUF metadata keys [`TokenizerData`] is filled from, one constant per field.
pub mod keys {
    /// string: "gpt2" (byte-level BPE), "llama" (SentencePiece), "bert", "t5", ...
    pub const MODEL: &str = "tokenizer.ggml.model";
    /// string, optional: the pre-tokenizer (llama.cpp's `LLAMA_VOCAB_PRE_TYPE_*` name), e.g.
    /// "smollm", "qwen2", "llama-bpe", "gpt2", "default".
    pub const PRE: &str = "tokenizer.ggml.pre";
    /// array of strings: the vocabulary, index = token id.
    pub const TOKENS: &str = "tokenizer.ggml.tokens";
    /// array of strings "left right", best first (BPE only).
    pub const MERGES: &str = "tokenizer.ggml.merges";
    /// array of int32, one per token: 1 normal, 2 unknown, 3 control, 4 user-defined,
    /// 5 unused, 6 byte.
    pub const TOKEN_TYPE: &str = "tokenizer.ggml.token_type";
    /// array of float32, one per token: SentencePiece's piece scores (its merges' order).
    pub const SCORES: &str = "tokenizer.ggml.scores";
    pub const BOS_TOKEN_ID: &str = "tokenizer.ggml.bos_token_id";
    pub const EOS_TOKEN_ID: &str = "tokenizer.ggml.eos_token_id";
    /// end of turn, e.g. `<|eot_id|>`; many files leave it out.
    pub const EOT_TOKEN_ID: &str = "tokenizer.ggml.eot_token_id";
    /// end of message (Llama 3.1's `<|eom_id|>`); optional.
    pub const EOM_TOKEN_ID: &str = "tokenizer.ggml.eom_token_id";
    pub const UNKNOWN_TOKEN_ID: &str = "tokenizer.ggml.unknown_token_id";
    pub const PADDING_TOKEN_ID: &str = "tokenizer.ggml.padding_token_id";
    /// bool: whether encoding with special tokens prepends BOS.
    pub const ADD_BOS_TOKEN: &str = "tokenizer.ggml.add_bos_token";
    /// string: the Jinja chat template.
    pub const CHAT_TEMPLATE: &str = "tokenizer.chat_template";

    /// Every key above, for a parser that wants to read just these.
    pub const ALL: [&str; 14] = [
        MODEL,
        PRE,
        TOKENS,
        MERGES,
        TOKEN_TYPE,
        SCORES,
        BOS_TOKEN_ID,
        EOS_TOKEN_ID,
        EOT_TOKEN_ID,
        EOM_TOKEN_ID,
        UNKNOWN_TOKEN_ID,
        PADDING_TOKEN_ID,
        ADD_BOS_TOKEN,
        CHAT_TEMPLATE,
    ];
}

/// `tokenizer.ggml.token_type` values (llama.cpp's `llama_token_type`).
pub mod token_type {
    pub const NORMAL: i32 = 1;
    pub const UNKNOWN: i32 = 2;
    pub const CONTROL: i32 = 3;
    pub const USER_DEFINED: i32 = 4;
    pub const UNUSED: i32 = 5;
    pub const BYTE: i32 = 6;
}

/// The tokenizer metadata of a GGUF file. Field ↔ key: see [`keys`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TokenizerData {
    /// [`keys::MODEL`]
    pub model: String,
    /// [`keys::PRE`]; `None` when absent (llama.cpp then uses the GPT-2 split).
    pub pre: Option<String>,
    /// [`keys::TOKENS`]
    pub tokens: Vec<String>,
    /// [`keys::MERGES`], each "left right".
    pub merges: Vec<String>,
    /// [`keys::TOKEN_TYPE`]; empty when absent (every token normal).
    pub token_types: Vec<i32>,
    /// [`keys::SCORES`]; empty when absent (byte-level BPE files may leave them out).
    pub scores: Vec<f32>,
    /// [`keys::BOS_TOKEN_ID`]
    pub bos_token_id: Option<u32>,
    /// [`keys::EOS_TOKEN_ID`]
    pub eos_token_id: Option<u32>,
    /// [`keys::EOT_TOKEN_ID`]
    pub eot_token_id: Option<u32>,
    /// [`keys::EOM_TOKEN_ID`]
    pub eom_token_id: Option<u32>,
    /// [`keys::UNKNOWN_TOKEN_ID`]
    pub unknown_token_id: Option<u32>,
    /// [`keys::PADDING_TOKEN_ID`]
    pub padding_token_id: Option<u32>,
    /// [`keys::ADD_BOS_TOKEN`]
    pub add_bos_token: Option<bool>,
    /// [`keys::CHAT_TEMPLATE`]
    pub chat_template: Option<String>,
}

/// A GGUF metadata value, as far as [`TokenizerData::from_lookup`] needs to tell them apart.
/// Every GGUF integer type maps to `Int`/`Ints`; float arrays may be passed as `Floats` or
/// left out (only their presence is used).
#[derive(Debug, Clone, PartialEq)]
pub enum MetaValue {
    Str(String),
    Strs(Vec<String>),
    Int(i64),
    Ints(Vec<i64>),
    Floats(Vec<f32>),
    Bool(bool),
}

impl TokenizerData {
    /// Fills the struct by asking `get` for each key in [`keys`]; `None` = key absent.
    /// Errors name the key whose value has the wrong type or is out of range.
    pub fn from_lookup(mut get: impl FnMut(&str) -> Option<MetaValue>) -> Result<Self> {
        let model = match get(keys::MODEL) {
            Some(v) => string(keys::MODEL, v)?,
            None => return Err(TextError::MissingTokenizer(format!("no `{}` key", keys::MODEL))),
        };
        let tokens = match get(keys::TOKENS) {
            Some(MetaValue::Strs(t)) => t,
            Some(_) => return Err(TextError::metadata(keys::TOKENS, "expected an array of strings")),
            None => return Err(TextError::MissingTokenizer(format!("no `{}` key", keys::TOKENS))),
        };
        let merges = match get(keys::MERGES) {
            Some(MetaValue::Strs(m)) => m,
            Some(_) => return Err(TextError::metadata(keys::MERGES, "expected an array of strings")),
            None => Vec::new(),
        };
        let token_types = match get(keys::TOKEN_TYPE) {
            Some(MetaValue::Ints(t)) => t
                .into_iter()
                .map(|x| i32::try_from(x).map_err(|_| TextError::metadata(keys::TOKEN_TYPE, "out of range")))
                .collect::<Result<Vec<_>>>()?,
            Some(_) => return Err(TextError::metadata(keys::TOKEN_TYPE, "expected an array of integers")),
            None => Vec::new(),
        };
        let mut id = |key: &str| -> Result<Option<u32>> {
            match get(key) {
                None => Ok(None),
                Some(MetaValue::Int(i)) => u32::try_from(i)
                    .map(Some)
                    .map_err(|_| TextError::metadata(key, format!("token id {i} out of range"))),
                Some(_) => Err(TextError::metadata(key, "expected an integer")),
            }
        };
        let data = TokenizerData {
            bos_token_id: id(keys::BOS_TOKEN_ID)?,
            eos_token_id: id(keys::EOS_TOKEN_ID)?,
            eot_token_id: id(keys::EOT_TOKEN_ID)?,
            eom_token_id: id(keys::EOM_TOKEN_ID)?,
            unknown_token_id: id(keys::UNKNOWN_TOKEN_ID)?,
            padding_token_id: id(keys::PADDING_TOKEN_ID)?,
            pre: get(keys::PRE).map(|v| string(keys::PRE, v)).transpose()?,
            scores: match get(keys::SCORES) {
                None => Vec::new(),
                Some(MetaValue::Floats(f)) => f,
                Some(_) => return Err(TextError::metadata(keys::SCORES, "expected an array of floats")),
            },
            add_bos_token: match get(keys::ADD_BOS_TOKEN) {
                None => None,
                Some(MetaValue::Bool(b)) => Some(b),
                Some(_) => return Err(TextError::metadata(keys::ADD_BOS_TOKEN, "expected a bool")),
            },
            chat_template: get(keys::CHAT_TEMPLATE).map(|v| string(keys::CHAT_TEMPLATE, v)).transpose()?,
            model,
            tokens,
            merges,
            token_types,
        };
        data.validate()?;
        Ok(data)
    }

    /// Checks the lengths and ids agree with the vocabulary, so later lookups cannot go out of
    /// range on a malformed file.
    pub fn validate(&self) -> Result<()> {
        if self.tokens.is_empty() {
            return Err(TextError::metadata(keys::TOKENS, "the vocabulary is empty"));
        }
        if !self.token_types.is_empty() && self.token_types.len() != self.tokens.len() {
            return Err(TextError::metadata(
                keys::TOKEN_TYPE,
                format!("{} types for {} tokens", self.token_types.len(), self.tokens.len()),
            ));
        }
        if !self.scores.is_empty() && self.scores.len() != self.tokens.len() {
            return Err(TextError::metadata(
                keys::SCORES,
                format!("{} scores for {} tokens", self.scores.len(), self.tokens.len()),
            ));
        }
        let n = self.tokens.len();
        for (key, id) in [
            (keys::BOS_TOKEN_ID, self.bos_token_id),
            (keys::EOS_TOKEN_ID, self.eos_token_id),
            (keys::EOT_TOKEN_ID, self.eot_token_id),
            (keys::EOM_TOKEN_ID, self.eom_token_id),
            (keys::UNKNOWN_TOKEN_ID, self.unknown_token_id),
            (keys::PADDING_TOKEN_ID, self.padding_token_id),
        ] {
            if let Some(id) = id {
                if id as usize >= n {
                    return Err(TextError::metadata(key, format!("id {id} is outside the {n}-token vocabulary")));
                }
            }
        }
        Ok(())
    }

    /// The type of token `id` (normal when the file has no types).
    pub fn token_type(&self, id: usize) -> i32 {
        self.token_types.get(id).copied().unwrap_or(token_type::NORMAL)
    }

    /// The text of token `id`, if in range.
    pub fn token(&self, id: u32) -> Option<&str> {
        self.tokens.get(id as usize).map(String::as_str)
    }
}

fn string(key: &str, v: MetaValue) -> Result<String> {
    match v {
        MetaValue::Str(s) => Ok(s),
        _ => Err(TextError::metadata(key, "expected a string")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(map: HashMap<&'static str, MetaValue>) -> impl FnMut(&str) -> Option<MetaValue> {
        move |k| map.get(k).cloned()
    }

    fn base() -> HashMap<&'static str, MetaValue> {
        HashMap::from([
            (keys::MODEL, MetaValue::Str("gpt2".into())),
            (keys::TOKENS, MetaValue::Strs(vec!["a".into(), "b".into(), "ab".into()])),
            (keys::MERGES, MetaValue::Strs(vec!["a b".into()])),
            (keys::TOKEN_TYPE, MetaValue::Ints(vec![1, 1, 3])),
            (keys::EOS_TOKEN_ID, MetaValue::Int(2)),
            (keys::ADD_BOS_TOKEN, MetaValue::Bool(false)),
        ])
    }

    #[test]
    fn fills_every_field_from_its_key() {
        let d = TokenizerData::from_lookup(lookup(base())).unwrap();
        assert_eq!(d.model, "gpt2");
        assert_eq!(d.tokens.len(), 3);
        assert_eq!(d.merges, ["a b"]);
        assert_eq!(d.token_type(2), token_type::CONTROL);
        assert_eq!(d.eos_token_id, Some(2));
        assert_eq!(d.bos_token_id, None);
        assert_eq!(d.add_bos_token, Some(false));
        assert_eq!(d.pre, None);
    }

    #[test]
    fn wrong_types_and_ranges_name_the_key() {
        let mut m = base();
        m.insert(keys::EOS_TOKEN_ID, MetaValue::Int(7));
        let e = TokenizerData::from_lookup(lookup(m)).unwrap_err().to_string();
        assert!(e.contains(keys::EOS_TOKEN_ID) && e.contains("outside"), "{e}");

        let mut m = base();
        m.insert(keys::PRE, MetaValue::Int(1));
        let e = TokenizerData::from_lookup(lookup(m)).unwrap_err().to_string();
        assert!(e.contains(keys::PRE), "{e}");

        let mut m = base();
        m.insert(keys::TOKEN_TYPE, MetaValue::Ints(vec![1]));
        assert!(TokenizerData::from_lookup(lookup(m)).is_err());

        let mut m = base();
        m.remove(keys::MODEL);
        assert!(matches!(TokenizerData::from_lookup(lookup(m)), Err(TextError::MissingTokenizer(_))));
    }
}
