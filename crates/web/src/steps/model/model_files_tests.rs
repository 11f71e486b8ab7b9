//! What is classified is tested where the rule is (labelcast-modelfile's folder tests); here,
//! that the worker is sent the files in the order it reads them.

use labelcast_modelfile::folder::SafetensorsSet;

use super::*;

fn file(name: &str) -> Picked {
    Picked { name: name.into(), size: 0.0, path: Vec::new(), bytes: Vec::new() }
}

#[test]
fn a_gguf_is_sent_alone() {
    let picked = [file("README.md"), file("m.gguf")];
    let (files, order) = upload_order(&picked, &ModelSet::Gguf(1));
    assert_eq!(files, ModelFiles::Gguf);
    assert_eq!(order, vec![1]);
    assert_eq!(order.len(), files.blob_count());
}

#[test]
fn safetensors_files_are_sent_shards_first_then_the_optional_files_present() {
    let picked = ["tokenizer.json", "b.safetensors", "chat_template.jinja", "config.json", "a.safetensors"].map(file);
    let set =
        SafetensorsSet { shards: vec![4, 1], config: 3, tokenizer: 0, tokenizer_config: None, chat_template: Some(2) };
    let (files, order) = upload_order(&picked, &ModelSet::Safetensors(set.clone()));
    assert_eq!(
        files,
        ModelFiles::Safetensors {
            shards: vec!["a.safetensors".into(), "b.safetensors".into()],
            tokenizer_config: false,
            chat_template: true
        }
    );
    assert_eq!(order, vec![4, 1, 3, 0, 2]);
    assert_eq!(order.len(), files.blob_count());

    let picked = [picked.to_vec(), vec![file("tokenizer_config.json")]].concat();
    let set = SafetensorsSet { tokenizer_config: Some(5), chat_template: None, ..set };
    let (files, order) = upload_order(&picked, &ModelSet::Safetensors(set));
    assert!(matches!(files, ModelFiles::Safetensors { tokenizer_config: true, chat_template: false, .. }));
    assert_eq!(order, vec![4, 1, 3, 0, 5]);
    assert_eq!(order.len(), files.blob_count());
}
