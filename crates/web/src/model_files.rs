//! Which model the files a person picked or dropped make up: one .gguf, or a safetensors
//! model's files (the CLI's folder: *.safetensors, config.json, tokenizer.json and, for the
//! chat template, tokenizer_config.json and chat_template.jinja). Decided from names and the bytes `model_pick` read
//! from each file, before anything is sent to the worker, so a missing, duplicated or wrong
//! file gets one message naming it instead of an engine error half-way through a load.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::format;

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

/// How much of a file `model_pick` reads before classifying it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// Nothing: the name alone decides.
    Nothing,
    /// The first bytes (a GGUF's magic, a safetensors header's length).
    Head(u32),
    /// The whole file as text (small JSON files, whose fields decide what they are).
    Whole,
}

/// One picked file and what was read of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Picked {
    pub name: String,
    pub size: f64,
    /// The folder it was picked in (`webkitRelativePath`), with any subfolders, when the
    /// browser says; empty for files picked one by one.
    pub path: Vec<String>,
    /// What `probe` asked for: the head bytes, or the whole file for JSON. A safetensors
    /// file's head also holds its JSON header when `model_pick` could read it.
    pub bytes: Vec<u8>,
}

/// What is read of a file named `name` of `size` bytes.
pub fn probe(name: &str, size: f64) -> Probe {
    let lower = name.to_ascii_lowercase();
    match lower.as_str() {
        "tokenizer.json" => Probe::Head(64),
        // Small text: read whole, to check it is UTF-8 before the worker compiles it.
        JINJA if size <= MAX_JSON_BYTES => Probe::Whole,
        n if n.ends_with(".gguf") => Probe::Head(4),
        // The 8-byte header length; `model_pick` then reads the header it announces.
        n if n.ends_with(".safetensors") => Probe::Head(8),
        n if ignored_name(n) => Probe::Nothing,
        n if n.ends_with(".json") && size <= MAX_JSON_BYTES => Probe::Whole,
        _ => Probe::Nothing,
    }
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

/// A safetensors model's files, as indexes into the picked list.
#[derive(Debug, Clone, PartialEq)]
pub struct SafetensorsSet {
    /// Sorted by name, as the CLI reads a folder.
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Gguf,
    Shard,
    Config,
    Tokenizer,
    TokenizerConfig,
    ChatTemplate,
    Index,
    /// PyTorch or other weights the engine cannot read.
    OtherWeights,
    Unused,
}

impl Role {
    fn file_name(self) -> &'static str {
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
}

fn json(p: &Picked) -> Result<Value, String> {
    let v: Value = serde_json::from_slice(&p.bytes).map_err(|e| format!("{} is not JSON: {e}", p.name))?;
    if v.is_object() {
        Ok(v)
    } else {
        Err(format!("{} is not a JSON object", p.name))
    }
}

/// The role of a JSON file of another name ("config (1).json" from a browser's downloads),
/// from the fields only that kind of file has.
fn json_role(v: &Value) -> Role {
    let has = |k: &str| v.get(k).is_some();
    if has("model_type") && has("hidden_size") {
        Role::Config
    } else if has("weight_map") {
        Role::Index
    } else if has("model") && (has("pre_tokenizer") || has("added_tokens")) {
        Role::Tokenizer
    } else if has("tokenizer_class") || has("chat_template") {
        Role::TokenizerConfig
    } else {
        Role::Unused
    }
}

fn role(p: &Picked) -> Role {
    let lower = p.name.to_ascii_lowercase();
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
        n if n.ends_with(".json") && !p.bytes.is_empty() => match json(p) {
            Ok(v) => json_role(&v),
            Err(_) => Role::Unused,
        },
        _ => Role::Unused,
    }
}

/// Checks what was read of a safetensors file: its 8-byte header length, its JSON header,
/// and that the tensors the header lists end exactly where the file ends.
pub fn check_safetensors(name: &str, size: f64, head: &[u8]) -> Result<(), String> {
    let not = |why: String| Err(format!("{name} is not a safetensors file: {why}"));
    if head.starts_with(b"version https://git-lfs") {
        return not(
            "it is a Git LFS pointer (a small text file that stands for the weights); download the file itself".into(),
        );
    }
    if String::from_utf8_lossy(&head[..head.len().min(64)]).trim_start().starts_with('<') {
        return not("it is a web page, not the weights".into());
    }
    if size < 8.0 || head.len() < 8 {
        return not(format!("it is only {} long", format::bytes(size)));
    }
    let n = u64::from_le_bytes(head[..8].try_into().unwrap_or_default());
    if n > MAX_HEADER_BYTES || 8.0 + n as f64 > size {
        return not(format!(
            "its first 8 bytes announce a header of {n} bytes, but the file has {}",
            format::bytes(size)
        ));
    }
    let Some(header) = head.get(8..8 + n as usize) else {
        return not("its header could not be read".into());
    };
    let header: Value = match serde_json::from_slice(header) {
        Ok(Value::Object(m)) => Value::Object(m),
        Ok(_) => return not("its header is not a JSON object".into()),
        Err(e) => return not(format!("its header is not JSON ({e})")),
    };
    let end = header
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| *k != "__metadata__")
        .filter_map(|(_, t)| t.get("data_offsets")?.get(1)?.as_f64())
        .fold(0.0, f64::max);
    let expected = 8.0 + n as f64 + end;
    if expected > size {
        return Err(format!(
            "{name} is cut short: its tensors need {} but the file has {} (an interrupted download?)",
            format::bytes(expected),
            format::bytes(size)
        ));
    }
    if expected < size {
        return not(format!("its tensors end at byte {expected} but the file has {size} bytes"));
    }
    Ok(())
}

/// "model-00002-of-00003.safetensors" → (2, 3).
fn shard_number(name: &str) -> Option<(u32, u32)> {
    let stem = name.strip_suffix(".safetensors")?;
    let (head, total) = stem.rsplit_once("-of-")?;
    let (_, k) = head.rsplit_once('-')?;
    let (k, total) = (k.parse().ok()?, total.parse().ok()?);
    (k >= 1 && k <= total).then_some((k, total))
}

fn and_list(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The model the picked files make up, or one message naming every file missing, duplicated
/// or wrong.
pub fn classify(files: &[Picked]) -> Result<Classified, String> {
    if files.is_empty() {
        return Err("no file was chosen".into());
    }
    let mut notes = Vec::new();
    // Files in subfolders of a picked folder (Llama's original/, onnx/) are another format.
    let (top, nested): (Vec<usize>, Vec<usize>) = (0..files.len()).partition(|&i| files[i].path.len() <= 1);
    if !nested.is_empty() {
        notes.push(format!("{} in subfolders not used.", format::count(nested.len(), "file", "files")));
    }
    let mut by_role: BTreeMap<u8, Vec<usize>> = BTreeMap::new();
    let mut roles = Vec::with_capacity(files.len());
    for &i in &top {
        let r = role(&files[i]);
        roles.push((i, r));
        by_role.entry(r as u8).or_default().push(i);
    }
    let of = |r: Role| by_role.get(&(r as u8)).cloned().unwrap_or_default();
    let names = |ix: &[usize]| ix.iter().map(|&i| files[i].name.clone()).collect::<Vec<_>>();
    let folder = top.first().and_then(|&i| files[i].path.first().cloned());

    let ggufs = of(Role::Gguf);
    let mut shards = of(Role::Shard);
    let unused: Vec<String> =
        roles.iter().filter(|(_, r)| matches!(r, Role::Unused)).map(|&(i, _)| files[i].name.clone()).collect();
    if !ggufs.is_empty() && !shards.is_empty() {
        return Err(format!(
            "{} and {} were chosen together: choose either one .gguf file or a safetensors model's files",
            and_list(&names(&ggufs)),
            and_list(&names(&shards))
        ));
    }
    if ggufs.len() > 1 {
        return Err(format!("{} .gguf files were chosen ({}): choose one", ggufs.len(), and_list(&names(&ggufs))));
    }
    if let [g] = ggufs[..] {
        let p = &files[g];
        if p.bytes.len() >= 4 && !p.bytes.starts_with(b"GGUF") {
            return Err(format!("{}: not a GGUF model file (it does not start with \"GGUF\")", p.name));
        }
        let others = roles.iter().filter(|&&(i, _)| i != g).count();
        if others > 0 {
            notes.push(format!(
                "The other {} not used with a .gguf model.",
                format::count(others, "file is", "files are")
            ));
        }
        return Ok(Classified { set: ModelSet::Gguf(g), name: p.name.clone(), notes });
    }

    let mut problems = Vec::new();
    let one = |r: Role, required: bool, problems: &mut Vec<String>| -> Option<usize> {
        match of(r)[..] {
            [] if required => {
                problems.push(format!("{} is missing", r.file_name()));
                None
            }
            [] => None,
            [i] => Some(i),
            ref many => {
                problems.push(format!("{} were chosen as {}: keep one", and_list(&names(many)), r.file_name()));
                None
            }
        }
    };
    let config = one(Role::Config, true, &mut problems);
    let tokenizer = one(Role::Tokenizer, true, &mut problems);
    let tokenizer_config = one(Role::TokenizerConfig, false, &mut problems);
    let chat_template = one(Role::ChatTemplate, false, &mut problems);
    let index = one(Role::Index, false, &mut problems);

    if shards.is_empty() {
        let other = names(&of(Role::OtherWeights));
        let mut msg = "No .safetensors file was chosen".to_string();
        if !other.is_empty() {
            msg.push_str(&format!(
                " ({} cannot be read here: PyTorch or other weights; use the model's .safetensors files, or a .gguf)",
                and_list(&other)
            ));
        }
        problems.insert(0, msg);
    }
    for dup in duplicates(&names(&shards)) {
        problems.push(format!("{dup} was chosen twice"));
    }
    for &i in &shards {
        if let Err(e) = check_safetensors(&files[i].name, files[i].size, &files[i].bytes) {
            problems.push(e);
        }
    }
    if let Some(i) = chat_template.filter(|&i| std::str::from_utf8(&files[i].bytes).is_err()) {
        problems.push(format!("{} is not valid UTF-8 text, so not a chat template", files[i].name));
    }
    for i in [config, tokenizer, tokenizer_config, index].into_iter().flatten() {
        if let Some(e) = check_json_file(&files[i], roles.iter().find(|(j, _)| *j == i).map(|x| x.1)) {
            problems.push(e);
        }
    }
    if let Some(ix) = index.filter(|_| problems.is_empty()) {
        let listed = index_shards(&files[ix])?;
        let given: BTreeSet<String> = names(&shards).into_iter().collect();
        let missing: Vec<String> = listed.iter().filter(|s| !given.contains(*s)).cloned().collect();
        if !missing.is_empty() {
            problems.push(format!(
                "{} {} missing ({} lists {})",
                and_list(&missing),
                if missing.len() == 1 { "is" } else { "are" },
                files[ix].name,
                format::count(listed.len(), "shard", "shards")
            ));
        }
        let extra: Vec<String> = given.difference(&listed).cloned().collect();
        if !extra.is_empty() {
            notes.push(format!("{} not listed in {}: not used.", and_list(&extra), files[ix].name));
            shards.retain(|&i| listed.contains(&files[i].name));
        }
    } else if index.is_none() {
        problems.extend(numbered_gaps(&names(&shards)));
    }
    if !problems.is_empty() {
        let mut msg = problems.join("; ");
        if problems.iter().any(|p| p.contains("missing") || p.starts_with("No .safetensors")) {
            msg.push_str(&format!(": {NEEDS}"));
        }
        if !unused.is_empty() {
            msg.push_str(&format!(" (not used: {})", and_list(&unused)));
        }
        return Err(format!("{msg}."));
    }
    let (Some(config), Some(tokenizer)) = (config, tokenizer) else {
        return Err(format!("internal error: the model files were not classified: {NEEDS}"));
    };
    shards.sort_by(|&a, &b| files[a].name.cmp(&files[b].name));
    let in_config = tokenizer_config.is_some_and(|i| json(&files[i]).is_ok_and(|v| v.get("chat_template").is_some()));
    if chat_template.is_none() && !in_config {
        let why = match tokenizer_config {
            None => format!("No tokenizer_config.json or {JINJA}: the model has no chat template"),
            Some(i) => format!(
                "{} has no \"chat_template\" and there is no {JINJA}: the model has no chat template",
                files[i].name
            ),
        };
        notes.push(format!("{why}, so score with \"Raw\" prompts (already formatted)."));
    }
    if !unused.is_empty() {
        notes.push(format!("Not used: {}.", and_list(&unused)));
    }
    let ignored_weights = names(&of(Role::OtherWeights));
    if !ignored_weights.is_empty() {
        notes.push(format!("{} not used: the .safetensors weights are.", and_list(&ignored_weights)));
    }
    let name = match (folder, &shards[..]) {
        (Some(f), _) => f,
        (None, [one]) => files[*one].name.clone(),
        (None, many) => format!("{} ({} shards)", files[many[0]].name, many.len()),
    };
    Ok(Classified {
        set: ModelSet::Safetensors(SafetensorsSet { shards, config, tokenizer, tokenizer_config, chat_template }),
        name,
        notes,
    })
}

fn duplicates(names: &[String]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut dup = BTreeSet::new();
    for n in names {
        if !seen.insert(n) {
            dup.insert(n.clone());
        }
    }
    dup.into_iter().collect()
}

/// Whether a config, tokenizer or index file is the kind of file its name says.
fn check_json_file(p: &Picked, role: Option<Role>) -> Option<String> {
    let role = role?;
    if role == Role::Tokenizer {
        // Only its head was read: the worker parses the rest.
        let text = String::from_utf8_lossy(&p.bytes);
        return (!text.trim_start().starts_with('{'))
            .then(|| format!("{} is not a tokenizer: it is not a JSON file", p.name));
    }
    let v = match json(p) {
        Ok(v) => v,
        Err(e) => return Some(e),
    };
    let need = match role {
        Role::Config => "model_type",
        Role::Index => "weight_map",
        _ => return None,
    };
    v.get(need).is_none().then(|| format!("{} is not a {}: it has no \"{need}\" field", p.name, role.file_name()))
}

/// The shard names an index's `weight_map` lists.
fn index_shards(p: &Picked) -> Result<BTreeSet<String>, String> {
    let v = json(p)?;
    let map = v
        .get("weight_map")
        .and_then(Value::as_object)
        .ok_or_else(|| format!("{}: \"weight_map\" is not an object", p.name))?;
    map.values()
        .map(|s| {
            s.as_str().map(str::to_string).ok_or_else(|| format!("{}: a weight_map entry is not a file name", p.name))
        })
        .collect()
}

/// Without an index, numbered shards ("-00001-of-00003") must all be there, and nothing else.
fn numbered_gaps(names: &[String]) -> Vec<String> {
    let numbered: Vec<(u32, u32)> = names.iter().filter_map(|n| shard_number(n)).collect();
    let Some(&(_, total)) = numbered.first() else { return Vec::new() };
    let mut problems = Vec::new();
    let plain: Vec<String> = names.iter().filter(|n| shard_number(n).is_none()).cloned().collect();
    if !plain.is_empty() {
        problems.push(format!(
            "{} and the numbered shards look like two copies of the weights: choose one (or add model.safetensors.index.json)",
            and_list(&plain)
        ));
    }
    if numbered.iter().any(|&(_, t)| t != total) {
        problems.push("the numbered .safetensors files belong to different sets (their \"-of-\" counts differ)".into());
        return problems;
    }
    let have: BTreeSet<u32> = numbered.iter().map(|&(k, _)| k).collect();
    let example = names.iter().find(|n| shard_number(n).is_some()).cloned().unwrap_or_default();
    let missing: Vec<String> = (1..=total).filter(|k| !have.contains(k)).map(|k| renumber(&example, k)).collect();
    if !missing.is_empty() {
        problems.push(format!(
            "{} {} missing (the shards are numbered 1 to {total})",
            and_list(&missing),
            if missing.len() == 1 { "is" } else { "are" }
        ));
    }
    problems
}

/// `model-00001-of-00003.safetensors` with shard number `k`, zero-padded the same way.
fn renumber(name: &str, k: u32) -> String {
    let stem = name.trim_end_matches(".safetensors");
    let Some((head, total)) = stem.rsplit_once("-of-") else { return name.to_string() };
    let Some((prefix, digits)) = head.rsplit_once('-') else { return name.to_string() };
    format!("{prefix}-{k:0width$}-of-{total}.safetensors", width = digits.len())
}

#[cfg(test)]
#[path = "model_files_tests.rs"]
mod tests;
