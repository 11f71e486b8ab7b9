//! The forecast curve as an inline SVG: budget on a log axis, share of attainable
//! performance on the y axis, the uncertainty band, and a line per target share.
//! The SVG itself comes from `chart_svg` (shared with the HTML report); this file picks the
//! frame for the screen width and adds the legend.

use std::rc::Rc;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use yew::prelude::*;

use crate::chart::chart_math::Frame;
use crate::format;
use crate::steps::forecast::chart_svg::forecast_svg;
use crate::steps::forecast::forecast_model::Outcome;

#[derive(Properties, PartialEq)]
pub struct ChartProps {
    /// `None` draws the empty axes (the inputs are invalid; the panel says why).
    pub outcome: Option<Rc<Outcome>>,
    pub max_budget: f64,
}

/// The frame for the current viewport width, re-chosen on resize, so the chart's text
/// stays readable on phones. SVG scales as a whole; CSS cannot change its viewBox.
#[hook]
fn use_frame() -> Frame {
    let read = || web_sys::window().and_then(|w| w.inner_width().ok()).and_then(|v| v.as_f64()).map(Frame::for_width);
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
                let _ = win.add_event_listener_with_callback("resize", listener.as_ref().unchecked_ref());
            }
            move || {
                if let Some(win) = &window {
                    let _ = win.remove_event_listener_with_callback("resize", listener.as_ref().unchecked_ref());
                }
            }
        });
    }
    *frame
}

#[function_component(ForecastChart)]
pub fn forecast_chart(p: &ChartProps) -> Html {
    let f = use_frame();
    // The markup is ours (`chart_svg` escapes every text it puts in), so inserting it raw is safe.
    let svg = forecast_svg("forecast-chart", p.outcome.as_deref(), p.max_budget, f);
    html! {
        <figure class="chart">
            {Html::from_html_unchecked(AttrValue::from(svg))}
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
