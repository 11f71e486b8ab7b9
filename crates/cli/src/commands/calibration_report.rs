//! `labelcast calibration-report`: docs/calibration.md from a results file — the per-task
//! table, a scatter plot per family (SVG), every fit tried with its out-of-sample errors, the
//! band's coverage and the run's time — and the fit as JSON beside the results, which a test
//! checks against what labelcast-core derives from the results.

use std::fmt::Write;
use std::path::PathBuf;

use labelcast_core::band::PAPER_PREDICTION_ERROR;
use labelcast_core::suite::chart::calibration_svg_labelled;
use labelcast_core::suite::fit::Feature;
use labelcast_core::suite::proxy::{proxy_sets, ProxySet, MIN_TASKS_PER_PARAMETER};
use labelcast_core::suite::{CoslowParts, SuiteResults, TaskRun};
use labelcast_core::Error;
use serde_json::json;

use super::coefsets::proxy_json;
use crate::error::CliResult;
use crate::io::{progress, read_bytes, write_atomic};

#[derive(clap::Args)]
pub struct Args {
    /// A results file of `labelcast calibrate-suite`.
    #[arg(long)]
    results: PathBuf,
    /// The report (Markdown); its SVG plots go into a folder of the same name without `.md`.
    #[arg(long, default_value = "docs/calibration.md")]
    out: PathBuf,
    /// The fit as JSON (default: the results file with `.fit.json`).
    #[arg(long)]
    fit: Option<PathBuf>,
}

fn spread(t: &TaskRun, f: impl Fn(&labelcast_core::suite::DrawRun) -> Option<f64>) -> String {
    let v: Vec<f64> = t.draws.iter().filter_map(f).collect();
    if v.is_empty() {
        return "–".into();
    }
    let m = v.iter().sum::<f64>() / v.len() as f64;
    let (lo, hi) = v.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
    if v.len() == 1 {
        format!("{m:.3}")
    } else {
        format!("{m:.3} ({lo:.3}–{hi:.3})")
    }
}

fn features(f: &[Feature]) -> String {
    if f.is_empty() {
        "constant (mean AUC)".into()
    } else {
        f.iter().map(|f| f.name()).collect::<Vec<_>>().join(" + ")
    }
}

fn command(r: &SuiteResults, results: &str) -> String {
    let s = &r.settings;
    let mut c = format!("labelcast calibrate-suite --model models/{} --tasks ../shared/tasks", r.model.file);
    if let Some(n) = s.pool_sample {
        let _ = write!(c, " --pool-sample {n} --sample-seed {}", s.sample_seed);
    }
    let _ = write!(c, " --draws {}", s.draws);
    if s.skip_first {
        c += " --skip-first";
    }
    let _ = write!(c, " --backend cpu --out {results}");
    c
}

/// A p-value with the digits its shuffles support (at best 1/(permutations + 1)).
pub(crate) fn p_value(p: f64, permutations: usize) -> String {
    let floor = 1.0 / (permutations + 1) as f64;
    if p <= floor {
        format!("≤ {floor:.4}")
    } else if p < 0.01 {
        format!("{p:.4}")
    } else {
        format!("{p:.2}")
    }
}

fn permutation_words(p: &ProxySet) -> String {
    match p.coslow_permutation {
        Some(t) if t.p < p.permutation_level => {
            format!("found it better than chance (p = {}), so it may be used that way", p_value(t.p, t.permutations))
        }
        Some(t) => format!(
            "found it no better than chance (p = {}, needed < {:.4}), so no fit that uses CoS-Low that way is chosen",
            p_value(t.p, t.permutations),
            p.permutation_level
        ),
        None => "could not be run, so no fit that uses CoS-Low that way is chosen".into(),
    }
}

fn family_section(md: &mut String, p: &ProxySet, svg_rel: &str) {
    let _ = writeln!(md, "\n## {} → {}\n", p.model.label, p.family_label);
    let _ = writeln!(md, "![CoS-Low against measured AUC]({svg_rel})\n");
    let verdict = if p.beats_baseline {
        format!("shipped: AUC' = {} (LOO error {:.3})", p.model_fit.formula(), p.loo_auc_mae)
    } else if p.n < 2 * MIN_TASKS_PER_PARAMETER {
        format!(
            "shipped: **the constant baseline** — {} tasks are too few for any fit (one parameter per \
             {MIN_TASKS_PER_PARAMETER} tasks), so the page and the CLI show the average task's budget \
             with the baseline's band and say so",
            p.n
        )
    } else {
        "shipped: **the constant baseline** — nothing beat the mean AUC out of sample, so the page \
         and the CLI show the average task's budget with the baseline's band and say so"
            .into()
    };
    let _ = writeln!(md, "{n} tasks. {verdict}.\n", n = p.n);
    let _ = writeln!(md, "| | value |\n|---|---|");
    let _ = writeln!(
        md,
        "| CoS-Low alone: AUC' = {} | R² {:.2}, LOO MAE {:.3} |",
        p.coslow_fit.formula(),
        p.coslow_r2,
        p.coslow_loo_mae
    );
    let _ = writeln!(md, "| constant baseline (mean AUC) | LOO MAE {:.3} |", p.baseline_loo_auc_mae);
    if let Some(t) = p.coslow_permutation {
        let _ = writeln!(
            md,
            "| permutation test of CoS-Low alone (either sign; {} shuffles of the AUCs) | p = {} (needed < {:.4}) |",
            t.permutations,
            p_value(t.p, t.permutations),
            p.permutation_level
        );
    }
    let _ = writeln!(
        md,
        "| nested LOO (choose between the constant and CoS-Low, then fit) | MAE {} |",
        p.coslow_choice_nested_loo_mae.map_or("–".into(), |v| format!("{v:.3}"))
    );
    let _ = writeln!(md, "| nested LOO (choose among the candidates, then fit) | MAE {:.3} |", p.nested_loo_auc_mae);
    let _ = writeln!(md, "| the paper's own error (its models' CoS-Low) | {:.3} |", PAPER_PREDICTION_ERROR);
    let _ = writeln!(md, "| shipped fit: R² / LOO MAE | {:.2} / {:.3} |", p.r2, p.loo_auc_mae);
    let _ = writeln!(md, "| 90% budget, LOO, typical factor off | ×{:.2} |", p.loo_budget90_factor);
    let _ = writeln!(
        md,
        "| 90% band (conformal, from the LOO residuals) | ±{:.3} AUC; held {:.0}% of held-out tasks |",
        p.band.1,
        p.coverage * 100.0
    );
    let _ = writeln!(md, "\nEvery candidate, leave-one-out MAE of AUC (per draw, tasks weighed equally):\n");
    let _ = writeln!(md, "| features | LOO MAE | vs baseline | fitted on every task |\n|---|---|---|---|");
    let mut tried = p.tried.clone();
    tried.sort_by(|a, b| a.loo_auc_mae.total_cmp(&b.loo_auc_mae));
    for t in &tried {
        let note = if t.features.iter().any(|f| !f.shippable()) {
            " (tried only: a user's run does not compute it yet)"
        } else {
            ""
        };
        let _ = writeln!(
            md,
            "| {}{note} | {:.3} | {:+.3} | {} |",
            features(&t.features),
            t.loo_auc_mae,
            t.loo_auc_mae - p.baseline_loo_auc_mae,
            t.fit.as_ref().map_or("–".into(), |f| format!("AUC' = {}", f.formula()))
        );
    }
}

pub fn run(a: Args) -> CliResult<()> {
    let name = a.results.display().to_string();
    let r = SuiteResults::from_json(&name, &String::from_utf8_lossy(&read_bytes(&a.results)?))?;
    let sets = proxy_sets(&r);
    let svg_dir = a.out.with_extension("");
    std::fs::create_dir_all(&svg_dir).map_err(|source| crate::error::CliError::Io { path: svg_dir.clone(), source })?;
    let dir_name = svg_dir.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();

    let mut md = String::new();
    let secs: f64 = r.tasks.iter().map(|t| t.seconds_scoring + t.seconds_coslow).sum();
    let _ = writeln!(md, "# Calibrating {}'s CoS-Low against the paper's measured data efficiency\n", r.model.label);
    let _ = writeln!(
        md,
        "Generated by `labelcast calibration-report --results {name}` from the results of\n\n```sh\n{}\n```\n\n\
         Model file `{}` (sha256 `{}`). {} tasks, {} draws of {} each (draw d: selection seed d and LoRA seed d), \
         rank {}, alpha {}, {} rows scored per task{}. Machine: {}. The run took {:.0} min of compute \
         ({:.0} min scoring, {:.0} min CoS-Low).\n",
        command(&r, &name),
        r.model.file,
        r.model.sha256,
        r.tasks.len(),
        r.settings.draws,
        r.settings.k,
        r.settings.rank,
        r.settings.alpha,
        r.settings.pool_sample.map_or("all".into(), |n| format!("at most {n} (a seeded sample)")),
        if r.settings.pool_sample == Some(320) {
            ": the bottom decile of 320 is exactly 32 rows, so the draws differ in their LoRA seed only"
        } else {
            ""
        },
        r.machine,
        secs / 60.0,
        r.tasks.iter().map(|t| t.seconds_scoring).sum::<f64>() / 60.0,
        r.tasks.iter().map(|t| t.seconds_coslow).sum::<f64>() / 60.0,
    );
    let _ = writeln!(
        md,
        "## How a set is chosen\n\n\
         Every error below is leave-one-out: each task is predicted, draw by draw (a user has one \
         draw of 32), by a fit on the other tasks. The candidates are the constant (the other \
         tasks' mean AUC), each feature alone and CoS-Low with each other feature, at most one \
         parameter per {MIN_TASKS_PER_PARAMETER} tasks. CoS-Low ships only if choosing between it \
         and the constant, judged by nested leave-one-out (the choice made without the held-out \
         task), beats the constant, and with a positive slope: every published family's is \
         positive (gradients that agree, a more data-efficient task). A CoS-Low fit the other way \
         round ships only if it also passes a permutation test, fixed before its outcome was \
         known: its leave-one-out error must be lower than with the AUCs shuffled among the tasks \
         in all but a share p of {perms} shuffles, with p below {alpha} shared among the {fams} \
         families (p < {level:.4}). Every other variant of CoS-Low in any fit needs the positive sign. A richer fit ships only if choosing among all the \
         candidates, nested the same way, beats CoS-Low alone. Features a user's run does not \
         compute (CoS-Low without the first answer token, CoS-Low by part of the gradient) are \
         tried and reported, never shipped. The band is the split-conformal 90% interval of the \
         shipped fit's leave-one-out residuals; its coverage is checked with each task's band \
         built from the other tasks alone.\n",
        perms = labelcast_core::suite::permutation::PERMUTATIONS,
        alpha = labelcast_core::suite::permutation::ALPHA,
        fams = labelcast_core::forecast::families().len(),
        level = labelcast_core::suite::permutation::level(labelcast_core::forecast::families().len()),
    );
    let _ = writeln!(md, "## Summary\n");
    for p in &sets {
        let what = if p.beats_baseline {
            format!(
                "ships AUC' = {} (LOO MAE {:.3} against the average task's {:.3})",
                p.model_fit.formula(),
                p.loo_auc_mae,
                p.baseline_loo_auc_mae
            )
        } else {
            format!(
                "ships the average task: CoS-Low alone missed by {:.3} out of sample, the average task by {:.3}, \
                 choosing between the two by {}, choosing among every candidate by {:.3}{}",
                p.coslow_loo_mae,
                p.baseline_loo_auc_mae,
                p.coslow_choice_nested_loo_mae.map_or("–".into(), |v| format!("{v:.3}")),
                p.nested_loo_auc_mae,
                if p.coslow_opposite {
                    format!(
                        "; CoS-Low's slope came out {:.3}, the opposite of the paper's (higher CoS-Low, less \
                         data-efficient), and the permutation test {}",
                        p.coslow_fit.weights[0],
                        permutation_words(p)
                    )
                } else {
                    String::new()
                }
            )
        };
        let _ = writeln!(
            md,
            "- **{}** ({} tasks): {what}. Its 90% band held {:.0}% of the held-out tasks{}.",
            p.family_label,
            p.n,
            p.coverage * 100.0,
            if p.coverage < 0.85 {
                " — fewer than 90%: these tasks are not as alike as the conformal promise assumes"
            } else {
                ""
            }
        );
    }
    let _ = writeln!(md, "\n## Per task\n\nCoS-Low: mean over draws (range). AUC: the paper's, per family.\n");
    let _ = writeln!(md, "| task | fidelity | CoS-Low | centered | w/o 1st token | pool conf. | Llama | Mistral | Qwen |\n|---|---|---|---|---|---|---|---|---|");
    for t in &r.tasks {
        let auc = |f: &str| t.paper_auc.get(f).copied().flatten().map_or("–".into(), |v| format!("{v:.3}"));
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {:.3} | {} | {} | {} |",
            t.task,
            t.fidelity,
            spread(t, |d| Some(d.coslow)),
            spread(t, |d| Some(d.coslow_centered)),
            spread(t, |d| d.coslow_skip_first),
            t.pool.mean_avg_confidence,
            auc("llama-3.1-8b-instruct"),
            auc("mistral-7b-instruct-v0.3"),
            auc("qwen2.5-14b-instruct")
        );
    }
    if r.tasks.iter().any(|t| t.draws.iter().any(|d| d.coslow_parts.is_some())) {
        let _ =
            writeln!(md, "\nCoS-Low by part of the gradient (mean over draws; – where the run did not record it):\n");
        let _ = writeln!(md, "| task | early layers | middle | late | attention | MLP |\n|---|---|---|---|---|---|");
        for t in &r.tasks {
            let part = |f: fn(&CoslowParts) -> f64| spread(t, |d| d.coslow_parts.as_ref().map(f));
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} |",
                t.task,
                part(|p| p.early),
                part(|p| p.middle),
                part(|p| p.late),
                part(|p| p.attention),
                part(|p| p.mlp)
            );
        }
    }
    let mut fit = Vec::new();
    for p in &sets {
        let file = format!("{}.svg", p.family);
        let svg = calibration_svg_labelled(p, 640.0, 400.0);
        write_atomic(&svg_dir.join(&file), svg.as_bytes())?;
        family_section(&mut md, p, &format!("{dir_name}/{file}"));
        fit.push(proxy_json(p));
    }
    write_atomic(&a.out, md.as_bytes())?;
    let fit_path = a.fit.clone().unwrap_or_else(|| a.results.with_extension("fit.json"));
    let text = serde_json::to_string_pretty(&json!({"results": name, "proxy": fit}))
        .map_err(|e| Error::Invalid(e.to_string()))?;
    write_atomic(&fit_path, text.as_bytes())?;
    progress(&format!(
        "wrote {}, {} plots in {} and {}",
        a.out.display(),
        sets.len(),
        svg_dir.display(),
        fit_path.display()
    ));
    Ok(())
}
