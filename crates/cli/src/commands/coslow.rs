use std::path::PathBuf;
use std::time::Instant;

use labelcast_core::table::{ReadOptions, Table};
use labelcast_core::words;
use labelcast_engine::backend::gpu::GRAD_BATCH_TOKENS;
use labelcast_engine::grad::{AdapterInit, Reduction};
use labelcast_engine::{AnyEngine, BackendChoice, CosLowResult, GradVariant, LongRows, LoraOptions};
use serde_json::{json, Value};

use crate::error::{CliError, CliResult};
use crate::io::{progress, read_bytes, read_table_file};
use crate::model::{self, Template};

/// Arguments shared by `coslow` and the model form of `forecast`.
#[derive(clap::Args)]
pub struct CosLowArgs {
    /// A .gguf file, or a folder with *.safetensors, config.json and tokenizer.json.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Labeled examples (CSV/JSONL with prompt and answer columns).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// chat: the prompt goes into the model's chat template; raw: the prompt is used as written.
    #[arg(long, value_enum, default_value_t = Template::Chat)]
    pub template: Template,
    /// LoRA rank r (METHOD.md 1d: 64).
    #[arg(long, default_value_t = labelcast_core::method::LORA_RANK)]
    pub rank: usize,
    /// LoRA alpha (METHOD.md 1d: 32).
    #[arg(long, default_value_t = labelcast_core::method::LORA_ALPHA)]
    pub alpha: f64,
    /// Seed of the LoRA A matrices (PEFT's kaiming-uniform distribution).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// LoRA A matrices from a PEFT safetensors file instead of the seed (to reproduce a PyTorch run).
    #[arg(long)]
    pub lora_a: Option<PathBuf>,
    /// Compare full projection-weight gradients instead of LoRA-B gradients.
    #[arg(long)]
    pub exact: bool,
    /// Floats kept per example's LoRA gradient: exact when it fits, else a count-sketch this size
    /// (at most; --gradient-memory may keep fewer). With --exact: the memory allowed, this many
    /// f32 per example (refused up front if short).
    #[arg(long)]
    pub budget: Option<usize>,
    /// The most memory the kept gradients of all the examples may take ("2GiB", "1.5GB", bytes):
    /// each example's LoRA gradient is kept whole where it fits, else as a count-sketch that
    /// fits, whose added error is said (an 8B model's gradient is 88 M floats). With --exact,
    /// the memory for the gradients' factors. Default on the CPU: half of the memory the system
    /// reports available; on a GPU, --budget alone (no API says how much memory a GPU has).
    #[arg(long, value_parser = labelcast_core::words::parse_bytes)]
    pub gradient_memory: Option<u64>,
    /// The most memory one pack of examples may keep for the backward pass ("4GiB", bytes; a
    /// 512-token pack of a 14B model keeps 9 GB): above it each layer is computed again in the
    /// backward pass (the same result, 1.26x the time for a 14B on the CPU), and only where even
    /// that does not fit do packs hold fewer tokens (slower still, as the weights are read once a
    /// pack; float rounding may change). Default on the CPU: a quarter of the memory the system
    /// reports available, else 2 GiB; on a GPU, 2 GiB.
    #[arg(long, value_parser = labelcast_core::words::parse_bytes)]
    pub activation_memory: Option<u64>,
    /// gpu: WGSL kernels on wgpu (Vulkan/Metal); cpu: candle; auto: a hardware GPU if there is one.
    #[arg(long, value_parser = model::backend_values(), default_value_t = BackendChoice::Auto)]
    pub backend: BackendChoice,
    /// An example longer than the model's context: cut its prompt's text to fit (the answer is
    /// kept whole; the run says which were cut), skip it (CoS-Low compares the others; the run
    /// names them), or fail naming the row.
    #[arg(long, value_parser = model::long_rows_values(), default_value_t = LongRows::Cut)]
    pub long_examples: LongRows,
    /// The task's instruction, the system message of every row whose file gives none (no system
    /// or instruction column, or an empty cell); with --template chat.
    #[arg(long)]
    pub instruction: Option<String>,
}

impl CosLowArgs {
    /// Runs CoS-Low on the labeled rows; returns the result and the seconds it took.
    pub fn run(&self) -> CliResult<(CosLowResult, f64)> {
        self.run_with_table().map(|(r, s, _, _)| (r, s))
    }

    /// `run`, also returning the labeled table (its answers and scores feed a proxy set) and
    /// the SHA-256 of the model it loaded (which picks the proxy set).
    pub fn run_with_table(&self) -> CliResult<(CosLowResult, f64, Table, String)> {
        let (Some(model_path), Some(data)) = (&self.model, &self.data) else {
            return Err(CliError::Usage("CoS-Low needs --model and --data (labeled examples)".into()));
        };
        let table = read_table_file(data, &ReadOptions::default())?;
        let examples = model::examples(&table, self.instruction.as_deref())?;
        let (engine, sha256) = model::load_hashed(model_path, self.backend)?;
        let mut opts = LoraOptions {
            variant: if self.exact { GradVariant::Exact } else { GradVariant::Lora },
            rank: self.rank,
            alpha: self.alpha,
            init: AdapterInit::Seeded(self.seed),
            chat_template: self.template.is_chat(),
            long_examples: self.long_examples,
            ..LoraOptions::default()
        };
        if let Some(path) = &self.lora_a {
            opts.init = AdapterInit::Safetensors(read_bytes(path)?);
        }
        // The exact variant keeps its factors in host memory on either backend; LoRA's kept
        // gradients live on the GPU where it computes.
        let in_host = self.exact || engine.gpu().is_none();
        let available = available_memory();
        let bound = gradient_memory(self.gradient_memory, in_host, available);
        opts.pack_bytes = Some(pack_bytes(&engine, self.activation_memory, available, opts.pack_tokens));
        match (self.budget, self.exact, &bound) {
            (Some(b), _, _) => opts.budget = b,
            (None, true, Some((bytes, why))) => {
                progress(&format!("--exact: up to {} for the gradients' factors ({why})", words::bytes(*bytes as f64)));
                opts.budget = usize::try_from(bytes / (4 * examples.len().max(1) as u64)).unwrap_or(usize::MAX);
            }
            (None, true, None) => progress(&format!(
                "--exact: this system does not report its available memory; allowing {} floats per example \
                 (--gradient-memory or --budget sets it)",
                opts.budget
            )),
            (None, false, _) => {}
        }
        if !self.exact {
            opts.store_bytes = bound.as_ref().map(|b| b.0);
        }
        progress(&format!(
            "per-example gradients of {} examples (the loss ignores {})",
            examples.len(),
            engine.text().special.exclusion.describe()
        ));
        let start = Instant::now();
        let result = pollster::block_on(engine.coslow(&examples, &opts, model::progress_printer()))
            .map_err(|e| model::named_row(&table, e, " (--long-examples cut keeps the answer and cuts the prompt)"))?;
        let ctx = engine.config().max_position_embeddings;
        let named = |f: &dyn Fn(usize) -> bool| -> Vec<String> {
            (0..examples.len()).filter(|&i| f(i)).map(|i| table.row_name(i)).collect()
        };
        let cut = named(&|i| result.cut.get(i).is_some_and(Option::is_some));
        if !cut.is_empty() {
            progress(&format!(
                "{} examples were longer than the model's context of {ctx} tokens: their prompts were cut from \
                 the end to fit, answers kept whole ({}; --long-examples skip leaves them out, fail stops instead)",
                cut.len(),
                model::list_names(&cut)
            ));
        }
        let skipped = named(&|i| result.skipped.get(i).is_some_and(Option::is_some));
        if !skipped.is_empty() {
            progress(&format!(
                "{} examples were longer than the model's context of {ctx} tokens and were left out: CoS-Low \
                 compares the other {} ({}; --long-examples cut keeps them, their prompts cut)",
                skipped.len(),
                result.examples,
                model::list_names(&skipped)
            ));
        }
        if let (Some(Reduction::Sketch { size, .. }), Some(sd)) = (result.reduction, result.sketch_sd) {
            let within =
                bound.map_or_else(String::new, |(b, why)| format!(" within {} ({why})", words::bytes(b as f64)));
            progress(&format!(
                "the gradients did not fit the budget{within} and were kept as count-sketches of {size} buckets: \
                 each cosine near CoS-Low carries about ±{sd:.1e} (one standard deviation) from the sketch \
                 (--gradient-memory or --budget sets it)"
            ));
        }
        Ok((result, start.elapsed().as_secs_f64(), table, sha256))
    }
}

/// The memory bound of the kept gradients and where it comes from: `flag`, else, where they are
/// kept `in_host` memory, half of the `available` memory; None (no bound beyond --budget) on a
/// GPU, or where the system does not say.
fn gradient_memory(flag: Option<u64>, in_host: bool, available: Option<u64>) -> Option<(u64, String)> {
    match (flag, in_host, available) {
        (Some(b), _, _) => Some((b, "--gradient-memory".into())),
        (None, true, Some(avail)) => {
            Some((avail / 2, format!("half of the {} this system has available", words::bytes(avail as f64))))
        }
        _ => None,
    }
}

/// The activation memory of one pack on `engine`'s backend (`flag`, else `activation_memory`'s
/// default from the system's `available` memory), said in a progress line with the pack it
/// allows (`pack_tokens`: the CPU's).
pub(crate) fn pack_bytes(engine: &AnyEngine, flag: Option<u64>, available: Option<u64>, pack_tokens: usize) -> u64 {
    let on_gpu = engine.gpu().is_some();
    let (bytes, why) = activation_memory(flag, available, on_gpu);
    let (kept, again) = engine.tokens_within(bytes, 0.0);
    let tokens = again.min(if on_gpu { GRAD_BATCH_TOKENS } else { pack_tokens });
    let hint = if flag.is_some() { "" } else { "; --activation-memory sets it" };
    let recompute = if kept < tokens {
        format!(", each layer computed again in the backward pass above about {kept} tokens")
    } else {
        String::new()
    };
    progress(&format!(
        "examples run in packs of up to {tokens} tokens{recompute}: activations within {} ({why}{hint})",
        words::bytes(bytes as f64)
    ));
    bytes
}

/// The activation memory of a pack and where it comes from: `flag`, else on the CPU a quarter
/// of the `available` memory (the kept gradients may take half), else
/// `FALLBACK_ACTIVATION_MEMORY`.
fn activation_memory(flag: Option<u64>, available: Option<u64>, on_gpu: bool) -> (u64, String) {
    match (flag, on_gpu, available) {
        (Some(b), _, _) => (b, "--activation-memory".into()),
        (None, true, _) => (FALLBACK_ACTIVATION_MEMORY, "no API says how much memory a GPU has".into()),
        (None, false, Some(avail)) => {
            (avail / 4, format!("a quarter of the {} this system has available", words::bytes(avail as f64)))
        }
        (None, false, None) => (FALLBACK_ACTIVATION_MEMORY, "this system does not report its available memory".into()),
    }
}

/// Where the system does not say, and on a GPU: enough for SmolLM2's 512-token packs with
/// every layer kept, and for 8B- and 14B-class models' 512-token packs computing each layer
/// again.
const FALLBACK_ACTIVATION_MEMORY: u64 = 2 << 30;

/// MemAvailable of /proc/meminfo (Linux), in bytes.
pub(crate) fn available_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kb.checked_mul(1024)
}

pub fn result_json(r: &CosLowResult, seconds: f64) -> Value {
    json!({
        "coslow": r.coslow,
        "pairs": r.pairs,
        "examples": r.examples,
        "seconds": seconds,
        "reduction": format!("{:?}", r.reduction),
        "sketch_sd": r.sketch_sd,
        "losses": r.losses,
        "cut": r.cut.iter().filter(|c| c.is_some()).count(),
        "skipped": r.skipped.iter().filter(|c| c.is_some()).count(),
        "cosines": r.cosines,
    })
}

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    coslow: CosLowArgs,
    /// Print machine-readable JSON on stdout.
    #[arg(long)]
    json: bool,
}

pub fn run(a: Args) -> CliResult<()> {
    let (r, seconds) = a.coslow.run()?;
    if a.json {
        super::print_json(&result_json(&r, seconds));
    } else {
        println!(
            "CoS-Low = {:.3}  (median of {} pairwise gradient cosines over {} examples, {seconds:.0}s)",
            r.coslow, r.pairs, r.examples
        );
        // The model's own coefficient set (published or calibrated) is the one to use.
        let model = a.coslow.model.as_ref().map_or_else(String::new, |m| m.display().to_string());
        println!("forecast it with: labelcast forecast --model {model} --coslow {:.3}", r.coslow);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gradients_get_half_the_available_memory_on_the_cpu_unless_told() {
        let (b, why) = gradient_memory(None, true, Some(16 << 30)).unwrap();
        assert_eq!(b, 8 << 30);
        assert_eq!(why, "half of the 16.0 GiB this system has available");
        assert_eq!(gradient_memory(Some(1 << 30), false, None), Some((1 << 30, "--gradient-memory".into())));
        assert_eq!(gradient_memory(None, false, Some(16 << 30)), None, "a GPU's memory is not the system's");
        assert_eq!(gradient_memory(None, true, None), None);
        assert!(available_memory().is_some_and(|b| b > 0) || !cfg!(target_os = "linux"));
    }

    #[test]
    fn a_pack_gets_a_quarter_of_the_available_memory_unless_told() {
        assert_eq!(
            activation_memory(None, Some(16 << 30), false),
            (4 << 30, "a quarter of the 16.0 GiB this system has available".into())
        );
        assert_eq!(activation_memory(Some(1 << 30), Some(16 << 30), false), (1 << 30, "--activation-memory".into()));
        assert_eq!(activation_memory(Some(1 << 30), None, true), (1 << 30, "--activation-memory".into()));
        assert_eq!(activation_memory(None, None, false).0, FALLBACK_ACTIVATION_MEMORY);
        // The system's memory is not a GPU's.
        assert_eq!(activation_memory(None, Some(16 << 30), true).0, FALLBACK_ACTIVATION_MEMORY);
    }
}
