//! Step 5: from CoS-Low and the coefficient set for the loaded model to the forecast curve and
//! budgets, with what the number means and how far to trust it, and the reports.

use std::rc::Rc;

use labelcast_core::forecast::DEFAULT_MAX_BUDGET;
use labelcast_core::suite::chart::calibration_svg;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::browser::download::download;
use crate::format;
use crate::steps::forecast::budget_table::BudgetTable;
use crate::steps::forecast::chart::ForecastChart;
use crate::steps::forecast::coef_controls::CoefControls;
use crate::steps::forecast::coef_sets::{resolve, Chosen, ModelId};
use crate::steps::forecast::forecast_model::{
    compute, coslow_text, coslow_value, headline, parse_number, pool_note, report_json, Inputs, MeasuredRun,
    NoForecast, EXAMPLE_COSLOW,
};
use crate::steps::forecast::forecast_setup::ForecastSetup;
use crate::steps::forecast::report_html::{report_html, ReportContext};

#[derive(Properties, PartialEq)]
pub struct ForecastPanelProps {
    /// CoS-Low measured on the page; fills the CoS-Low input when it arrives.
    pub measured: Option<MeasuredRun>,
    /// The loaded model; `None` while none is ready.
    pub model: Option<ModelId>,
    pub setup: ForecastSetup,
    /// The model, pool and settings the HTML report names.
    pub report: ReportContext,
}

/// Now, as "2025-01-02 03:04 UTC" (the report's date).
fn now_utc() -> String {
    let iso = String::from(js_sys::Date::new_0().to_iso_string());
    match iso.get(..16) {
        Some(minutes) => format!("{} UTC", minutes.replace('T', " ")),
        None => iso,
    }
}

/// The calibration chart of a proxy set, with this task's CoS-Low marked.
fn calibration_chart(c: &Chosen, mark: Option<f64>) -> Option<String> {
    let set = c.proxy.as_ref().filter(|_| c.chart)?;
    Some(calibration_svg(set, mark, 420.0, 260.0))
}

#[function_component(ForecastPanel)]
pub fn forecast_panel(props: &ForecastPanelProps) -> Html {
    let coslow = use_state(String::new);
    {
        // A measured CoS-Low fills the input (3 decimals); when it goes (a new pool), so does
        // the forecast: it belonged to that pool.
        let coslow = coslow.clone();
        let last = use_mut_ref(|| None::<f64>);
        use_effect_with(props.measured.as_ref().map(|m| m.coslow), move |m| {
            match m {
                Some(v) => coslow.set(coslow_text(*v)),
                None if last.borrow().is_some() => coslow.set(String::new()),
                None => {}
            }
            *last.borrow_mut() = *m;
        });
    }
    let choice = props.setup.choice().clone();
    let chosen = use_memo((props.model.clone(), props.setup.cals.clone(), choice.clone()), |(m, cals, choice)| {
        resolve(m.as_ref(), cals, choice)
    });
    let inputs = Inputs { coslow: (*coslow).clone(), measured: props.measured.clone(), choice };
    let outcome = use_memo((inputs.clone(), chosen.clone()), |(i, c)| match c.as_ref() {
        Ok(c) => compute(i, c).map(Rc::new),
        Err(e) => match coslow_value(i) {
            Err(NoForecast::NoCoslow) => Err(NoForecast::NoCoslow),
            _ => Err(NoForecast::Coef(e.clone())),
        },
    });
    let on_coslow = {
        let coslow = coslow.clone();
        Callback::from(move |e: InputEvent| {
            if let Some(el) = e.target_dyn_into::<HtmlInputElement>() {
                coslow.set(el.value());
            }
        })
    };

    let coslow_bad = !coslow.trim().is_empty()
        && parse_number("CoS-Low", &coslow).ok().and_then(|v| labelcast_core::forecast::check_coslow(v).ok()).is_none();
    let (ok, empty, error) = match &*outcome {
        Ok(o) => (Some(o.clone()), None, None),
        Err(NoForecast::NoCoslow) => (None, Some(NoForecast::NoCoslow.message()), None),
        Err(e) => (None, None, Some(e.message())),
    };
    let pool = props.report.pool_rows;
    let mark = ok.as_ref().map(|o| o.coslow);
    let chart = chosen.as_ref().as_ref().ok().and_then(|c| calibration_chart(c, mark));
    let set_problem = chosen.as_ref().as_ref().err().filter(|_| error.is_none()).map(ToString::to_string);
    let (sentence, warning) = match chosen.as_ref() {
        Ok(c) => (Some(c.sentence.clone()), c.warning.clone()),
        Err(_) => (None, None),
    };
    let stat = |v: Option<f64>| v.map(|v| format::fixed(v, 2)).unwrap_or_else(|| "—".into());
    let auc_band = ok.as_deref().and_then(|o| {
        o.auc_band.filter(|b| b.hi > b.lo).map(|b| {
            format!("AUC′ {} band {} – {}", format::percent(o.level), format::fixed(b.lo, 2), format::fixed(b.hi, 2))
        })
    });
    let notes = ok.as_deref().map(|o| o.band_notes.clone()).unwrap_or_default();

    html! {
        <section id="step-forecast" class="step" aria-labelledby="step-forecast-heading">
            <h2 id="step-forecast-heading"><span class="step-num">{"5"}</span>{"Forecast"}</h2>
            <p class="step-intro">
                {"CoS-Low, from step 4, says how alike the 32 labeled examples' gradients are. Coefficients \
                  fitted for the model that computed it turn it into data efficiency (AUC′), and that into \
                  the learning curve: share = x"}<sup>{"p"}</sup>{" with p = (1 − AUC′) / AUC′ on a log budget \
                  axis up to "}{format::budget(DEFAULT_MAX_BUDGET)}{" examples."}
            </p>
            <div class="forecast-grid">
                <div class="controls card">
                    <div class="field">
                        <label for="coslow">{"CoS-Low"}</label>
                        <input id="coslow" type="text" inputmode="decimal" autocomplete="off" spellcheck="false"
                            placeholder={format!("e.g. {EXAMPLE_COSLOW} (an example, not yours)")}
                            aria-describedby="coslow-help" aria-invalid={coslow_bad.to_string()}
                            value={(*coslow).clone()} oninput={on_coslow} />
                        <p id="coslow-help" class="help">{"Filled in by step 4, or a CoS-Low you measured: a cosine, between −1 and 1."}</p>
                    </div>
                    <CoefControls setup={props.setup.clone()} chosen={chosen.clone()} model_loaded={props.model.is_some()} />
                </div>
                <div class="results card">
                    if let Some(w) = &warning {
                        <p id="set-warning" class="warning" role="alert">{w.clone()}</p>
                    }
                    <dl class="stats">
                        <div>
                            <dt>{"Predicted AUC′"}</dt>
                            <dd id="predicted-auc" class="stat" data-value={ok.as_ref().map(|o| o.forecast.auc.to_string())}>
                                {stat(ok.as_ref().map(|o| o.forecast.auc))}
                            </dd>
                        </div>
                        <div>
                            <dt>{"Curve exponent p"}</dt>
                            <dd id="forecast-p" class="stat">{stat(ok.as_ref().map(|o| o.forecast.p))}</dd>
                        </div>
                    </dl>
                    if let Some(b) = auc_band { <p class="muted small">{b}</p> }
                    if let Some(m) = empty { <p id="forecast-empty" class="muted">{m}</p> }
                    <p id="forecast-error" class="error-text" role="alert">{error.unwrap_or_default()}</p>
                    if let Some(h) = ok.as_deref().and_then(headline) { <p class="headline">{h}</p> }
                    if let Some(n) = ok.as_deref().and_then(|o| pool_note(o, pool)) {
                        <p id="pool-note" class="warning">{n}</p>
                    }
                    if let Some(p) = set_problem { <p id="set-problem" class="warning">{p}</p> }
                    if let Some(s) = sentence { <p id="set-sentence" class="trust">{s}</p> }
                    if let Some(svg) = chart.clone() {
                        <figure id="calibration-chart" class="calibration-chart">
                            // Core's chart escapes every task name itself, so inserting it raw is safe.
                            {Html::from_html_unchecked(AttrValue::from(svg))}
                            <figcaption class="muted small">
                                {"The calibration: each of the paper's tasks (CoS-Low of this model, bar: its draws) \
                                  against the data efficiency the paper measured; the line is the fit the forecast \
                                  uses, with its 90% band; the dashed line is your task."}
                            </figcaption>
                        </figure>
                    }
                    if !notes.is_empty() {
                        <ul class="notes">{for notes.iter().map(|n| html! { <li>{n.clone()}</li> })}</ul>
                    }
                </div>
            </div>
            <ForecastChart outcome={ok.clone()} max_budget={DEFAULT_MAX_BUDGET} />
            <BudgetTable outcome={ok.clone()} pool_rows={pool} />
            if let Some(o) = ok {
                <div class="button-row">
                    <button type="button" id="report-json" class="button secondary" onclick={{
                        let o = o.clone();
                        Callback::from(move |_: MouseEvent| {
                            // The report holds no rows of the data, only the forecast's numbers.
                            let _ = download("labelcast-forecast.json", &report_json(&o, pool), "application/json");
                        })
                    }}>{"Download the forecast (JSON, no data rows)"}</button>
                    <button type="button" id="report-html" class="button secondary" onclick={{
                        let (o, ctx) = (o.clone(), props.report.clone());
                        Callback::from(move |_: MouseEvent| {
                            let html = report_html(&o, &ctx, chart.as_deref(), &now_utc());
                            let _ = download("labelcast-forecast.html", &html, "text/html");
                        })
                    }}>{"Download a readable report (HTML, no data rows)"}</button>
                </div>
            }
        </section>
    }
}
