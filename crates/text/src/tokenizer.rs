//! The tokenizer: a Hugging Face `tokenizers` tokenizer, loaded from a tokenizer.json or rebuilt
//! from GGUF metadata, giving the same ids as the model's own tokenizer.json.

use tokenizers::models::bpe::{Vocab, BPE};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::AddedToken;

use crate::error::{Result, TextError};
use crate::gguf::{token_type, TokenizerData};
use crate::pretok::{bytes_to_unicode, pipeline};

/// The tokens of one labeled example, METHOD.md 1d. See [`Tokenizer::encode_example`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedExample {
    /// `encode(prompt + answer)`, no special tokens added.
    pub ids: Vec<u32>,
    /// `encode(prompt).len()`: positions `n_prompt..ids.len()` are the answer's.
    pub n_prompt: usize,
}

impl EncodedExample {
    /// The positions whose tokens are the answer's (possibly empty, see
    /// [`Tokenizer::encode_example`]).
    pub fn answer_positions(&self) -> std::ops::Range<usize> {
        self.n_prompt.min(self.ids.len())..self.ids.len()
    }
}

/// A tokenizer for one model. Cheap to share by reference; encoding takes `&self`.
#[derive(Debug, Clone)]
pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
    /// GGUF-built tokenizers have no post-processor; this is the BOS that
    /// `encode_with_special_tokens` prepends when the file says `add_bos_token`.
    bos_to_add: Option<u32>,
}

impl Tokenizer {
    /// Loads a standard Hugging Face tokenizer.json.
    pub fn from_json_bytes(bytes: &[u8]) -> Result<Self> {
        // Parsed fully first, once: tokenizers 0.23 panics (`expect("Helper")`) when the
        // "decoder" object is not valid JSON (a syntax error, invalid UTF-8 or a lone surrogate
        // inside a string) instead of returning the error; both found by fuzzing
        // (tests/fuzz-regressions/). Built from the parsed value, the decoder is always JSON.
        let value: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|e| TextError::Tokenizer(format!("tokenizer.json is not valid JSON: {e}")))?;
        let inner: tokenizers::Tokenizer =
            serde_json::from_value(value).map_err(|e| TextError::Tokenizer(format!("tokenizer.json: {e}")))?;
        Ok(Tokenizer { inner, bos_to_add: None })
    }

    /// Rebuilds the tokenizer a GGUF describes: byte-level BPE ("gpt2": vocabulary and merges
    /// as stored, the pre-tokenizer of `data.pre` (see [`crate::pretok`]), a ByteLevel decoder)
    /// or SentencePiece BPE ("llama": see [`crate::sentencepiece`]). The control (type 3) and
    /// user-defined (type 4) tokens become added tokens, so that one written in the text
    /// ("<|im_start|>", "[INST]") becomes its id, as in Hugging Face. Other models say so: load
    /// the model's tokenizer.json instead.
    pub fn from_gguf(data: &TokenizerData) -> Result<Self> {
        data.validate()?;
        match data.model.as_str() {
            "gpt2" => Self::byte_level_bpe(data),
            "llama" => {
                let inner = crate::sentencepiece::build(data)?;
                Self::with_added_tokens(inner, data, |_| true)
            }
            other => Err(TextError::Unsupported(format!(
                "GGUF tokenizer.ggml.model = \"{other}\"; only \"gpt2\" (byte-level BPE) and \"llama\" \
                 (SentencePiece BPE) are rebuilt from GGUF metadata, load the model's tokenizer.json instead"
            ))),
        }
    }

    fn byte_level_bpe(data: &TokenizerData) -> Result<Self> {
        let pipe = pipeline(data.pre.as_deref())?;
        let spelling = bytes_to_unicode();
        let alphabet = ByteLevel::alphabet();
        let in_alphabet = |t: &str| t.chars().all(|c| alphabet.contains(&c));
        // Converters occasionally store a token as raw text (e.g. a space) instead of its
        // byte-level spelling; respell those so the merges, which use the spelling, reach them.
        // Later duplicates win, as in transformers' dict-built vocabulary.
        let mut vocab = Vocab::with_capacity(data.tokens.len());
        for (id, token) in data.tokens.iter().enumerate() {
            let key =
                if in_alphabet(token) { token.clone() } else { token.bytes().map(|b| spelling[b as usize]).collect() };
            vocab.insert(key, id as u32);
        }
        let merges = data
            .merges
            .iter()
            .map(|m| {
                m.split_once(' ')
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .ok_or_else(|| TextError::metadata(crate::gguf::keys::MERGES, format!("merge `{m}` has no space")))
            })
            .collect::<Result<Vec<_>>>()?;
        let model = BPE::builder()
            .vocab_and_merges(vocab, merges)
            .ignore_merges(pipe.ignore_merges)
            .build()
            .map_err(|e| TextError::Tokenizer(format!("building BPE from GGUF metadata: {e}")))?;

        let mut inner = tokenizers::Tokenizer::new(model);
        inner.with_normalizer(pipe.normalizer).map_err(|e| TextError::Tokenizer(e.to_string()))?;
        inner.with_pre_tokenizer(Some(pipe.pre_tokenizer));
        inner.with_decoder(Some(ByteLevel::default()));

        // A control token spelled outside the byte alphabet is a converter mislabel (transformers
        // skips it too); a user-defined one is added only if the vocabulary holds it as spelled.
        Self::with_added_tokens(inner, data, in_alphabet)
    }

    /// The control and user-defined tokens `spelled_ok` accepts as added tokens, and the BOS to
    /// prepend when the file says `add_bos_token`.
    fn with_added_tokens(
        mut inner: tokenizers::Tokenizer,
        data: &TokenizerData,
        spelled_ok: impl Fn(&str) -> bool,
    ) -> Result<Self> {
        let mut control = Vec::new();
        let mut user = Vec::new();
        for (id, token) in data.tokens.iter().enumerate() {
            match data.token_type(id) {
                token_type::CONTROL if spelled_ok(token) => {
                    control.push(AddedToken::from(token.clone(), true).normalized(false))
                }
                token_type::USER_DEFINED if spelled_ok(token) => {
                    user.push(AddedToken::from(token.clone(), false).normalized(false))
                }
                _ => {}
            }
        }
        inner.add_special_tokens(control).map_err(|e| TextError::Tokenizer(e.to_string()))?;
        inner.add_tokens(user).map_err(|e| TextError::Tokenizer(e.to_string()))?;

        let bos_to_add = if data.add_bos_token == Some(true) { data.bos_token_id } else { None };
        Ok(Tokenizer { inner, bos_to_add })
    }

    /// Token ids of `text`, adding no special tokens (Hugging Face `add_special_tokens=False`).
    /// Special tokens written in the text still map to their ids. Every labelcast computation
    /// encodes this way; chat templates write BOS and the like into the text themselves.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self.inner.encode_fast(text, false).map_err(|e| TextError::Tokenizer(e.to_string()))?;
        Ok(enc.get_ids().to_vec())
    }

    /// Token ids with the tokenizer's own special tokens added (Hugging Face
    /// `add_special_tokens=True`): the tokenizer.json post-processor, or for a GGUF-built
    /// tokenizer a leading BOS when the file sets `add_bos_token`.
    pub fn encode_with_special_tokens(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self.inner.encode_fast(text, true).map_err(|e| TextError::Tokenizer(e.to_string()))?;
        let mut ids = enc.get_ids().to_vec();
        if let Some(bos) = self.bos_to_add {
            ids.insert(0, bos);
        }
        Ok(ids)
    }

    /// METHOD.md 1d, THE convention for labeled examples (the Python reference does exactly
    /// this): `ids = encode(prompt + answer)` and `n_prompt = encode(prompt).len()`, neither
    /// adding special tokens; the answer's positions are those `>= n_prompt`.
    ///
    /// The text is encoded joined, so a token may straddle the boundary (a prompt ending in
    /// "\n" and an answer starting with "\n" give one "\n\n" token); such a token counts as the
    /// prompt's, and an answer that merges entirely into the prompt's last token has no
    /// positions at all. Callers computing a loss must handle an empty answer.
    pub fn encode_example(&self, prompt: &str, answer: &str) -> Result<EncodedExample> {
        let ids = self.encode(&format!("{prompt}{answer}"))?;
        let n_prompt = self.encode(prompt)?.len();
        Ok(EncodedExample { ids, n_prompt })
    }

    /// The text of `ids`, special tokens included (`skip_special_tokens=False`).
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.inner.decode(ids, false).map_err(|e| TextError::Tokenizer(e.to_string()))
    }

    /// The text of `ids` without the special tokens (`skip_special_tokens=True`).
    pub fn decode_skip_special(&self, ids: &[u32]) -> Result<String> {
        self.inner.decode(ids, true).map_err(|e| TextError::Tokenizer(e.to_string()))
    }

    /// The id of a token as the vocabulary spells it ("Ġthe", "<|im_end|>").
    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    /// The vocabulary spelling of token `id`.
    pub fn id_to_token(&self, id: u32) -> Option<String> {
        self.inner.id_to_token(id)
    }

    /// Number of ids, added tokens included (the model's embedding may be larger).
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// Whether `id` is a special added token (skipped by [`Self::decode_skip_special`]).
    pub fn is_special(&self, id: u32) -> bool {
        self.inner.get_added_tokens_decoder().get(&id).is_some_and(|t| t.special)
    }

    /// Whether `id` is an added token (tokenizer.json's `added_tokens`; a GGUF's control and
    /// user-defined tokens), special or not, as opposed to a piece of the BPE vocabulary.
    pub fn is_added(&self, id: u32) -> bool {
        self.inner.get_added_tokens_decoder().contains_key(&id)
    }

    /// The underlying Hugging Face tokenizer, e.g. to serialize it as tokenizer.json.
    pub fn hf(&self) -> &tokenizers::Tokenizer {
        &self.inner
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A four-token byte-level vocabulary with one control token.
    fn data(pre: Option<&str>) -> TokenizerData {
        TokenizerData {
            model: "gpt2".into(),
            pre: pre.map(str::to_string),
            tokens: ["<|end|>", "a", "b", "ab", "Ġ", "Ġab", "1", "2"].map(String::from).to_vec(),
            merges: vec!["a b".into(), "Ġ ab".into()],
            token_types: vec![3, 1, 1, 1, 1, 1, 1, 1],
            eos_token_id: Some(0),
            bos_token_id: Some(0),
            ..Default::default()
        }
    }

    #[test]
    fn builds_byte_level_bpe_with_specials_in_text() {
        let t = Tokenizer::from_gguf(&data(Some("smollm"))).unwrap();
        assert_eq!(t.encode("ab ab<|end|>12").unwrap(), [3, 5, 0, 6, 7]);
        assert_eq!(t.decode(&[3, 5, 0]).unwrap(), "ab ab<|end|>");
        assert_eq!(t.decode_skip_special(&[3, 5, 0]).unwrap(), "ab ab");
        assert_eq!(t.vocab_size(), 8);
        assert!(t.is_special(0) && !t.is_special(3));
        assert_eq!(t.encode_with_special_tokens("a").unwrap(), [1]);
        let mut d = data(None);
        d.add_bos_token = Some(true);
        assert_eq!(Tokenizer::from_gguf(&d).unwrap().encode_with_special_tokens("a").unwrap(), [0, 1]);
    }

    #[test]
    fn example_positions_follow_the_joined_encoding() {
        let t = Tokenizer::from_gguf(&data(None)).unwrap();
        let e = t.encode_example("a", "b ab").unwrap();
        assert_eq!((e.ids.clone(), e.n_prompt), (vec![3, 5], 1));
        assert_eq!(e.answer_positions(), 1..2);
        let e = t.encode_example("ab", "").unwrap();
        assert!(e.answer_positions().is_empty());
    }

    #[test]
    fn unknown_models_and_sentencepiece_without_scores_are_refused_clearly() {
        let mut d = data(None);
        d.model = "llama".into();
        let e = Tokenizer::from_gguf(&d).unwrap_err();
        assert!(matches!(e, TextError::Metadata { .. }) && e.to_string().contains("one score per token"), "{e}");
        d.model = "bert".into();
        let e = Tokenizer::from_gguf(&d).unwrap_err();
        assert!(matches!(e, TextError::Unsupported(ref m) if m.contains("tokenizer.json")), "{e}");
    }

    #[test]
    fn bad_merges_and_json_are_errors() {
        let mut d = data(None);
        d.merges.push("nospace".into());
        assert!(matches!(Tokenizer::from_gguf(&d), Err(TextError::Metadata { .. })));
        assert!(matches!(Tokenizer::from_json_bytes(b"{not json"), Err(TextError::Tokenizer(_))));
    }

    /// Each of these inside "decoder" made tokenizers 0.23 panic; now each is an error.
    #[test]
    fn broken_json_inside_decoder_is_an_error() {
        let cases: [&[u8]; 3] = [
            br#"{"model":{"type":"BPE","vocab":{},"merges":[]},"decoder":{"type":"ByteLevel",}}"#,
            b"{\"model\":{\"type\":\"BPE\",\"vocab\":{},\"merges\":[]},\"decoder\":{\"type\":\"Byte\xc1\"}}",
            br#"{"model":{"type":"BPE","vocab":{},"merges":[]},"decoder":{"type":"\ud800"}}"#,
        ];
        for bytes in cases {
            let Err(e) = Tokenizer::from_json_bytes(bytes) else { panic!("accepted") };
            assert!(e.to_string().contains("not valid JSON"), "{e}");
        }
    }
}
