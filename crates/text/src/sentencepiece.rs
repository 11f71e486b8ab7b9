//! SentencePiece BPE rebuilt from GGUF metadata (`tokenizer.ggml.model` = "llama": Llama 2,
//! Mistral v0.1–v0.3), giving SentencePiece's own ids.
//!
//! llama.cpp's converter stores the pieces, their scores and types but no merges. The merges are
//! rebuilt as transformers' GGUF converter does (`GGUFTokenizerSkeleton`): every split of a piece
//! into two pieces of the vocabulary, the splits of one piece best-scored halves first, all of
//! them ordered by the merged piece's score (stable). SentencePiece's byte fallback maps a
//! character outside the vocabulary to its `<0xXX>` pieces, and its dummy prefix puts "▁" before
//! the text: a Metaspace that replaces spaces and prepends only at the start of the input, so
//! that the text after a special token written by a chat template ("[INST] What") gets no second
//! "▁" (what mistral-common, Mistral's reference, encodes).

use std::collections::HashMap;

use tokenizers::decoders::byte_fallback::ByteFallback;
use tokenizers::decoders::fuse::Fuse;
use tokenizers::decoders::sequence::Sequence;
use tokenizers::decoders::strip::Strip;
use tokenizers::decoders::DecoderWrapper;
use tokenizers::models::bpe::{Vocab, BPE};
use tokenizers::normalizers::replace::Replace;
use tokenizers::pre_tokenizers::metaspace::{Metaspace, PrependScheme};

use crate::error::{Result, TextError};
use crate::gguf::{keys, TokenizerData};

/// The merges of a SentencePiece BPE vocabulary, best first (see the module docs).
pub(crate) fn merges(tokens: &[String], scores: &[f32]) -> Vec<(String, String)> {
    // As a Python dict built in id order: the first occurrence fixes the order, the last the score.
    let mut score: HashMap<&str, f32> = HashMap::with_capacity(tokens.len());
    let mut order = Vec::with_capacity(tokens.len());
    for (t, &s) in tokens.iter().zip(scores) {
        if score.insert(t.as_str(), s).is_none() {
            order.push(t.as_str());
        }
    }
    let mut all: Vec<(&str, &str, f32)> = Vec::new();
    for piece in order {
        let merged = score[piece];
        let start = all.len();
        for (i, _) in piece.char_indices().skip(1) {
            let (l, r) = piece.split_at(i);
            if score.contains_key(l) && score.contains_key(r) {
                all.push((l, r, merged));
            }
        }
        // Python's sorted(reverse=True) is stable: equal keys keep their order.
        all[start..].sort_by(|a, b| {
            (score[b.0], score[b.1]).partial_cmp(&(score[a.0], score[a.1])).unwrap_or(std::cmp::Ordering::Equal)
        });
    }
    all.sort_by(|a, b| b.2.partial_cmp(&a.2).unwrap_or(std::cmp::Ordering::Equal));
    all.into_iter().map(|(l, r, _)| (l.to_string(), r.to_string())).collect()
}

/// The tokenizer without its added tokens (the caller adds the control and user-defined ones).
pub(crate) fn build(data: &TokenizerData) -> Result<tokenizers::Tokenizer> {
    if data.scores.len() != data.tokens.len() {
        return Err(TextError::metadata(
            keys::SCORES,
            "a SentencePiece vocabulary needs one score per token (the order of its merges)",
        ));
    }
    let mut vocab = Vocab::with_capacity(data.tokens.len());
    for (id, t) in data.tokens.iter().enumerate() {
        vocab.insert(t.clone(), id as u32);
    }
    let mut model = BPE::builder().vocab_and_merges(vocab, merges(&data.tokens, &data.scores)).byte_fallback(true);
    if let Some(unk) = data.unknown_token_id.and_then(|id| data.token(id)) {
        model = model.unk_token(unk.to_string()).fuse_unk(true);
    }
    let model = model.build().map_err(|e| TextError::Tokenizer(format!("building SentencePiece BPE: {e}")))?;
    let mut inner = tokenizers::Tokenizer::new(model);
    inner.with_pre_tokenizer(Some(Metaspace::new('▁', PrependScheme::First, false)));
    let replace = Replace::new("▁", " ").map_err(|e| TextError::Tokenizer(e.to_string()))?;
    inner.with_decoder(Some(Sequence::new(vec![
        DecoderWrapper::Replace(replace),
        DecoderWrapper::ByteFallback(ByteFallback::default()),
        DecoderWrapper::Fuse(Fuse::default()),
        DecoderWrapper::Strip(Strip::new(' ', 1, 0)),
    ])));
    Ok(inner)
}
