//! Which normalizer and pre-tokenizer a GGUF `tokenizer.ggml.pre` type stands for.
//!
//! The GGUF names the pre-tokenizer by llama.cpp's `LLAMA_VOCAB_PRE_TYPE_*` name only; the
//! regexes live in llama.cpp's and transformers' code. Each entry here reproduces the model's own
//! tokenizer.json (not llama.cpp's hand-written splitter), since that is what the model was
//! trained with and what the Python references use:
//!
//! | pre                                   | tokenizer.json it reproduces                          |
//! |---------------------------------------|-------------------------------------------------------|
//! | absent, "default", "gpt2", "gpt-2"    | GPT-2: ByteLevel with its built-in GPT-2 regex        |
//! | "smollm", "starcoder"                 | SmolLM/StarCoder: Digits(individual) + ByteLevel      |
//! | "qwen2", "deepseek-r1-qwen"           | Qwen2: NFC + Split(Qwen2 regex) + ByteLevel (no regex)|
//! | "llama-bpe", "llama3", "llama-v3", "smaug-bpe", "dbrx", "falcon3" | Llama 3: Split(Llama 3 regex) + ByteLevel, `ignore_merges` |
//!
//! Anything else is refused rather than guessed: a wrong split gives plausible but wrong ids,
//! and the user can always supply the model's tokenizer.json instead.

use tokenizers::normalizers::{NormalizerWrapper, NFC};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::SplitDelimiterBehavior;

use crate::error::{Result, TextError};

/// transformers' `Qwen2Tokenizer.PRETOKENIZE_REGEX`: like Llama 3's but one digit per piece.
pub(crate) const QWEN2_SPLIT: &str =
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
/// Llama 3's tokenizer.json split regex (digits in runs of up to three).
pub(crate) const LLAMA3_SPLIT: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// The `tokenizer.ggml.pre` values [`pipeline`] accepts (absent is accepted too).
pub const SUPPORTED_PRE: [&str; 13] = [
    "default",
    "gpt2",
    "gpt-2",
    "smollm",
    "starcoder",
    "qwen2",
    "deepseek-r1-qwen",
    "llama-bpe",
    "llama3",
    "llama-v3",
    "smaug-bpe",
    "dbrx",
    "falcon3",
];

pub(crate) struct Pipeline {
    pub normalizer: Option<NormalizerWrapper>,
    pub pre_tokenizer: PreTokenizerWrapper,
    /// BPE `ignore_merges`: a word that is itself in the vocabulary becomes that one token.
    pub ignore_merges: bool,
}

pub(crate) fn pipeline(pre: Option<&str>) -> Result<Pipeline> {
    let byte_level_regex = || ByteLevel::new(false, true, true);
    let byte_level_only = || ByteLevel::new(false, true, false);
    let split = |regex: &str| -> Result<PreTokenizerWrapper> {
        let split = Split::new(SplitPattern::Regex(regex.to_string()), SplitDelimiterBehavior::Isolated, false)
            .map_err(|e| TextError::Tokenizer(format!("pre-tokenizer regex: {e}")))?;
        Ok(Sequence::new(vec![split.into(), byte_level_only().into()]).into())
    };
    let plain = |pre_tokenizer: PreTokenizerWrapper| Pipeline { normalizer: None, pre_tokenizer, ignore_merges: false };
    Ok(match pre.unwrap_or("default") {
        "default" | "gpt2" | "gpt-2" => plain(byte_level_regex().into()),
        "smollm" | "starcoder" => {
            plain(Sequence::new(vec![Digits::new(true).into(), byte_level_regex().into()]).into())
        }
        "qwen2" | "deepseek-r1-qwen" => {
            Pipeline { normalizer: Some(NFC.into()), pre_tokenizer: split(QWEN2_SPLIT)?, ignore_merges: false }
        }
        "llama-bpe" | "llama3" | "llama-v3" | "smaug-bpe" | "dbrx" | "falcon3" => {
            Pipeline { normalizer: None, pre_tokenizer: split(LLAMA3_SPLIT)?, ignore_merges: true }
        }
        other => {
            return Err(TextError::Unsupported(format!(
                "GGUF pre-tokenizer type `{other}` is not one labelcast can rebuild ({}); \
                 use the model's tokenizer.json instead",
                SUPPORTED_PRE.join(", ")
            )))
        }
    })
}

/// GPT-2's byte → printable character table (`bytes_to_unicode`): byte-level vocabularies spell
/// every token in these 256 characters, e.g. space = 'Ġ' (U+0120), newline = 'Ċ' (U+010A).
pub(crate) fn bytes_to_unicode() -> [char; 256] {
    let mut table = ['\0'; 256];
    let mut next = 256u32;
    for b in 0..=255u8 {
        let printable = matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
        table[b as usize] = if printable {
            char::from(b)
        } else {
            let c = char::from_u32(next).expect("below the surrogate range");
            next += 1;
            c
        };
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_table_matches_gpt2() {
        let t = bytes_to_unicode();
        assert_eq!(t[b' ' as usize], 'Ġ');
        assert_eq!(t[b'\n' as usize], 'Ċ');
        assert_eq!(t[b'a' as usize], 'a');
        assert_eq!(t[0], 'Ā');
        let alphabet = ByteLevel::alphabet();
        assert_eq!(alphabet.len(), 256);
        assert!(t.iter().all(|c| alphabet.contains(c)));
    }

    #[test]
    fn unknown_pre_types_are_refused_with_advice() {
        let e = pipeline(Some("bloom")).err().unwrap().to_string();
        assert!(e.contains("bloom") && e.contains("tokenizer.json"), "{e}");
        for pre in SUPPORTED_PRE {
            assert!(pipeline(Some(pre)).is_ok(), "{pre}");
        }
        assert!(pipeline(None).is_ok());
    }
}
