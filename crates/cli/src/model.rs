//! Loading a model for the model-based subcommands, and turning table rows into prompts and
//! labeled examples.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use labelcast_core::table::{Role, Table};
use labelcast_core::Error;
use labelcast_engine::model::HfText;
use labelcast_engine::{AnyEngine, BackendChoice, Example, LongRows, Progress, Prompt};
use labelcast_modelfile::folder::{self, ModelSet, Picked, Probe};

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

/// `--long-prompts`' and `--long-examples`' parser: core's `LongRows` by its names, each with
/// what it does to a scored prompt and to a CoS-Low example.
pub fn long_rows_values() -> impl TypedValueParser<Value = LongRows> {
    let value = |l: LongRows| {
        PossibleValue::new(l.name()).help(match l {
            LongRows::Cut => {
                "Cut the prompt's text from the end so it fits with room for the answer (scoring: the row is \
                 scored on its beginning and the output's `cut` column says so; CoS-Low: the answer is kept whole \
                 and the run says which examples were cut)"
            }
            LongRows::Skip => {
                "Leave the row out (scoring: no scores, the output's `skipped` column says so, and selection never \
                 picks it; CoS-Low: compares the other examples) and name it"
            }
            LongRows::Fail => "Stop with an error naming the row",
        })
    };
    // The parser has checked the name against these very values.
    PossibleValuesParser::new(LongRows::ALL.map(value))
        .map(|name| LongRows::ALL.into_iter().find(|l| l.name() == name).unwrap_or_default())
}

/// `--backend`'s parser: `BackendChoice`'s command-line names, each with its help.
pub fn backend_values() -> impl TypedValueParser<Value = BackendChoice> {
    let value = |c: BackendChoice| {
        PossibleValue::new(c.name()).help(match c {
            BackendChoice::Gpu => "WGSL kernels on wgpu (Vulkan, Metal); software adapters such as lavapipe included",
            BackendChoice::Cpu => "candle on the CPU",
            BackendChoice::Auto => "A hardware GPU when one is found, else the CPU",
        })
    };
    // The help has always listed auto, the default, last (`ALL` starts with it).
    let mut order = BackendChoice::ALL;
    order.rotate_left(1);
    PossibleValuesParser::new(order.map(value)).try_map(|name| name.parse::<BackendChoice>())
}

impl Template {
    pub fn is_chat(self) -> bool {
        self == Template::Chat
    }
}

/// Loads `--model`: a .gguf file, or a folder holding one or a safetensors model's files, as
/// `labelcast_modelfile::folder` (the page's rule too) tells them: *.safetensors,
/// config.json, tokenizer.json, tokenizer_config.json and chat_template.jinja (which wins)
/// for the chat template, model.safetensors.index.json for which shards.
pub fn load(path: &Path, backend: BackendChoice) -> CliResult<AnyEngine> {
    load_inner(path, backend, None)
}

/// `load`, also returning the SHA-256 of the bytes it loaded (the .gguf file, or a folder's
/// shards in name order), so a model is identified by what ran, read once.
pub fn load_hashed(path: &Path, backend: BackendChoice) -> CliResult<(AnyEngine, String)> {
    let mut h = Sha256::new();
    let engine = load_inner(path, backend, Some(&mut h))?;
    Ok((engine, format!("{:x}", h.finalize())))
}

/// SHA-256 of a model without loading it (as `load_hashed` computes it).
pub fn sha256_of(path: &Path) -> CliResult<String> {
    let mut h = Sha256::new();
    match resolve(path)? {
        Model::Gguf(file) => h.update(&map_bytes(&file)?[..]),
        Model::Safetensors(files) => {
            for f in files.shards {
                h.update(read_bytes(&f)?);
            }
        }
    }
    Ok(format!("{:x}", h.finalize()))
}

/// What `--model` names.
enum Model {
    Gguf(PathBuf),
    Safetensors(SafetensorsFiles),
}

struct SafetensorsFiles {
    /// In the order they are read and hashed.
    shards: Vec<PathBuf>,
    config: PathBuf,
    tokenizer: PathBuf,
    tokenizer_config: Option<PathBuf>,
    chat_template: Option<PathBuf>,
}

/// A path as given, or the model a folder's files make up; what is missing or wrong is one
/// message (the page's for the same files), and what is left out is said.
fn resolve(path: &Path) -> CliResult<Model> {
    if !path.is_dir() {
        return Ok(Model::Gguf(path.to_path_buf()));
    }
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| CliError::Io { path, source }
    };
    let mut paths = Vec::new();
    for entry in fs::read_dir(path).map_err(io(path))? {
        let p = entry.map_err(io(path))?.path();
        // is_file follows links: a Hugging Face cache's snapshot folder links to its blobs.
        if p.is_file() {
            paths.push(p);
        }
    }
    paths.sort();
    let mut picked = Vec::with_capacity(paths.len());
    for p in &paths {
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let size = fs::metadata(p).map_err(io(p))?.len() as f64;
        let bytes = match folder::probe(&name, size) {
            Probe::Nothing => Vec::new(),
            Probe::Whole => read_bytes(p)?,
            Probe::Head(n) => {
                let head = read_head(p, n.into())?;
                match folder::header_end(&name, &head) {
                    Some(end) => read_head(p, end)?,
                    None => head,
                }
            }
        };
        picked.push(Picked { name, size, path: Vec::new(), bytes });
    }
    let c = folder::classify(&picked).map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))?;
    for note in &c.notes {
        progress(&format!("{}: {note}", path.display()));
    }
    let at = |i: usize| paths[i].clone();
    Ok(match c.set {
        ModelSet::Gguf(i) => Model::Gguf(at(i)),
        ModelSet::Safetensors(s) => Model::Safetensors(SafetensorsFiles {
            shards: s.shards.into_iter().map(at).collect(),
            config: at(s.config),
            tokenizer: at(s.tokenizer),
            tokenizer_config: s.tokenizer_config.map(at),
            chat_template: s.chat_template.map(at),
        }),
    })
}

/// The first `n` bytes of a file (all of it if shorter).
fn read_head(path: &Path, n: u64) -> CliResult<Vec<u8>> {
    let io = |source| CliError::Io { path: path.to_path_buf(), source };
    let mut head = Vec::new();
    fs::File::open(path).and_then(|f| f.take(n).read_to_end(&mut head)).map_err(io)?;
    Ok(head)
}

fn load_inner(path: &Path, backend: BackendChoice, mut hash: Option<&mut Sha256>) -> CliResult<AnyEngine> {
    let mut note = |m: String| progress(&m);
    let t = Instant::now();
    let name = path.display().to_string();
    let mut engine = match resolve(path)? {
        Model::Safetensors(files) => {
            let mut shards = Vec::new();
            for f in &files.shards {
                progress(&format!("reading {}", f.display()));
                let bytes = read_bytes(f)?;
                if let Some(h) = hash.as_deref_mut() {
                    h.update(&bytes);
                }
                shards.push((f.display().to_string(), bytes));
            }
            let config = String::from_utf8_lossy(&read_bytes(&files.config)?).into_owned();
            let tokenizer = read_bytes(&files.tokenizer)?;
            let tok_config = files.tokenizer_config.as_deref().map(read_bytes).transpose()?;
            let chat_template = files.chat_template.as_deref().map(read_bytes).transpose()?;
            let text = HfText {
                tokenizer_json: &tokenizer,
                tokenizer_config_json: tok_config.as_deref(),
                chat_template: chat_template.as_deref(),
            };
            pollster::block_on(AnyEngine::from_safetensors(&name, shards, &config, text, backend, &mut note))?
        }
        Model::Gguf(file) => {
            // The file, not its folder, is what the engine's messages name.
            let file_name = file.display().to_string();
            progress(&format!("reading {file_name}"));
            let bytes = map_bytes(&file)?;
            if let Some(h) = hash {
                h.update(&bytes[..]);
            }
            pollster::block_on(AnyEngine::from_gguf(&file_name, bytes, backend, &mut note))?
        }
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

#[cfg(test)]
#[path = "model_tests.rs"]
mod tests;
