//! Which model the files a person picked or dropped make up, and what the worker is sent for
//! it. The rule (roles by name, what is missing, duplicated or wrong, the shard order, the
//! messages) is `labelcast_modelfile::folder`'s, the CLI's for a `--model` folder; what is
//! the page's own is the order the worker reads the files' Blobs in (`ModelFiles`).

use labelcast_modelfile::folder::{ModelSet, Picked};
use labelcast_protocol::ModelFiles;

/// What the worker is told the Blobs are, and which picked files they are, in the order the
/// worker reads them: the shards, config.json, tokenizer.json, then the optional files that
/// are present.
pub fn upload_order(picked: &[Picked], set: &ModelSet) -> (ModelFiles, Vec<usize>) {
    match set {
        ModelSet::Gguf(i) => (ModelFiles::Gguf, vec![*i]),
        ModelSet::Safetensors(s) => {
            let optional = s.tokenizer_config.into_iter().chain(s.chat_template);
            let order = s.shards.iter().copied().chain([s.config, s.tokenizer]).chain(optional).collect();
            let files = ModelFiles::Safetensors {
                shards: s.shards.iter().map(|&i| picked[i].name.clone()).collect(),
                tokenizer_config: s.tokenizer_config.is_some(),
                chat_template: s.chat_template.is_some(),
            };
            (files, order)
        }
    }
}

#[cfg(test)]
#[path = "model_files_tests.rs"]
mod tests;
