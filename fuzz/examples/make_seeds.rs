//! Writes the seed corpora (fuzz/corpus/<target>/) from the project's test data and generated
//! micro models: small valid inputs the fuzzer mutates from. Run from the repository root:
//! `cargo +nightly run --manifest-path fuzz/Cargo.toml --example make_seeds`.
use std::fs;
use std::path::Path;

use labelcast_modelfile::testing::{config_json, micro_config, random_weights, write_gguf, write_safetensors};
use labelcast_modelfile::{Architecture, TensorType};

fn put(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new("fuzz/corpus").join(target);
    fs::create_dir_all(&dir).expect("corpus folder");
    fs::write(dir.join(name), bytes).expect("seed written");
}

fn read(path: &str) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| panic!("{path}: {e} (run from the repository root)"))
}

fn main() {
    // Tables: the first byte is the target's mode (format hint, prompt required).
    for (name, path) in [("pool.csv", "tests/data/pool.csv"), ("bad.csv", "tests/fixtures/pool_bad.csv")] {
        let body = read(path);
        let body = &body[..body.len().min(2048)];
        for mode in [0u8, 9] {
            put("table", &format!("{mode}-{name}"), &[&[mode][..], body].concat());
        }
    }
    put("table", "2-rows.jsonl", b"\x02{\"prompt\": \"a\", \"answer\": \"b\"}\n{\"prompt\": \"c\"}\n");
    put("table", "0-array.json", b"\x00[{\"prompt\": \"a\", \"answer\": 1}, {\"prompt\": \"b\", \"answer\": null}]");
    put("table", "4-tabs.tsv", b"\x04id\tprompt\n1\thello\n");

    put("labels", "by-id.csv", b"id,answer\n1,4\n2,Paris\n");
    put("labels", "by-prompt.jsonl", b"{\"prompt\": \"What is 2+2?\", \"answer\": \"4\"}\n");

    for arch in [Architecture::Llama, Architecture::Qwen2] {
        let c = micro_config(arch);
        let w = random_weights(&c, 1);
        let gguf = write_gguf(&c, &w, |_| TensorType::F32).expect("micro gguf");
        put("gguf", &format!("micro-{arch:?}.gguf"), &gguf);
        let st = write_safetensors(&w, TensorType::F16).expect("micro safetensors");
        put("safetensors", &format!("micro-{arch:?}"), &[config_json(&c).as_bytes(), &[0xFF], &st].concat());
    }

    let tiny = "tests/reference/models/tiny-llama";
    let tok = read(&format!("{tiny}/tokenizer.json"));
    let cfg = read(&format!("{tiny}/tokenizer_config.json"));
    put("tokenizer_json", "tiny-llama", &[&tok[..], &[0xFF], &cfg[..]].concat());
    put(
        "tokenizer_json",
        "tiny-llama-jinja",
        &[&tok[..], &[0xFF], &cfg[..], &[0xFF], b"{% for m in messages %}{{ m.content }}{% endfor %}"].concat(),
    );

    let chatml = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}\
                  {% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";
    put("chat_template", "chatml.jinja", chatml.as_bytes());
    put(
        "chat_template",
        "macros.jinja",
        b"{% macro f(m) %}[{{ m.role|upper }}] {{ m.content|trim }}{% endmacro %}{{ bos_token }}\
          {% set ns = namespace(n=0) %}{% for m in messages %}{{ f(m) }}{% set ns.n = ns.n + 1 %}{% endfor %}\
          {% if messages[0]['role'] == 'system' %}{{ raise_exception('no system') }}{% endif %}{{ ns.n }}",
    );
    eprintln!("seeds written under fuzz/corpus/");
}
