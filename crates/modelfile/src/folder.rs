//! Which model a set of files makes up: one .gguf, or a safetensors model's files
//! (*.safetensors, config.json, tokenizer.json and, for the chat template,
//! tokenizer_config.json and chat_template.jinja; model.safetensors.index.json when the
//! weights are sharded). The one rule for the CLI's `--model` folder and the files a person
//! picks or drops on the page, so both accept the same folders, read the same shards in the
//! same order (and so hash the same bytes), and say the same thing about what is wrong.
//!
//! Pure: decided from names, sizes and the bytes [`probe`] asks for, before anything is
//! loaded, so a missing, duplicated or wrong file gets one message naming it instead of an
//! engine error half-way through a load.

mod checks;
mod classify;
#[cfg(test)]
mod tests;

pub use classify::classify;

/// A safetensors header above this is not a model's (SmolLM2's is 30 KiB, a 70B model's a
/// few MiB); reading it would only waste memory on a file that is something else.
pub const MAX_HEADER_BYTES: u64 = 100 * 1024 * 1024;

/// The file newer transformers save the chat template in (and leave out of
/// tokenizer_config.json); it wins over tokenizer_config.json's `chat_template`.
pub const JINJA: &str = "chat_template.jinja";

/// JSON files of unknown name above this are not read to see what they are.
pub const MAX_JSON_BYTES: f64 = 64.0 * 1024.0 * 1024.0;

/// What the files of a safetensors model must be, for messages.
pub const NEEDS: &str = "a safetensors model needs its *.safetensors file(s), config.json and tokenizer.json \
                         (tokenizer_config.json and chat_template.jinja too, for its chat template)";

/// How much of a file is read before classifying it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// Nothing: the name alone decides.
    Nothing,
    /// The first bytes (a GGUF's magic, a safetensors header's length); for a safetensors
    /// file, [`header_end`] then says how far to read for its header.
    Head(u32),
    /// The whole file as text (small JSON files, whose fields decide what they are).
    Whole,
}

/// One file and what was read of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Picked {
    pub name: String,
    /// In bytes; f64 because that is what the browser's `File.size` is.
    pub size: f64,
    /// The folder it was picked in, with any subfolders, when known (the page's
    /// `webkitRelativePath`); empty for files picked one by one. Names the model.
    pub path: Vec<String>,
    /// What [`probe`] asked for: the head bytes, or the whole file for JSON. A safetensors
    /// file's head also holds its JSON header when it could be read ([`header_end`]).
    pub bytes: Vec<u8>,
}

/// What is read of a file named `name` of `size` bytes.
pub fn probe(name: &str, size: f64) -> Probe {
    let lower = name.to_ascii_lowercase();
    match lower.as_str() {
        "tokenizer.json" => Probe::Head(64),
        // Small text: read whole, to check it is UTF-8 before the engine compiles it.
        JINJA if size <= MAX_JSON_BYTES => Probe::Whole,
        n if n.ends_with(".gguf") => Probe::Head(4),
        // The 8-byte header length; `header_end` then says how much more to read.
        n if n.ends_with(".safetensors") => Probe::Head(8),
        n if ignored_name(n) => Probe::Nothing,
        n if n.ends_with(".json") && size <= MAX_JSON_BYTES => Probe::Whole,
        _ => Probe::Nothing,
    }
}

/// After a [`Probe::Head`]: the end of the JSON header a safetensors file's first 8 bytes
/// announce, when it can be one (a larger one is refused by [`classify`] unread).
pub fn header_end(name: &str, head: &[u8]) -> Option<u64> {
    let len = u64::from_le_bytes(head.get(..8)?.try_into().ok()?);
    (name.to_ascii_lowercase().ends_with(".safetensors") && len <= MAX_HEADER_BYTES).then_some(8 + len)
}

/// Files a model folder holds that the engine does not read (it uses tokenizer.json, not the
/// slow tokenizer's files, and greedy decoding with its own limits, not generation_config).
fn ignored_name(lower: &str) -> bool {
    matches!(
        lower,
        "generation_config.json"
            | "special_tokens_map.json"
            | "added_tokens.json"
            | "vocab.json"
            | "merges.txt"
            | "tokenizer.model"
            | ".gitattributes"
            | "preprocessor_config.json"
    ) || lower.ends_with(".md")
        || lower.starts_with("license")
}

/// What a file is to a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Gguf,
    Shard,
    Config,
    Tokenizer,
    TokenizerConfig,
    ChatTemplate,
    Index,
    /// PyTorch or other weights the engine cannot read.
    OtherWeights,
    /// Ignored: not part of the model the engine loads.
    Unused,
}

impl Role {
    /// The file's usual name (the extension for weights), for messages.
    pub fn file_name(self) -> &'static str {
        match self {
            Role::Config => "config.json",
            Role::Tokenizer => "tokenizer.json",
            Role::TokenizerConfig => "tokenizer_config.json",
            Role::ChatTemplate => JINJA,
            Role::Index => "model.safetensors.index.json",
            Role::Gguf => ".gguf",
            Role::Shard => ".safetensors",
            Role::OtherWeights | Role::Unused => "",
        }
    }

    /// Whether a safetensors model cannot load without this file (the shards are checked
    /// on their own: there are one or more).
    pub fn required(self) -> bool {
        matches!(self, Role::Config | Role::Tokenizer)
    }
}

/// The role of a file from its name and what [`probe`] read of it: a JSON file of another
/// name ("config (1).json" from a browser's downloads) is known by the fields only that kind
/// of file has.
pub fn role(name: &str, bytes: &[u8]) -> Role {
    let lower = name.to_ascii_lowercase();
    match lower.as_str() {
        "config.json" => Role::Config,
        "tokenizer.json" => Role::Tokenizer,
        "tokenizer_config.json" => Role::TokenizerConfig,
        JINJA => Role::ChatTemplate,
        n if n.ends_with(".safetensors.index.json") => Role::Index,
        n if n.ends_with(".gguf") => Role::Gguf,
        n if n.ends_with(".safetensors") => Role::Shard,
        n if [".bin", ".pt", ".pth", ".ckpt", ".h5", ".msgpack", ".onnx"].iter().any(|e| n.ends_with(e)) => {
            Role::OtherWeights
        }
        n if ignored_name(n) => Role::Unused,
        n if n.ends_with(".json") && !bytes.is_empty() => match checks::json(name, bytes) {
            Ok(v) => checks::json_role(&v),
            Err(_) => Role::Unused,
        },
        _ => Role::Unused,
    }
}

/// A safetensors model's files, as indexes into the list given to [`classify`].
#[derive(Debug, Clone, PartialEq)]
pub struct SafetensorsSet {
    /// Those the index lists when there is one, sorted by name (the order the model is
    /// hashed in).
    pub shards: Vec<usize>,
    pub config: usize,
    pub tokenizer: usize,
    pub tokenizer_config: Option<usize>,
    /// chat_template.jinja.
    pub chat_template: Option<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ModelSet {
    Gguf(usize),
    Safetensors(SafetensorsSet),
}

/// The model the files make up, its name for messages, and what the person should know
/// (files not used, no chat template).
#[derive(Debug, Clone, PartialEq)]
pub struct Classified {
    pub set: ModelSet,
    pub name: String,
    pub notes: Vec<String>,
}

/// Why the files do not make a model: one message naming every file missing, duplicated or
/// wrong, and what a model needs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FolderError(pub String);
