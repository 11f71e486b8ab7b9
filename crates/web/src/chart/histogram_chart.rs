//! A small bar chart of a histogram, with the marked part of each bar drawn in the accent
//! colour (the bottom decile of confidence) and an optional vertical line (a median).

use std::rc::Rc;

use yew::prelude::*;

use crate::chart::histogram::Histogram;
use crate::format;

#[derive(Properties, PartialEq)]
pub struct HistogramProps {
    pub id: AttrValue,
    pub hist: Rc<Histogram>,
    /// What the x axis measures.
    pub x_label: AttrValue,
    /// A sentence for screen readers.
    pub description: AttrValue,
    /// A vertical line at this x value, with its label.
    #[prop_or_default]
    pub line: Option<(f64, AttrValue)>,
}

const W: f64 = 560.0;
const H: f64 = 180.0;
const LEFT: f64 = 36.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 40.0;

#[function_component(HistogramChart)]
pub fn histogram_chart(p: &HistogramProps) -> Html {
    let h = &p.hist;
    let (lo, hi) = match (h.bins.first(), h.bins.last()) {
        (Some(a), Some(b)) => (a.lo, b.hi),
        _ => (0.0, 1.0),
    };
    let span = if hi > lo { hi - lo } else { 1.0 };
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let x = |v: f64| LEFT + (v - lo) / span * plot_w;
    let max = h.max_count.max(1) as f64;
    let y = |c: f64| TOP + plot_h - c / max * plot_h;
    let bars = h.bins.iter().enumerate().map(|(i, b)| {
        let (x0, x1) = (x(b.lo) + 1.0, x(b.hi) - 1.0);
        let w = (x1 - x0).max(1.0);
        let full = y(b.count as f64);
        let marked = y(b.marked as f64);
        html! {
            <g data-bin={i.to_string()} data-count={b.count.to_string()} data-marked={b.marked.to_string()}>
                <rect class="bar" x={format!("{x0:.1}")} y={format!("{full:.1}")} width={format!("{w:.1}")} height={format!("{:.1}", TOP + plot_h - full)} />
                if b.marked > 0 {
                    <rect class="bar-marked" x={format!("{x0:.1}")} y={format!("{marked:.1}")} width={format!("{w:.1}")} height={format!("{:.1}", TOP + plot_h - marked)} />
                }
            </g>
        }
    });
    let ticks = (0..=4).map(|i| {
        let v = lo + span * i as f64 / 4.0;
        html! {
            <text class="tick" x={format!("{:.1}", x(v))} y={format!("{:.1}", H - BOTTOM + 16.0)} text-anchor="middle">{format::fixed(v, 2)}</text>
        }
    });
    let line = p.line.as_ref().map(|(v, label)| {
        let lx = x(*v);
        html! {
            <g class="marker">
                <line x1={format!("{lx:.1}")} x2={format!("{lx:.1}")} y1={TOP.to_string()} y2={format!("{:.1}", TOP + plot_h)} />
                <text x={format!("{:.1}", lx + 4.0)} y={format!("{:.1}", TOP + 10.0)}>{label.clone()}</text>
            </g>
        }
    });
    html! {
        <figure class="histogram">
            <svg id={p.id.clone()} viewBox={format!("0 0 {W} {H}")} role="img" aria-label={p.description.clone()}>
                <line class="axis" x1={LEFT.to_string()} x2={(W - RIGHT).to_string()} y1={(TOP + plot_h).to_string()} y2={(TOP + plot_h).to_string()} />
                <text class="tick" x={(LEFT - 6.0).to_string()} y={(TOP + 8.0).to_string()} text-anchor="end">{h.max_count}</text>
                <text class="tick" x={(LEFT - 6.0).to_string()} y={(TOP + plot_h).to_string()} text-anchor="end">{"0"}</text>
                {for bars}
                {for ticks}
                {for line}
                <text class="axis-label" x={format!("{:.1}", LEFT + plot_w / 2.0)} y={(H - 6.0).to_string()} text-anchor="middle">{p.x_label.clone()}</text>
            </svg>
        </figure>
    }
}
