//! The forecast chart as SVG markup: budget on a log axis, share of attainable performance on
//! the y axis, the uncertainty band, and a line per target share. One routine draws it for the
//! page (`steps::forecast::chart`) and for the downloadable HTML report (`report_html`), so the two
//! cannot drift apart. Pure (no Yew, no web-sys): tested natively. Styling is by class only
//! (`web/chart.css`): the page's Content-Security-Policy forbids inline styles.

use std::fmt::Write;

use crate::chart::chart_math::{band_path, budget_ticks, line_path, Frame, SHARE_TICKS};
use crate::format;
use crate::steps::forecast::forecast_model::Outcome;

/// Text and attribute values for HTML or SVG markup. Everything that is not a literal of ours
/// goes through here (a GGUF model's name, for instance, is whatever its author wrote).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One sentence a screen reader gets instead of the picture.
pub fn description(o: Option<&Outcome>) -> String {
    let Some(o) = o else {
        return "No forecast to draw yet: there is no CoS-Low, or the inputs above are not valid.".to_string();
    };
    let parts: Vec<String> = o
        .rows
        .iter()
        .map(|r| format!("{} at about {} examples", format::percent(r.target), format::budget(r.budget)))
        .collect();
    format!(
        "Forecast curve for predicted AUC' {}: the share of attainable performance rises with \
         the number of labeled examples, reaching {}.",
        format::fixed(o.forecast.auc, 2),
        parts.join(", ")
    )
}

/// The tooltip of a target's marker.
fn target_tip(o: &Outcome, r: &crate::steps::forecast::forecast_model::BudgetRow) -> String {
    match r.band {
        Some(b) => format!(
            "{}: about {} examples ({} band {})",
            format::percent(r.target),
            format::budget(r.budget),
            format::percent(o.level),
            format::budget_range(b.lo, b.hi)
        ),
        None => format!("{}: about {} examples", format::percent(r.target), format::budget(r.budget)),
    }
}

/// The whole `<svg>` element with id `id`; `None` draws the empty axes (the inputs are
/// invalid; the panel says why).
pub fn forecast_svg(id: &str, outcome: Option<&Outcome>, max_budget: f64, f: Frame) -> String {
    let (x, y) = (f.x_scale(max_budget), f.y_scale());
    let (left, right, top, bottom) = (f.plot_left(), f.plot_right(), f.plot_top(), f.plot_bottom());
    let n = |v: f64| format!("{v:.1}");
    let id = escape(id);
    let mut s = String::with_capacity(8 * 1024);
    // `write!` into a String cannot fail; the results are ignored for that reason.
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"{id}\" viewBox=\"0 0 {} {}\" role=\"img\" \
         aria-labelledby=\"{id}-title {id}-desc\" preserveAspectRatio=\"xMidYMid meet\">\
         <title id=\"{id}-title\">Forecast: share of attainable performance by number of labeled examples</title>\
         <desc id=\"{id}-desc\">{}</desc><g class=\"axis\">",
        f.width,
        f.height,
        escape(&description(outcome))
    );
    for &share in &SHARE_TICKS {
        let py = y.map(share);
        let _ = write!(
            s,
            "<g class=\"tick\"><line class=\"grid\" x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\"/>\
             <text class=\"tick-label\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text></g>",
            n(left),
            n(right),
            n(py),
            n(py),
            n(left - 8.0),
            n(py + 4.0),
            escape(&format::percent(share))
        );
    }
    for b in budget_ticks(max_budget) {
        let px = x.map(b);
        let _ = write!(
            s,
            "<g class=\"tick\"><line class=\"grid\" x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\"/>\
             <line class=\"tick-mark\" x1=\"{0}\" x2=\"{0}\" y1=\"{2}\" y2=\"{3}\"/>\
             <text class=\"tick-label\" x=\"{0}\" y=\"{4}\" text-anchor=\"middle\">{5}</text></g>",
            n(px),
            n(top),
            n(bottom),
            n(bottom + 5.0),
            n(bottom + 19.0),
            escape(&format::budget(b))
        );
    }
    let _ = write!(
        s,
        "</g><line class=\"axis-line\" x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\"/>\
         <line class=\"axis-line\" x1=\"{0}\" x2=\"{0}\" y1=\"{3}\" y2=\"{2}\"/>",
        n(left),
        n(right),
        n(bottom),
        n(top)
    );
    if let Some(o) = outcome {
        let band = band_path(&o.band_curve, &x, &y);
        if !band.is_empty() {
            let _ = write!(s, "<path class=\"band\" d=\"{band}\"/>");
        }
        for r in &o.rows {
            let (px, py) = (x.map(r.budget), y.map(r.target));
            let _ = write!(
                s,
                "<g class=\"target\" data-target=\"{t}\" data-budget=\"{b}\">\
                 <line class=\"target-line\" x1=\"{l}\" x2=\"{r}\" y1=\"{py}\" y2=\"{py}\"/>\
                 <line class=\"drop-line\" x1=\"{px}\" x2=\"{px}\" y1=\"{py}\" y2=\"{bot}\"/>\
                 <text class=\"target-label\" x=\"{lx}\" y=\"{ly}\">{pct}</text>\
                 <circle class=\"target-dot\" cx=\"{px}\" cy=\"{py}\" r=\"4\"><title>{tip}</title></circle></g>",
                t = r.target,
                b = r.budget,
                l = n(left),
                r = n(right),
                py = n(py),
                px = n(px),
                bot = n(bottom),
                lx = n(left + 6.0),
                ly = n(py - 4.0),
                pct = escape(&format::percent(r.target)),
                tip = escape(&target_tip(o, r)),
            );
        }
        let _ = write!(s, "<path class=\"curve\" d=\"{}\"/>", line_path(&o.curve, &x, &y));
    }
    let _ = write!(
        s,
        "<text class=\"axis-title\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">Labeled examples (log scale)</text></svg>",
        n((left + right) / 2.0),
        n(f.height - 6.0)
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::steps::forecast::coef_sets::{resolve, Choice};
    use crate::steps::forecast::forecast_model::{compute, Inputs};

    fn outcome() -> Outcome {
        let choice = Choice { coef: "llama-3.1-8b-instruct".into(), ..Choice::default() };
        let chosen = resolve(None, &[], &choice).expect("published set");
        compute(&Inputs { coslow: "0.65".into(), measured: None, choice }, &chosen).expect("forecast")
    }

    #[test]
    fn escape_covers_markup_characters() {
        assert_eq!(escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
        assert_eq!(escape("plain é"), "plain é");
    }

    #[test]
    fn svg_has_band_curve_and_a_marker_per_target() {
        let o = outcome();
        let svg = forecast_svg("c", Some(&o), 5000.0, Frame::DEFAULT);
        assert!(svg.starts_with("<svg ") && svg.ends_with("</svg>"));
        assert_eq!(svg.matches("class=\"band\"").count(), 1);
        assert_eq!(svg.matches("class=\"curve\"").count(), 1);
        assert_eq!(svg.matches("<g class=\"target\"").count(), o.rows.len());
        assert!(svg.contains("viewBox=\"0 0 720 360\""));
        // Every opened element is closed: tags balance.
        for tag in ["svg", "g", "text", "title", "desc", "circle"] {
            let open = svg.matches(&format!("<{tag} ")).count() + svg.matches(&format!("<{tag}>")).count();
            assert_eq!(open, svg.matches(&format!("</{tag}>")).count(), "{tag}");
        }
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
    }

    #[test]
    fn no_outcome_draws_empty_axes() {
        let svg = forecast_svg("c", None, 5000.0, Frame::COMPACT);
        assert!(!svg.contains("class=\"curve\""));
        assert!(svg.contains("No forecast to draw yet"));
        assert!(svg.contains("5,000") || svg.contains("5000"));
    }
}
