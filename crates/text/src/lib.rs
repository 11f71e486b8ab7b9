//! labelcast-text: turning prompts into token ids the way the model's own tokenizer does.
//!
//! - [`Tokenizer`]: a Hugging Face tokenizer, from tokenizer.json bytes or rebuilt from GGUF
//!   metadata ([`TokenizerData`]) for byte-level BPE and SentencePiece BPE; the model's own ids.
//! - [`ChatTemplate`]: the model's Jinja chat template, rendered as transformers does.
//! - [`SpecialIds`]: BOS/EOS/end-of-turn, stop ids and the ids the confidence ignores
//!   (METHOD.md 1b).
//! - [`Tokenizer::encode_example`]: prompt + answer tokens and where the answer starts
//!   (METHOD.md 1d).
//! - [`ModelText`]: all of the above for one model.
//!
//! No I/O: everything takes bytes or values, so it runs natively and in the browser (wasm32).

pub mod chat;
pub mod error;
pub mod gguf;
pub mod model_text;
pub mod pretok;
mod pyjson;
pub mod sentencepiece;
pub mod special;
pub mod template_limits;
pub mod tokenizer;

pub use chat::{ChatTemplate, Message, TemplateTokens};
pub use error::{Result, TextError};
pub use gguf::{MetaValue, TokenizerData};
pub use model_text::{HfText, ModelText, TokenizerConfig};
pub use special::SpecialIds;
pub use tokenizer::{EncodedExample, Tokenizer};
