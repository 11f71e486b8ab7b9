//! [`classify`]: from the files' roles to the model they make up, or to every problem at once.

use std::collections::{BTreeMap, BTreeSet};

use super::checks::{
    and_list, check_json_file, check_safetensors, count, duplicates, index_shards, json, numbered_gaps,
};
use super::{role, Classified, FolderError, ModelSet, Picked, Role, SafetensorsSet, JINJA, NEEDS};

/// The model the files make up, or one message naming every file missing, duplicated or
/// wrong.
pub fn classify(files: &[Picked]) -> Result<Classified, FolderError> {
    let fail = |m: String| Err(FolderError(m));
    if files.is_empty() {
        return fail("no files to load a model from".into());
    }
    let mut notes = Vec::new();
    // Files in subfolders of a picked folder (Llama's original/, onnx/) are another format.
    let (top, nested): (Vec<usize>, Vec<usize>) = (0..files.len()).partition(|&i| files[i].path.len() <= 1);
    if !nested.is_empty() {
        notes.push(format!("{} in subfolders not used.", count(nested.len(), "file", "files")));
    }
    let mut by_role: BTreeMap<Role, Vec<usize>> = BTreeMap::new();
    let mut roles = Vec::with_capacity(files.len());
    for &i in &top {
        let r = role(&files[i].name, &files[i].bytes);
        roles.push((i, r));
        by_role.entry(r).or_default().push(i);
    }
    let of = |r: Role| by_role.get(&r).cloned().unwrap_or_default();
    let names = |ix: &[usize]| ix.iter().map(|&i| files[i].name.clone()).collect::<Vec<_>>();
    let folder = top.first().and_then(|&i| files[i].path.first().cloned());

    let ggufs = of(Role::Gguf);
    let mut shards = of(Role::Shard);
    let unused: Vec<String> =
        roles.iter().filter(|(_, r)| matches!(r, Role::Unused)).map(|&(i, _)| files[i].name.clone()).collect();
    if !ggufs.is_empty() && !shards.is_empty() {
        return fail(format!(
            "{} and {} were chosen together: choose either one .gguf file or a safetensors model's files",
            and_list(&names(&ggufs)),
            and_list(&names(&shards))
        ));
    }
    if ggufs.len() > 1 {
        return fail(format!("{} .gguf files were chosen ({}): choose one", ggufs.len(), and_list(&names(&ggufs))));
    }
    if let [g] = ggufs[..] {
        let p = &files[g];
        if p.bytes.len() >= 4 && !p.bytes.starts_with(b"GGUF") {
            return fail(format!("{}: not a GGUF model file (it does not start with \"GGUF\")", p.name));
        }
        let others = roles.iter().filter(|&&(i, _)| i != g).count();
        if others > 0 {
            notes.push(format!("The other {} not used with a .gguf model.", count(others, "file is", "files are")));
        }
        return Ok(Classified { set: ModelSet::Gguf(g), name: p.name.clone(), notes });
    }

    let mut problems = Vec::new();
    let mut one = |r: Role| -> Option<usize> {
        match of(r)[..] {
            [] if r.required() => {
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
    let config = one(Role::Config);
    let tokenizer = one(Role::Tokenizer);
    let tokenizer_config = one(Role::TokenizerConfig);
    let chat_template = one(Role::ChatTemplate);
    let index = one(Role::Index);

    if shards.is_empty() {
        let other = names(&of(Role::OtherWeights));
        let mut msg = "No .safetensors file".to_string();
        if !other.is_empty() {
            msg.push_str(&format!(
                " ({} cannot be read here: PyTorch or other weights; use the model's .safetensors files, or a .gguf)",
                and_list(&other)
            ));
        }
        problems.insert(0, msg);
    }
    for dup in duplicates(&names(&shards)) {
        problems.push(format!("{dup} is there twice"));
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
        let r = roles.iter().find(|(j, _)| *j == i).map(|x| x.1);
        if let Some(e) = r.and_then(|r| check_json_file(&files[i], r)) {
            problems.push(e);
        }
    }
    if let Some(ix) = index.filter(|_| problems.is_empty()) {
        let listed = index_shards(&files[ix]).map_err(FolderError)?;
        let given: BTreeSet<String> = names(&shards).into_iter().collect();
        let missing: Vec<String> = listed.iter().filter(|s| !given.contains(*s)).cloned().collect();
        if !missing.is_empty() {
            problems.push(format!(
                "{} {} missing ({} lists {})",
                and_list(&missing),
                if missing.len() == 1 { "is" } else { "are" },
                files[ix].name,
                count(listed.len(), "shard", "shards")
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
        return fail(format!("{msg}."));
    }
    let (Some(config), Some(tokenizer)) = (config, tokenizer) else {
        return fail(format!("internal error: the model files were not classified: {NEEDS}"));
    };
    shards.sort_by(|&a, &b| files[a].name.cmp(&files[b].name));
    let in_config = tokenizer_config
        .is_some_and(|i| json(&files[i].name, &files[i].bytes).is_ok_and(|v| v.get("chat_template").is_some()));
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
