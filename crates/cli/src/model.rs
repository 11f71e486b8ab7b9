//! Loading a model for the model-based subcommands, and turning table rows into prompts and
//! labeled examples.

use std::fs;
use std::path::Path;
use std::time::Instant;

use labelcast_core::table::{Role, Table};
use labelcast_core::Error;
use labelcast_engine::model::HfText;
use labelcast_engine::{AnyEngine, BackendChoice, Example, Progress, Prompt};

use sha2::{Digest, Sha256};

use crate::error::{CliError, CliResult};
use crate::io::{map_bytes, progress, read_bytes};

/// How prompts are fed to the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Template {
    /// Put the prompt (and the system column, if any) into the model's chat template with the
    /// generation prompt.
    Chat,
    /// Use the prompt text verbatim (it is already formatted).
    Raw,
}

/// What scoring does with a prompt longer than the model's context (`--long-prompts`), and
/// CoS-Low with an example longer than it (`--long-examples`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LongPrompts {
    /// Cut the prompt's text from the end so it fits with room for the answer (scoring: the
    /// row is scored on its beginning and the output's `cut` column says so; CoS-Low: the
    /// answer is kept whole and the run says which examples were cut).
    Cut,
    /// Leave the row out (scoring: no scores, the output's `skipped` column says so, and
    /// selection never picks it; CoS-Low: compares the other examples) and name it.
    Skip,
    /// Stop with an error naming the row.
    Fail,
}

impl From<LongPrompts> for labelcast_engine::LongRows {
    fn from(l: LongPrompts) -> Self {
        match l {
            LongPrompts::Cut => labelcast_engine::LongRows::Cut,
            LongPrompts::Skip => labelcast_engine::LongRows::Skip,
            LongPrompts::Fail => labelcast_engine::LongRows::Fail,
        }
    }
}

/// Which backend runs the model (`--backend`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// WGSL kernels on wgpu (Vulkan, Metal); software adapters such as lavapipe included.
    Gpu,
    /// candle on the CPU.
    Cpu,
    /// A hardware GPU when one is found, else the CPU.
    Auto,
}

impl Backend {
    fn choice(self) -> BackendChoice {
        match self {
            Backend::Gpu => BackendChoice::Gpu,
            Backend::Cpu => BackendChoice::Cpu,
            Backend::Auto => BackendChoice::Auto,
        }
    }
}

impl Template {
    pub fn is_chat(self) -> bool {
        self == Template::Chat
    }
}

/// Loads `--model`: a .gguf file, or a folder with *.safetensors, config.json and
/// tokenizer.json (tokenizer_config.json and chat_template.jinja, which wins, for the chat
/// template).
pub fn load(path: &Path, backend: Backend) -> CliResult<AnyEngine> {
    load_inner(path, backend, None)
}

/// `load`, also returning the SHA-256 of the bytes it loaded (the .gguf file, or a folder's
/// *.safetensors in name order), so a model is identified by what ran, read once.
pub fn load_hashed(path: &Path, backend: Backend) -> CliResult<(AnyEngine, String)> {
    let mut h = Sha256::new();
    let engine = load_inner(path, backend, Some(&mut h))?;
    Ok((engine, format!("{:x}", h.finalize())))
}

/// SHA-256 of a model without loading it (as `load_hashed` computes it).
pub fn sha256_of(path: &Path) -> CliResult<String> {
    let mut h = Sha256::new();
    if path.is_dir() {
        for f in safetensors_files(path)? {
            h.update(read_bytes(&f)?);
        }
    } else {
        h.update(&map_bytes(path)?[..]);
    }
    Ok(format!("{:x}", h.finalize()))
}

/// A folder's *.safetensors files in name order.
fn safetensors_files(path: &Path) -> CliResult<Vec<std::path::PathBuf>> {
    let entries = fs::read_dir(path).map_err(|source| CliError::Io { path: path.to_path_buf(), source })?;
    let mut files: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|f| f.extension().is_some_and(|e| e == "safetensors"))
        .collect();
    files.sort();
    Ok(files)
}

fn load_inner(path: &Path, backend: Backend, mut hash: Option<&mut Sha256>) -> CliResult<AnyEngine> {
    let mut note = |m: String| progress(&m);
    let t = Instant::now();
    let name = path.display().to_string();
    let mut engine = if path.is_dir() {
        let read = |file: &str| read_bytes(&path.join(file));
        let mut shards = Vec::new();
        for f in safetensors_files(path)? {
            progress(&format!("reading {}", f.display()));
            let bytes = read_bytes(&f)?;
            if let Some(h) = hash.as_deref_mut() {
                h.update(&bytes);
            }
            shards.push((f.display().to_string(), bytes));
        }
        if shards.is_empty() {
            return Err(CliError::Usage(format!("{name}: no .safetensors files in this folder")));
        }
        let config = String::from_utf8_lossy(&read("config.json")?).into_owned();
        let tokenizer = read("tokenizer.json")?;
        let optional = |file: &str| -> CliResult<Option<Vec<u8>>> {
            let p = path.join(file);
            if p.exists() {
                Ok(Some(read_bytes(&p)?))
            } else {
                Ok(None)
            }
        };
        let tok_config = optional("tokenizer_config.json")?;
        let chat_template = optional("chat_template.jinja")?;
        let text = HfText {
            tokenizer_json: &tokenizer,
            tokenizer_config_json: tok_config.as_deref(),
            chat_template: chat_template.as_deref(),
        };
        pollster::block_on(AnyEngine::from_safetensors(&name, shards, &config, text, backend.choice(), &mut note))?
    } else {
        progress(&format!("reading {name}"));
        let bytes = map_bytes(path)?;
        if let Some(h) = hash {
            h.update(&bytes[..]);
        }
        pollster::block_on(AnyEngine::from_gguf(&name, bytes, backend.choice(), &mut note))?
    };
    engine.on_notice(|m| progress(&m));
    let c = engine.config();
    progress(&format!(
        "loaded {name}: {:?}, {} layers, hidden {}, vocab {}, on {} ({:.1}s)",
        c.arch,
        c.num_layers,
        c.hidden_size,
        c.vocab_size,
        engine.describe(),
        t.elapsed().as_secs_f64()
    ));
    Ok(engine)
}

fn required_role(table: &Table, role: Role) -> CliResult<usize> {
    table.roles.get(role).ok_or_else(|| {
        CliError::Usage(format!(
            "{}: no {} column (looked for {}); name it with --{}-column",
            table.file,
            role.name(),
            role.aliases().join(", "),
            role.name()
        ))
    })
}

/// One prompt per row, its system message the row's system column, else `instruction`
/// (`Table::system_message`).
pub fn prompts(table: &Table, instruction: Option<&str>) -> CliResult<Vec<Prompt>> {
    let p = required_role(table, Role::Prompt)?;
    Ok((0..table.rows.len())
        .map(|r| Prompt { system: table.system_message(r, instruction), text: table.get(r, p).to_string() })
        .collect())
}

/// One labeled example per row, its answer as the model is taught it (`Table::answer_str`:
/// Python's `str()` of a JSON value); every row needs a non-empty answer.
pub fn examples(table: &Table, instruction: Option<&str>) -> CliResult<Vec<Example>> {
    let a = required_role(table, Role::Answer)?;
    let prompts = prompts(table, instruction)?;
    let mut missing = Vec::new();
    let examples = prompts
        .into_iter()
        .enumerate()
        .map(|(r, p)| {
            let answer = table.answer_str(r).unwrap_or_else(|| {
                missing.push(Error::MissingValue { at: table.location(r, a) });
                String::new()
            });
            Example { system: p.system, prompt: p.text, answer }
        })
        .collect();
    match missing.len() {
        0 => Ok(examples),
        1 => Err(missing.remove(0).into()),
        _ => Err(Error::Many(missing).into()),
    }
}

/// Prints progress on stderr, at most once per finished item (the engine also reports between
/// decode steps, often with nothing new finished).
pub fn progress_printer() -> impl FnMut(Progress) {
    let start = Instant::now();
    let mut last = None;
    move |p| {
        if last.replace(p) == Some(p) {
            return;
        }
        let (what, done, total) = match p {
            Progress::Scoring { done, total } => ("scored", done, total),
            Progress::Gradients { done, total } => ("gradients of", done, total),
        };
        let secs = start.elapsed().as_secs_f64();
        if done == 0 {
            eprintln!("labelcast: {what} 0/{total}");
        } else {
            let eta = secs / done as f64 * (total - done) as f64;
            eprintln!("labelcast: {what} {done}/{total} ({secs:.0}s, about {eta:.0}s left)");
        }
    }
}

/// An engine error about one row of `table`, with the row named as the file's reader knows it
/// (line and id): the engine's message counts the rows of its list ("row 3: …"), the person
/// knows the file. `too_long_hint` follows a too-long row's message (the flag that cuts it).
pub fn named_row(table: &Table, e: labelcast_engine::EngineError, too_long_hint: &str) -> CliError {
    let Some(row) = e.item() else { return e.into() };
    let hint = if matches!(e, labelcast_engine::EngineError::SequenceTooLong { .. }) { too_long_hint } else { "" };
    CliError::Row(format!("{}, {}: {}{hint}", table.file, table.row_name(row), e.detail()))
}

/// The first few names, and how many more.
pub fn list_names(names: &[String]) -> String {
    match names.len() {
        0..=5 => names.join(", "),
        n => format!("{} and {} more", names[..5].join(", "), n - 5),
    }
}
