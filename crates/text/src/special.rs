//! The special token ids generation and scoring need: BOS, EOS, end of turn, where generation
//! stops, and which generated tokens the confidence ignores (METHOD.md 1b).
//!
//! How they are found, for any model:
//! - `bos`, `eos`: the GGUF's `tokenizer.ggml.{bos,eos}_token_id`, or tokenizer_config.json's
//!   `bos_token` / `eos_token` looked up in the vocabulary.
//! - `eot` (end of turn): the GGUF's `tokenizer.ggml.eot_token_id`; else the first of
//!   [`END_OF_TURN_TOKENS`] the tokenizer holds as an added token (`<|im_end|>`, `<|eot_id|>`,
//!   `<|end|>`, ...); else `eos` (many chat models end a turn with EOS).
//! - `end_of_text`: every one of [`END_OF_TEXT_TOKENS`] the tokenizer holds as an added token
//!   (`<|endoftext|>`, `<|end_of_text|>`, `</s>`, `<eos>`).
//!
//!   Added tokens only (tokenizer.json's `added_tokens`, a GGUF's control and user-defined
//!   tokens): a byte-level BPE may have learned the same spelling as ordinary text. Qwen2.5's
//!   vocabulary has "</s>" as token 128247 (from HTML/XML), which a model writes as text, e.g.
//!   closing `<s>`; taking it for end-of-text stopped generation there, where transformers
//!   (generation_config: [151645, 151643]) does not (found by tests/qwen25.rs).
//! - `stop_ids` (generation stops at any): eos, eot, the GGUF's eom (`<|eom_id|>`) and
//!   `end_of_text` — llama.cpp's end-of-generation set. Stopping at end-of-text too matters only
//!   when a chat model emits it, and text after it is never part of the answer.
//! - `newline`: the id(s) of the token "\n" encodes to, when it is a single token (byte-level
//!   "Ċ"; SentencePiece "<0x0A>").
//! - `exclusion_ids` (ignored by the confidence, METHOD.md 1b): for the families the paper
//!   ran, its code's exact list ([`PaperList`], recognised by the tokens at those ids);
//!   for any other model labelcast's rule "end-of-text, end-of-turn and newline tokens",
//!   `stop_ids` ∪ `newline`. `exclusion` says which applied.

use crate::error::Result;
use crate::gguf::TokenizerData;
use crate::tokenizer::Tokenizer;

/// End-of-turn token spellings, most specific first.
pub const END_OF_TURN_TOKENS: [&str; 7] =
    ["<|im_end|>", "<|eot_id|>", "<|end|>", "<end_of_turn>", "<|end_of_turn|>", "<|END_OF_TURN_TOKEN|>", "<EOT>"];

/// End-of-text (document end) token spellings.
pub const END_OF_TEXT_TOKENS: [&str; 4] = ["<|endoftext|>", "<|end_of_text|>", "</s>", "<eos>"];

/// Llama 3.1's end-of-message token, a stop token when the GGUF does not name it.
const END_OF_MESSAGE_TOKEN: &str = "<|eom_id|>";

/// Special ids of one model. Lists are sorted and without duplicates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecialIds {
    pub bos: Option<u32>,
    pub eos: Option<u32>,
    /// End of turn (`<|im_end|>` for SmolLM2, which is also its EOS).
    pub eot: Option<u32>,
    pub end_of_text: Vec<u32>,
    /// Generation stops at any of these.
    pub stop_ids: Vec<u32>,
    pub newline: Vec<u32>,
    /// Tokens the confidence ignores (METHOD.md 1b).
    pub exclusion_ids: Vec<u32>,
    /// Where `exclusion_ids` came from.
    pub exclusion: Exclusion,
}

/// Which rule chose the tokens the confidence ignores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exclusion {
    /// The paper's code's list for this family of tokenizer.
    Paper(PaperList),
    /// labelcast's rule for other models: end-of-text, end-of-turn and newline tokens.
    Generic,
}

impl Exclusion {
    pub fn describe(self) -> String {
        match self {
            Exclusion::Paper(l) => format!("the paper's exclusion ids for {} {:?}", l.family(), l.ids()),
            Exclusion::Generic => {
                "labelcast's rule (end-of-text, end-of-turn and newline tokens; not a model the paper ran)".into()
            }
        }
    }
}

/// The exclusion lists of the paper's code (METHOD.md 1b), per tokenizer family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaperList {
    Llama3,
    MistralV03,
    SmolLm2,
    Qwen2,
}

impl PaperList {
    pub const ALL: [PaperList; 4] = [PaperList::Llama3, PaperList::MistralV03, PaperList::SmolLm2, PaperList::Qwen2];

    pub fn family(self) -> &'static str {
        match self {
            PaperList::Llama3 => "Llama 3.x",
            PaperList::MistralV03 => "Mistral v0.3",
            PaperList::SmolLm2 => "SmolLM2",
            PaperList::Qwen2 => "Qwen2.x",
        }
    }

    /// The ids, sorted.
    pub fn ids(self) -> &'static [u32] {
        match self {
            PaperList::Llama3 => &[271, 128009],
            PaperList::MistralV03 => &[2, 29473],
            PaperList::SmolLm2 => &[0, 2, 198],
            PaperList::Qwen2 => &[198, 151643, 151645],
        }
    }

    /// The tokens that identify the family's tokenizer: (id, spelling). The ids are the
    /// paper's list, so a tokenizer that puts other tokens there does not get it.
    fn signature(self) -> &'static [(u32, &'static str)] {
        match self {
            PaperList::Llama3 => &[(271, "ĊĊ"), (128009, "<|eot_id|>"), (128000, "<|begin_of_text|>")],
            // v0.3's "▁" is v0.1's 28705 moved up by the 768 control tokens it added.
            PaperList::MistralV03 => &[(2, "</s>"), (29473, "▁"), (3, "[INST]")],
            PaperList::SmolLm2 => &[(0, "<|endoftext|>"), (1, "<|im_start|>"), (2, "<|im_end|>"), (198, "Ċ")],
            PaperList::Qwen2 => &[(198, "Ċ"), (151643, "<|endoftext|>"), (151645, "<|im_end|>")],
        }
    }

    /// The family whose signature `tok` carries, if any.
    pub fn of(tok: &Tokenizer) -> Option<PaperList> {
        PaperList::ALL
            .into_iter()
            .find(|l| l.signature().iter().all(|&(id, t)| tok.id_to_token(id).as_deref() == Some(t)))
    }
}

impl SpecialIds {
    /// From a GGUF's metadata and the tokenizer built from it.
    pub fn from_gguf(data: &TokenizerData, tokenizer: &Tokenizer) -> Result<Self> {
        Self::resolve(tokenizer, data.bos_token_id, data.eos_token_id, data.eot_token_id, data.eom_token_id)
    }

    /// From tokenizer_config.json's `bos_token` / `eos_token` spellings (either may be absent).
    pub fn from_token_names(tokenizer: &Tokenizer, bos: Option<&str>, eos: Option<&str>) -> Result<Self> {
        let id = |t: Option<&str>| t.and_then(|t| tokenizer.token_to_id(t));
        Self::resolve(tokenizer, id(bos), id(eos), None, None)
    }

    fn resolve(
        tok: &Tokenizer,
        bos: Option<u32>,
        eos: Option<u32>,
        eot: Option<u32>,
        eom: Option<u32>,
    ) -> Result<Self> {
        // Spellings count only as added tokens (see the module docs: Qwen's "</s>" is text).
        let added = |t: &str| tok.token_to_id(t).filter(|&id| tok.is_added(id));
        let eot = eot.or_else(|| END_OF_TURN_TOKENS.iter().find_map(|t| added(t))).or(eos);
        let eom = eom.or_else(|| added(END_OF_MESSAGE_TOKEN));
        let end_of_text = sorted(END_OF_TEXT_TOKENS.iter().filter_map(|t| added(t)).collect());
        let stop_ids = sorted([eos, eot, eom].into_iter().flatten().chain(end_of_text.iter().copied()).collect());
        let newline = match tok.encode("\n")?.as_slice() {
            [one] => vec![*one],
            _ => Vec::new(),
        };
        let (exclusion_ids, exclusion) = match PaperList::of(tok) {
            Some(l) => (l.ids().to_vec(), Exclusion::Paper(l)),
            None => (sorted(stop_ids.iter().chain(&newline).copied().collect()), Exclusion::Generic),
        };
        Ok(SpecialIds { bos, eos, eot, end_of_text, stop_ids, newline, exclusion_ids, exclusion })
    }

    /// Whether generation stops at `id`.
    pub fn is_stop(&self, id: u32) -> bool {
        self.stop_ids.binary_search(&id).is_ok()
    }

    /// Whether the confidence ignores `id` (METHOD.md 1b).
    pub fn is_excluded(&self, id: u32) -> bool {
        self.exclusion_ids.binary_search(&id).is_ok()
    }
}

fn sorted(mut ids: Vec<u32>) -> Vec<u32> {
    ids.sort_unstable();
    ids.dedup();
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tok(tokens: &[&str], types: &[i32]) -> (TokenizerData, Tokenizer) {
        let data = TokenizerData {
            model: "gpt2".into(),
            tokens: tokens.iter().map(|s| s.to_string()).collect(),
            token_types: types.to_vec(),
            ..Default::default()
        };
        let t = Tokenizer::from_gguf(&data).unwrap();
        (data, t)
    }

    #[test]
    fn finds_turn_text_and_newline_tokens_by_spelling() {
        // Llama-3-like: eos is end-of-text, the turn ends with <|eot_id|>, plus <|eom_id|>.
        let (mut d, t) = tok(&["<|end_of_text|>", "<|eot_id|>", "<|eom_id|>", "Ċ", "a"], &[3, 3, 3, 1, 1]);
        d.eos_token_id = Some(0);
        let s = SpecialIds::from_gguf(&d, &t).unwrap();
        assert_eq!((s.eos, s.eot), (Some(0), Some(1)));
        assert_eq!(s.end_of_text, [0]);
        assert_eq!(s.stop_ids, [0, 1, 2]);
        assert_eq!(s.newline, [3]);
        assert_eq!(s.exclusion_ids, [0, 1, 2, 3]);
        assert!(s.is_stop(2) && !s.is_stop(3) && s.is_excluded(3) && !s.is_excluded(4));
    }

    /// A tokenizer.json vocabulary of `n` filler tokens with `at` placed at their ids, spelled
    /// as the vocabulary stores them (SentencePiece's "▁" as is); those spelled `<...>` are also
    /// special added tokens, as in the models' files.
    fn vocab(n: usize, at: &[(u32, &str)]) -> (TokenizerData, Tokenizer) {
        let mut tokens: Vec<String> = (0..n).map(|i| format!("f{i}")).collect();
        for &(id, t) in at {
            tokens[id as usize] = t.to_string();
        }
        let vocab: serde_json::Map<String, serde_json::Value> =
            tokens.iter().enumerate().map(|(i, t)| (t.clone(), serde_json::json!(i))).collect();
        let added: Vec<_> = at
            .iter()
            .filter(|(_, t)| t.starts_with('<') && t.ends_with('>'))
            .map(|&(id, t)| {
                serde_json::json!({"id": id, "content": t, "special": true, "single_word": false,
                                   "lstrip": false, "rstrip": false, "normalized": false})
            })
            .collect();
        let json = serde_json::json!({"version": "1.0", "added_tokens": added,
                                      "model": {"type": "BPE", "vocab": vocab, "merges": []}});
        let t = Tokenizer::from_json_bytes(json.to_string().as_bytes()).unwrap();
        (TokenizerData::default(), t)
    }

    #[test]
    fn the_papers_families_get_the_papers_lists_and_others_the_rule() {
        for l in PaperList::ALL {
            let n = *l.signature().iter().map(|(id, _)| id).max().unwrap() as usize + 2;
            let (d, t) = vocab(n, l.signature());
            let s = SpecialIds::from_gguf(&d, &t).unwrap();
            assert_eq!((s.exclusion, s.exclusion_ids.as_slice()), (Exclusion::Paper(l), l.ids()), "{l:?}");
            assert!(s.exclusion.describe().contains(l.family()));
            // One signature token elsewhere: not that family, so labelcast's rule, said so.
            let mut moved: Vec<(u32, &str)> = l.signature().to_vec();
            moved[0].0 += 1;
            let (d, t) = vocab(n, &moved);
            let s = SpecialIds::from_gguf(&d, &t).unwrap();
            assert_eq!(s.exclusion, Exclusion::Generic, "{l:?}");
        }
        // Llama 3.x: "\n\n" and <|eot_id|> only, where the rule would take <|end_of_text|>,
        // <|eom_id|> and "\n" too.
        let (mut d, t) = vocab(
            128010,
            &[
                (198, "Ċ"),
                (271, "ĊĊ"),
                (128000, "<|begin_of_text|>"),
                (128001, "<|end_of_text|>"),
                (128008, "<|eom_id|>"),
                (128009, "<|eot_id|>"),
            ],
        );
        d.eos_token_id = Some(128009);
        let s = SpecialIds::from_gguf(&d, &t).unwrap();
        assert_eq!(s.exclusion_ids, [271, 128009]);
        assert_eq!(s.stop_ids, [128001, 128008, 128009], "generation still stops at every end token");
    }

    /// Qwen2.5's vocabulary learned "</s>" (id 128247) from text; only an added token with an
    /// end spelling ends text or a turn.
    #[test]
    fn end_spellings_count_only_as_added_tokens() {
        let (_, t) = tok(&["</s>", "<|eot_id|>", "<|endoftext|>", "a"], &[1, 1, 3, 1]);
        assert!(!t.is_added(0) && !t.is_added(1) && t.is_added(2));
        let s = SpecialIds::from_token_names(&t, None, None).unwrap();
        assert_eq!((s.eot, s.end_of_text.as_slice(), s.stop_ids.as_slice()), (None, &[2][..], &[2][..]));
        // The same spellings as added (control) tokens do count.
        let (_, t) = tok(&["</s>", "<|eot_id|>", "<|endoftext|>", "a"], &[3, 3, 3, 1]);
        let s = SpecialIds::from_token_names(&t, None, None).unwrap();
        assert_eq!((s.eot, s.end_of_text.as_slice(), s.stop_ids.as_slice()), (Some(1), &[0, 2][..], &[0, 1, 2][..]));
    }

    #[test]
    fn eot_falls_back_to_eos_and_names_resolve() {
        let (_, t) = tok(&["</s>", "<s>", "a"], &[3, 3, 1]);
        let s = SpecialIds::from_token_names(&t, Some("<s>"), Some("</s>")).unwrap();
        assert_eq!((s.bos, s.eos, s.eot), (Some(1), Some(0), Some(0)));
        assert_eq!(s.stop_ids, [0]);
        assert!(s.newline.is_empty(), "no newline token in this vocabulary");
        assert_eq!(s.exclusion_ids, [0]);
    }
}
