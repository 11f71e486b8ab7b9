//! The calibration chart as SVG: each task's CoS-Low (its draws' range as a bar) against the
//! AUC the paper measured, the line the forecast uses with its 90% band, and the user's
//! CoS-Low marked. One drawing for the page and for docs/calibration.md.

use std::fmt::Write;

use super::fit::Feature;
use super::proxy::ProxySet;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The chart of `set` (`width` × `height` px), with a vertical marker at `mark` (the user's
/// CoS-Low) when given. Self-contained: no script, no external style.
pub fn calibration_svg(set: &ProxySet, mark: Option<f64>, width: f64, height: f64) -> String {
    draw(set, mark, width, height, false)
}

/// The chart with every task named beside its point, and CoS-Low's own fit drawn dashed when
/// the set uses something else (for docs/calibration.md, where there is room).
pub fn calibration_svg_labelled(set: &ProxySet, width: f64, height: f64) -> String {
    draw(set, None, width, height, true)
}

fn draw(set: &ProxySet, mark: Option<f64>, width: f64, height: f64, labelled: bool) -> String {
    let (ml, mr, mt, mb) = (48.0, 12.0, 12.0, 38.0);
    let (pw, ph) = (width - ml - mr, height - mt - mb);
    let mut xs: Vec<f64> = set.points.iter().flat_map(|p| [p.coslow_min, p.coslow_max]).collect();
    xs.extend(mark);
    let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let pad = ((hi - lo) * 0.08).max(0.02);
    let (x0, x1) = (((lo - pad) * 20.0).floor() / 20.0, ((hi + pad) * 20.0).ceil() / 20.0);
    let (y0, y1) = (0.0, 1.0);
    let sx = |x: f64| ml + (x - x0) / (x1 - x0) * pw;
    let sy = |y: f64| mt + (1.0 - (y - y0) / (y1 - y0)) * ph;
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" font-family="system-ui, sans-serif" font-size="11"><title>{}</title>"##,
        esc(&format!("CoS-Low of {} against {}'s measured AUC on {} tasks", set.model.label, set.family_label, set.n))
    );
    // Grid and axes.
    for i in 0..=4 {
        let y = i as f64 / 4.0;
        let (x2, yy, tx, ty) = (ml + pw, sy(y), ml - 4.0, sy(y) + 4.0);
        let _ = write!(
            s,
            r##"<line x1="{ml}" x2="{x2}" y1="{yy:.1}" y2="{yy:.1}" stroke="#e3e3e3"/><text x="{tx}" y="{ty:.1}" text-anchor="end" fill="#555">{y:.2}</text>"##
        );
    }
    let steps = ((x1 - x0) / 0.05).round() as usize;
    let every = steps.div_ceil(6).max(1);
    for i in (0..=steps).step_by(every) {
        let x = x0 + i as f64 * 0.05;
        let (tx, ty) = (sx(x), mt + ph + 14.0);
        let _ = write!(s, r##"<text x="{tx:.1}" y="{ty}" text-anchor="middle" fill="#555">{x:.2}</text>"##);
    }
    let _ = write!(
        s,
        r##"<text x="{:.1}" y="{}" text-anchor="middle" fill="#333">CoS-Low of {}</text><text transform="translate(11 {:.1}) rotate(-90)" text-anchor="middle" fill="#333">AUC, {}</text>"##,
        ml + pw / 2.0,
        height - 4.0,
        esc(&set.model.label),
        mt + ph / 2.0,
        esc(&set.family_label)
    );
    // The forecast's line and band: CoS-Low's fit when the set uses CoS-Low alone, else the
    // average task (a flat line), each with its leave-one-out band.
    let (a, b) = if set.model_fit.features == [Feature::Coslow] {
        (set.model_fit.intercept, set.model_fit.weights[0])
    } else if set.model_fit.features.is_empty() {
        (set.model_fit.intercept, 0.0)
    } else {
        (set.coslow_fit.intercept, set.coslow_fit.weights[0])
    };
    let f = |x: f64| a + b * x;
    let (blo, bhi) = set.band;
    let clamp = |y: f64| y.clamp(0.0, 1.0);
    let _ = write!(
        s,
        r##"<polygon points="{:.1},{:.1} {:.1},{:.1} {:.1},{:.1} {:.1},{:.1}" fill="#2b6cb0" fill-opacity="0.13"/><line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#2b6cb0" stroke-width="2"/>"##,
        sx(x0),
        sy(clamp(f(x0) + bhi)),
        sx(x1),
        sy(clamp(f(x1) + bhi)),
        sx(x1),
        sy(clamp(f(x1) + blo)),
        sx(x0),
        sy(clamp(f(x0) + blo)),
        sx(x0),
        sy(clamp(f(x0))),
        sx(x1),
        sy(clamp(f(x1)))
    );
    if labelled && set.model_fit.features != [Feature::Coslow] {
        let g = |x: f64| set.coslow_fit.intercept + set.coslow_fit.weights[0] * x;
        let (xa, ya, xb, yb) = (sx(x0), sy(clamp(g(x0))), sx(x1), sy(clamp(g(x1))));
        let _ = write!(
            s,
            r##"<line x1="{xa:.1}" y1="{ya:.1}" x2="{xb:.1}" y2="{yb:.1}" stroke="#777" stroke-dasharray="4 3"/><text x="{:.1}" y="{:.1}" fill="#777" text-anchor="end">CoS-Low alone</text>"##,
            xb - 4.0,
            yb - 5.0
        );
    }
    for p in &set.points {
        if labelled {
            let (x, y, t) = (sx(p.coslow) + 5.0, sy(p.auc) + 3.5, esc(&p.task));
            let _ = write!(s, r##"<text x="{x:.1}" y="{y:.1}" font-size="9" fill="#666">{t}</text>"##);
        }
        let (t, c, cmin, cmax, auc) = (esc(&p.task), p.coslow, p.coslow_min, p.coslow_max, p.auc);
        let (xa, xb, xc, y) = (sx(cmin), sx(cmax), sx(c), sy(auc));
        let _ = write!(
            s,
            r##"<g><title>{t}: CoS-Low {c:.3} (draws {cmin:.3}–{cmax:.3}), AUC {auc:.3}</title><line x1="{xa:.1}" x2="{xb:.1}" y1="{y:.1}" y2="{y:.1}" stroke="#444"/><circle cx="{xc:.1}" cy="{y:.1}" r="3.5" fill="#444"/></g>"##
        );
    }
    if let Some(m) = mark {
        let (x, yb, tx, ty) = (sx(m), mt + ph, sx(m) + 4.0, mt + 12.0);
        let _ = write!(
            s,
            r##"<line x1="{x:.1}" x2="{x:.1}" y1="{mt}" y2="{yb}" stroke="#c05621" stroke-width="2" stroke-dasharray="5 3"/><text x="{tx:.1}" y="{ty}" fill="#c05621">your task {m:.3}</text>"##
        );
    }
    s.push_str("</svg>");
    s
}
