//! The forecast curve as an inline SVG: budget on a log axis, share of attainable
//! performance on the y axis, the uncertainty band, and a line per target share.
//! Geometry comes from `chart_math`; this file only lays out elements.

use std::rc::Rc;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use yew::prelude::*;

use crate::chart_math::{band_path, budget_ticks, line_path, Frame, SHARE_TICKS};
use crate::forecast_model::Outcome;
use crate::format;

#[derive(Properties, PartialEq)]
pub struct ChartProps {
    /// `None` draws the empty axes (the inputs are invalid; the panel says why).
    pub outcome: Option<Rc<Outcome>>,
    pub max_budget: f64,
}

/// One sentence a screen reader gets instead of the picture.
fn description(o: Option<&Outcome>) -> String {
    let Some(o) = o else {
        return "No forecast to draw: the inputs above are not valid.".to_string();
    };
    let parts: Vec<String> = o
        .rows
        .iter()
        .map(|r| {
            format!(
                "{} at about {} examples",
                format::percent(r.target),
                format::budget(r.budget)
            )
        })
        .collect();
    format!(
        "Forecast curve for predicted AUC' {}: the share of attainable performance rises with \
         the number of labeled examples, reaching {}.",
        format::fixed(o.forecast.auc, 3),
        parts.join(", ")
    )
}

/// The frame for the current viewport width, re-chosen on resize, so the chart's text
/// stays readable on phones. SVG scales as a whole; CSS cannot change its viewBox.
#[hook]
fn use_frame() -> Frame {
    let read = || {
        web_sys::window()
            .and_then(|w| w.inner_width().ok())
            .and_then(|v| v.as_f64())
            .map(Frame::for_width)
    };
    // `_eq`: resizing re-renders only when the frame actually changes.
    let frame = use_state_eq(move || read().unwrap_or(Frame::DEFAULT));
    {
        let frame = frame.clone();
        use_effect_with((), move |_| {
            let listener = Closure::<dyn Fn()>::new(move || {
                if let Some(f) = read() {
                    frame.set(f);
                }
            });
            let window = web_sys::window();
            if let Some(win) = &window {
                let _ = win
                    .add_event_listener_with_callback("resize", listener.as_ref().unchecked_ref());
            }
            move || {
                if let Some(win) = &window {
                    let _ = win.remove_event_listener_with_callback(
                        "resize",
                        listener.as_ref().unchecked_ref(),
                    );
                }
            }
        });
    }
    *frame
}

#[function_component(ForecastChart)]
pub fn forecast_chart(p: &ChartProps) -> Html {
    let f = use_frame();
    let (x, y) = (f.x_scale(p.max_budget), f.y_scale());
    let (left, right, top, bottom) = (f.plot_left(), f.plot_right(), f.plot_top(), f.plot_bottom());
    let n = |v: f64| format!("{:.1}", v);

    let x_ticks = budget_ticks(p.max_budget).into_iter().map(|b| {
        let px = x.map(b);
        html! {
            <g class="tick">
                <line class="grid" x1={n(px)} x2={n(px)} y1={n(top)} y2={n(bottom)} />
                <line class="tick-mark" x1={n(px)} x2={n(px)} y1={n(bottom)} y2={n(bottom + 5.0)} />
                <text class="tick-label" x={n(px)} y={n(bottom + 19.0)} text-anchor="middle">
                    {format::budget(b)}
                </text>
            </g>
        }
    });
    let y_ticks = SHARE_TICKS.iter().map(|&s| {
        let py = y.map(s);
        html! {
            <g class="tick">
                <line class="grid" x1={n(left)} x2={n(right)} y1={n(py)} y2={n(py)} />
                <text class="tick-label" x={n(left - 8.0)} y={n(py + 4.0)} text-anchor="end">
                    {format::percent(s)}
                </text>
            </g>
        }
    });

    let plot = p.outcome.as_deref().map(|o| {
        let band = band_path(&o.band_curve, &x, &y);
        let curve = line_path(&o.curve, &x, &y);
        let targets = o.rows.iter().map(|r| {
            let (px, py) = (x.map(r.budget), y.map(r.target));
            let tip = match r.band {
                Some(b) => format!(
                    "{}: about {} examples ({} band {})",
                    format::percent(r.target),
                    format::budget(r.budget),
                    format::percent(o.level),
                    format::budget_range(b.lo, b.hi)
                ),
                None => format!("{}: about {} examples", format::percent(r.target), format::budget(r.budget)),
            };
            html! {
                <g class="target">
                    <line class="target-line" x1={n(left)} x2={n(right)} y1={n(py)} y2={n(py)} />
                    <line class="drop-line" x1={n(px)} x2={n(px)} y1={n(py)} y2={n(bottom)} />
                    <text class="target-label" x={n(left + 6.0)} y={n(py - 4.0)}>{format::percent(r.target)}</text>
                    <circle class="target-dot" cx={n(px)} cy={n(py)} r="4"><title>{tip}</title></circle>
                </g>
            }
        });
        html! {
            <>
                if !band.is_empty() {
                    <path class="band" d={band} />
                }
                {for targets}
                <path class="curve" d={curve} />
            </>
        }
    });

    html! {
        <figure class="chart">
            <svg
                id="forecast-chart"
                viewBox={format!("0 0 {} {}", f.width, f.height)}
                role="img"
                aria-labelledby="forecast-chart-title forecast-chart-desc"
                preserveAspectRatio="xMidYMid meet"
            >
                <title id="forecast-chart-title">
                    {"Forecast: share of attainable performance by number of labeled examples"}
                </title>
                <desc id="forecast-chart-desc">{description(p.outcome.as_deref())}</desc>
                <g class="axis">{for y_ticks}{for x_ticks}</g>
                <line class="axis-line" x1={n(left)} x2={n(right)} y1={n(bottom)} y2={n(bottom)} />
                <line class="axis-line" x1={n(left)} x2={n(left)} y1={n(top)} y2={n(bottom)} />
                {plot.unwrap_or_default()}
                <text class="axis-title" x={n((left + right) / 2.0)} y={n(f.height - 6.0)} text-anchor="middle">
                    {"Labeled examples (log scale)"}
                </text>
            </svg>
            <figcaption class="legend">
                <span class="legend-item"><span class="swatch swatch-curve"></span>{"Forecast"}</span>
                <span class="legend-item">
                    <span class="swatch swatch-band"></span>
                    {format!("{} uncertainty band", p.outcome.as_deref().map(|o| format::percent(o.level)).unwrap_or_default())}
                </span>
                <span class="legend-item"><span class="swatch swatch-target"></span>{"Target shares"}</span>
                <span class="legend-note">{"y: share of the performance fine-tuning can attain"}</span>
            </figcaption>
        </figure>
    }
}
