//! The checks on what was read of each file, and the words of the messages.

use std::collections::BTreeSet;

use serde_json::Value;

pub(super) use labelcast_core::words::{bytes, count};

use super::{Picked, Role, MAX_HEADER_BYTES};

pub(super) fn json(name: &str, bytes: &[u8]) -> Result<Value, String> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| format!("{name} is not JSON: {e}"))?;
    if v.is_object() {
        Ok(v)
    } else {
        Err(format!("{name} is not a JSON object"))
    }
}

/// The role of a JSON file of another name, from the fields only that kind of file has.
pub(super) fn json_role(v: &Value) -> Role {
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

/// Checks what was read of a safetensors file: its 8-byte header length, its JSON header,
/// and that the tensors the header lists end exactly where the file ends.
pub(super) fn check_safetensors(name: &str, size: f64, head: &[u8]) -> Result<(), String> {
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
        return not(format!("it is only {} long", bytes(size)));
    }
    let n = u64::from_le_bytes(head[..8].try_into().unwrap_or_default());
    if n > MAX_HEADER_BYTES || 8.0 + n as f64 > size {
        return not(format!("its first 8 bytes announce a header of {n} bytes, but the file has {}", bytes(size)));
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
            bytes(expected),
            bytes(size)
        ));
    }
    if expected < size {
        return not(format!("its tensors end at byte {expected} but the file has {size} bytes"));
    }
    Ok(())
}

/// Whether a config, tokenizer or index file is the kind of file its name says.
pub(super) fn check_json_file(p: &Picked, role: Role) -> Option<String> {
    if role == Role::Tokenizer {
        // Only its head was read: the engine parses the rest.
        let text = String::from_utf8_lossy(&p.bytes);
        return (!text.trim_start().starts_with('{'))
            .then(|| format!("{} is not a tokenizer: it is not a JSON file", p.name));
    }
    let v = match json(&p.name, &p.bytes) {
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
pub(super) fn index_shards(p: &Picked) -> Result<BTreeSet<String>, String> {
    let v = json(&p.name, &p.bytes)?;
    let map = v
        .get("weight_map")
        .and_then(Value::as_object)
        .ok_or_else(|| format!("{}: \"weight_map\" is not an object", p.name))?;
    let shards = map
        .values()
        .map(|s| {
            s.as_str().map(str::to_string).ok_or_else(|| format!("{}: a weight_map entry is not a file name", p.name))
        })
        .collect::<Result<BTreeSet<String>, String>>()?;
    // Else every shard would be left out as unlisted, and the model have no weights.
    if shards.is_empty() {
        return Err(format!("{}: \"weight_map\" lists no file", p.name));
    }
    Ok(shards)
}

/// "model-00002-of-00003.safetensors" → (2, 3).
pub(super) fn shard_number(name: &str) -> Option<(u32, u32)> {
    let stem = name.strip_suffix(".safetensors")?;
    let (head, total) = stem.rsplit_once("-of-")?;
    let (_, k) = head.rsplit_once('-')?;
    let (k, total) = (k.parse().ok()?, total.parse().ok()?);
    (k >= 1 && k <= total).then_some((k, total))
}

/// Without an index, numbered shards ("-00001-of-00003") must all be there, and nothing else.
pub(super) fn numbered_gaps(names: &[String]) -> Vec<String> {
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
pub(super) fn renumber(name: &str, k: u32) -> String {
    let stem = name.trim_end_matches(".safetensors");
    let Some((head, total)) = stem.rsplit_once("-of-") else { return name.to_string() };
    let Some((prefix, digits)) = head.rsplit_once('-') else { return name.to_string() };
    format!("{prefix}-{k:0width$}-of-{total}.safetensors", width = digits.len())
}

pub(super) fn duplicates(names: &[String]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut dup = BTreeSet::new();
    for n in names {
        if !seen.insert(n) {
            dup.insert(n.clone());
        }
    }
    dup.into_iter().collect()
}

pub(super) fn and_list(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}
