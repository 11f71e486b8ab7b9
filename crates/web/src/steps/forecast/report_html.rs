//! The forecast as a readable, self-contained HTML report: one file with inline CSS and the
//! page's own chart (`chart_svg`), the numbers of the JSON report, and the settings they came
//! from. Like the JSON report it holds no rows of the person's data (no prompt, no label), so it
//! can be shared: only counts and the model's name. Pure, so it is tested natively.

use std::fmt::Write;

use labelcast_core::band::{BandOptions, PAPER_PREDICTION_ERROR};

use crate::chart::chart_math::Frame;
use crate::format;
use crate::steps::annotate::annotate_model::{K, LORA_ALPHA, LORA_RANK, MAX_NEW_TOKENS, SEED};
use crate::steps::forecast::chart_svg::{escape, forecast_svg};
use crate::steps::forecast::forecast_model::{coslow_text, headline, over_pool, pool_note, Outcome};

/// What the report says about the work behind the forecast, beyond the forecast panel's inputs.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ReportContext {
    /// The loaded model: (the name to show, the file it was loaded from).
    pub model: Option<(String, String)>,
    /// SHA-256 of the model's bytes, which a calibration is matched by.
    pub model_sha256: Option<String>,
    pub pool_rows: Option<usize>,
    pub scored_rows: Option<usize>,
    /// Scoring and CoS-Low used the model's chat template (else the raw prompt).
    pub chat_template: bool,
}

/// The chart's rules are the page's own (`web/chart.css`); these are the report's layout and
/// the colour variables the chart's rules refer to.
const REPORT_CSS: &str = "
:root { --ink: #17202b; --muted: #566170; --faint: #8a94a3; --line: #dbe0e7; --surface: #fff;
  --accent: #1d4ed8; --band: #1d4ed8;
  --font: system-ui, -apple-system, \"Segoe UI\", Roboto, \"Helvetica Neue\", Arial, sans-serif; }
body { font-family: var(--font); color: var(--ink); max-width: 820px; margin: 32px auto; padding: 0 16px;
  line-height: 1.5; }
h1 { font-size: 1.6rem; margin-bottom: 4px; } h2 { font-size: 1.15rem; margin-top: 28px; }
.muted { color: var(--muted); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.is-key { font-weight: 600; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; }
dt { color: var(--muted); } dd { margin: 0; }
.warning { border-left: 4px solid #b45309; background: #fff7ed; padding: 8px 12px; }
figure.calibration svg { max-width: 100%; height: auto; }
";

const CHART_CSS: &str = include_str!("../../../../../web/chart.css");

fn row(s: &mut String, term: &str, value: &str) {
    let _ = write!(s, "<dt>{}</dt><dd>{}</dd>", escape(term), escape(value));
}

/// The report for the forecast `o`; `calibration` is the set's calibration chart when it has
/// one (`labelcast_core::suite::chart::calibration_svg`); `date` is when it was made.
pub fn report_html(o: &Outcome, ctx: &ReportContext, calibration: Option<&str>, date: &str) -> String {
    let c = &o.coefficients;
    let band_opts = BandOptions::default();
    let mut s = String::with_capacity(32 * 1024);
    let _ = write!(
        s,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>labelcast forecast report</title><style>{REPORT_CSS}{CHART_CSS}</style></head><body>\
         <h1>labelcast forecast report</h1><p class=\"muted\">Made {} in the labelcast browser app. \
         It holds no prompts or labels from the data, only counts and the forecast's numbers.</p>",
        escape(date)
    );
    if let Some(h) = headline(o) {
        let _ = write!(s, "<p id=\"headline\">{}</p>", escape(&h));
    }
    if let Some(w) = &o.set.warning {
        let _ = write!(s, "<p id=\"set-warning\" class=\"warning\">Warning: {}</p>", escape(w));
    }
    if let Some(n) = pool_note(o, ctx.pool_rows) {
        let _ = write!(s, "<p id=\"pool-note\" class=\"warning\">{}</p>", escape(&n));
    }
    let _ = write!(s, "<p id=\"set-sentence\">{}</p>", escape(&o.set.sentence));

    s.push_str("<h2>Forecast</h2><dl>");
    row(&mut s, "CoS-Low", &coslow_text(o.coslow));
    let measured = match o.examples {
        Some(n) => format!(
            "measured on this page from {n} labeled examples ({} pairs of gradients)",
            n * n.saturating_sub(1) / 2
        ),
        None => "entered by hand".into(),
    };
    row(&mut s, "CoS-Low source", &measured);
    row(&mut s, "Coefficient set", &format!("{} ({})", o.set.name, o.set.kind));
    let coef = if o.set.kind == "published" {
        format!("{}: c = {} ± {}, I = {} ± {}", c.label, c.slope, c.slope_se, c.intercept, c.intercept_se)
    } else {
        format!("{}: c = {}, I = {}", c.label, format::fixed(c.slope, 3), format::fixed(c.intercept, 3))
    };
    row(&mut s, "Coefficients", &coef);
    row(&mut s, "Coefficients' provenance", &c.provenance);
    row(&mut s, "Predicted AUC′ = c × CoS-Low + I", &format::fixed(o.forecast.auc, 2));
    if let Some(b) = o.auc_band.filter(|b| b.hi > b.lo) {
        let band = format!("{} – {}", format::fixed(b.lo, 2), format::fixed(b.hi, 2));
        row(&mut s, &format!("AUC′ {} band", format::percent(o.level)), &band);
    }
    row(&mut s, "Curve exponent p = (1 − AUC′) / AUC′", &format::fixed(o.forecast.p, 2));
    s.push_str("</dl><figure class=\"chart\">");
    s.push_str(&forecast_svg("report-chart", Some(o), o.forecast.max_budget, Frame::DEFAULT));
    let _ = write!(
        s,
        "<figcaption class=\"muted\">The line is the forecast, the shaded area its {} uncertainty band, \
         the dashed lines the target shares; x: labeled examples (log scale), y: share of the \
         performance fine-tuning can attain.</figcaption></figure>",
        escape(&format::percent(o.level))
    );

    let _ = write!(
        s,
        "<h2>Labeled examples needed</h2><table id=\"budgets\"><thead><tr><th>Target share</th>\
         <th class=\"num\">Labeled examples</th><th class=\"num\">{} band</th></tr></thead><tbody>",
        escape(&format::percent(o.level))
    );
    for r in &o.rows {
        let band = r.band.map(|b| format::budget_range(b.lo, b.hi)).unwrap_or_else(|| "—".into());
        let key = if r.target == 0.9 { " class=\"is-key\"" } else { "" };
        let over = if over_pool(r.budget, ctx.pool_rows) { " (more than the pool)" } else { "" };
        // data-value: the exact budget (shortest round-trip text), as the page's table has it.
        let _ = write!(
            s,
            "<tr data-target=\"{}\"{key}><th>{}</th><td class=\"num budget\" data-value=\"{}\">{}{over}</td>\
             <td class=\"num\">{}</td></tr>",
            r.target,
            escape(&format::percent(r.target)),
            r.budget,
            escape(&format::budget(r.budget)),
            escape(&band)
        );
    }
    s.push_str("</tbody></table>");
    if !o.band_notes.is_empty() {
        s.push_str("<ul class=\"muted\">");
        for n in &o.band_notes {
            let _ = write!(s, "<li>{}</li>", escape(n));
        }
        s.push_str("</ul>");
    }
    if let Some(svg) = calibration {
        // Core's chart escapes every task name itself.
        let _ = write!(
            s,
            "<h2>Calibration of the coefficient set</h2><figure class=\"calibration\">{svg}<figcaption class=\"muted\">\
             Each point is one of the paper's tasks: the CoS-Low of the loaded model's calibration run \
             (bar: its draws' range) against the data efficiency the paper measured; the line is the \
             set's fit with its {} band; the dashed line is this task's CoS-Low.</figcaption></figure>",
            escape(&format::percent(o.level))
        );
    }

    s.push_str("<h2>Model, data and settings</h2><dl>");
    let model = ctx
        .model
        .as_ref()
        .map(|(name, file)| if name == file { file.clone() } else { format!("{name} ({file})") })
        .unwrap_or_else(|| "none loaded (CoS-Low entered by hand)".into());
    row(&mut s, "Model", &model);
    if let Some(sha) = &ctx.model_sha256 {
        row(&mut s, "Model SHA-256", sha);
    }
    let rows = |n: Option<usize>| n.map(|n| format::count(n, "row", "rows")).unwrap_or_else(|| "—".into());
    row(&mut s, "Pool", &rows(ctx.pool_rows));
    row(&mut s, "Prompts scored", &rows(ctx.scored_rows));
    row(&mut s, "Prompt format", if ctx.chat_template { "the model's chat template" } else { "raw prompt" });
    row(
        &mut s,
        "Selection (METHOD.md 1b, 1c)",
        &format!(
            "greedy answers of at most {MAX_NEW_TOKENS} tokens; {K} examples drawn from the least \
             confident tenth, seed {SEED}"
        ),
    );
    row(
        &mut s,
        "CoS-Low (METHOD.md 1d)",
        &format!("LoRA rank {LORA_RANK}, alpha {LORA_ALPHA}, seed {SEED}; median of the pairwise gradient cosines"),
    );
    row(&mut s, "Maximum budget", &format::budget(o.forecast.max_budget));
    let task_error = match o.set.kind {
        "proxy" | "baseline" => "the set's leave-one-out errors on the calibration tasks".to_string(),
        "published" => format!("the paper's {} prediction error", format::percent(PAPER_PREDICTION_ERROR)),
        _ => "not included (unknown for custom coefficients)".to_string(),
    };
    row(
        &mut s,
        "Band",
        &match o.band_conformal {
            // A fitted set's band is conformal: nothing was resampled.
            true => format!("{} level, conformal; error between tasks: {task_error}", format::percent(o.level)),
            false => format!(
                "{} level, {} bootstrap resamples, seed {}; error between tasks: {task_error}",
                format::percent(o.level),
                band_opts.resamples,
                band_opts.seed,
            ),
        },
    );
    s.push_str(
        "</dl><p class=\"muted\">Method: Je &amp; Raffel, arXiv 2512.24991. The forecast is \
         AUC′ = c × CoS-Low + I and the learning curve share = x<sup>p</sup> on a log budget axis.</p>\
         </body></html>\n",
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::steps::forecast::coef_sets::{fixture_calibrations, model_id, resolve, Choice, ModelId};
    use crate::steps::forecast::forecast_model::{compute, report_json, Inputs, MeasuredRun};
    use labelcast_core::suite::chart::calibration_svg;
    use std::rc::Rc;

    fn ctx() -> ReportContext {
        ReportContext {
            model: Some(("Smol <b>&".into(), "smol.gguf".into())),
            model_sha256: Some("ab".repeat(32)),
            pool_rows: Some(67),
            scored_rows: Some(67),
            chat_template: true,
        }
    }

    fn smollm2() -> ModelId {
        model_id(&labelcast_protocol::ModelInfo {
            file: "SmolLM2-135M-Instruct.Q4_1.gguf".into(),
            name: None,
            arch: "llama".into(),
            layers: 1,
            hidden: 1,
            vocab: 1,
            context: 1,
            bytes: 1.0,
            sha256: None,
        })
    }

    #[test]
    fn report_has_the_set_its_charts_the_table_and_the_json_budgets() {
        let cals = fixture_calibrations();
        let chosen = resolve(Some(&smollm2()), &cals, &Choice::default()).expect("proxy");
        let i = Inputs { coslow: "0.487".into(), ..Inputs::default() };
        let o = compute(&i, &chosen).expect("forecast");
        let svg = calibration_svg(chosen.proxy.as_ref().unwrap(), Some(0.487), 420.0, 260.0);
        let html = report_html(&o, &ctx(), Some(&svg), "2025-01-02T03:04:05Z");
        assert!(html.starts_with("<!doctype html>"));
        assert!(html.contains("<svg ") && html.contains("class=\"band\""));
        assert!(html.contains("your task 0.487"), "the calibration chart marks this CoS-Low");
        assert!(html.contains("2025-01-02T03:04:05Z"));
        assert!(html.contains("Smol &lt;b&gt;&amp; (smol.gguf)"), "the model's name is escaped");
        assert!(html.contains(&"ab".repeat(32)), "the model's hash is named");
        assert!(html.contains("67 rows"));
        assert!(html.contains(&escape(&chosen.sentence)), "the set's sentence");
        assert!(html.contains("(proxy)") && html.contains(&escape(&chosen.name())));
        assert!(html.contains("more than the 67 rows in your pool"), "the pool note");
        assert!(html.contains("<dd>0.487</dd>"), "CoS-Low with 3 decimals");
        assert!(html.contains(&format!("<dd>{}</dd>", format::fixed(o.forecast.auc, 2))), "AUC with 2");
        let json: serde_json::Value = serde_json::from_str(&report_json(&o, Some(67))).expect("json");
        for r in &o.rows {
            let needle = format!("data-target=\"{}\"", r.target);
            assert!(html.contains(&needle), "{needle}");
            let cell = format!("data-value=\"{}\">{}", r.budget, format::budget(r.budget));
            assert!(html.contains(&cell), "{cell}");
            let j = json["budgets"][r.target.to_string()]["budget"].as_f64().expect("budget");
            assert!((j - r.budget).abs() <= 1e-9 * r.budget);
        }
        assert!(html.contains("entered by hand"));
        assert!(!html.contains("id=\"set-warning\""), "the model's own set has no warning");
    }

    #[test]
    fn a_published_set_on_another_models_coslow_carries_the_warning() {
        let cals = fixture_calibrations();
        let choice = Choice { coef: "llama-3.1-8b-instruct".into(), ..Choice::default() };
        let chosen = resolve(Some(&smollm2()), &cals, &choice).unwrap();
        let cos = Rc::new(vec![
            vec![1.0, 0.2, 0.6, 0.4],
            vec![0.2, 1.0, 0.3, 0.7],
            vec![0.6, 0.3, 1.0, 0.5],
            vec![0.4, 0.7, 0.5, 1.0],
        ]);
        let m = MeasuredRun { coslow: 0.45, cosines: cos, features: Rc::default() };
        let i = Inputs { coslow: "0.450".into(), measured: Some(m), choice };
        let o = compute(&i, &chosen).expect("forecast");
        let html = report_html(&o, &ReportContext::default(), None, "today");
        assert!(html.contains("from 4 labeled examples (6 pairs"), "{html}");
        assert!(html.contains("none loaded"));
        assert!(html.contains("id=\"set-warning\" class=\"warning\">Warning: Llama 3.1 8B-Instruct coefficients"));
        assert!(html.contains("the paper&#39;s 8.6% prediction error"));
    }
}
