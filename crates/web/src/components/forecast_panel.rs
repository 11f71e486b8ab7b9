//! Step 2: from a CoS-Low value and a coefficient set to the forecast curve and budgets.

use std::rc::Rc;

use labelcast_core::forecast::{self, DEFAULT_MAX_BUDGET};
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::components::budget_table::BudgetTable;
use crate::components::chart::ForecastChart;
use crate::download::download;
use crate::forecast_model::{coefficients, compute, key_row, parse_number, report_json, Inputs, Outcome, CUSTOM};
use crate::report_html::{report_html, ReportContext};
use crate::format;

/// Callback for a text input that writes its value into one field of the inputs.
fn on_text(inputs: &UseStateHandle<Inputs>, set: fn(&mut Inputs, String)) -> Callback<InputEvent> {
    let inputs = inputs.clone();
    Callback::from(move |e: InputEvent| {
        if let Some(el) = e.target_dyn_into::<HtmlInputElement>() {
            let mut next = (*inputs).clone();
            set(&mut next, el.value());
            inputs.set(next);
        }
    })
}

fn summary(o: &Outcome) -> Html {
    let Some(key) = key_row(o) else {
        return Html::default();
    };
    let band = key.band.map(|b| {
        format!(
            " ({} band {})",
            format::percent(o.level),
            format::budget_range(b.lo, b.hi)
        )
    });
    html! {
        <p class="headline">
            {"About "}<strong>{format::budget(key.budget)}</strong>{" labeled examples to reach "}
            <strong>{format::percent(key.target)}</strong>{" of the performance fine-tuning can attain"}
            {band.unwrap_or_default()}{"."}
        </p>
    }
}

#[derive(Properties, PartialEq, Default)]
pub struct ForecastPanelProps {
    /// CoS-Low measured on the page and its cosines; fills the CoS-Low input when it arrives.
    #[prop_or_default]
    pub measured: Option<(f64, Rc<Vec<Vec<f64>>>)>,
    /// The coefficient set that applies to the loaded model (`CUSTOM` when none does: then
    /// the panel asks for coefficients); None while no model is loaded.
    #[prop_or_default]
    pub family: Option<AttrValue>,
    /// The model, pool and settings the HTML report names.
    #[prop_or_default]
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

#[function_component(ForecastPanel)]
pub fn forecast_panel(props: &ForecastPanelProps) -> Html {
    let inputs = use_state(Inputs::default);
    {
        // One effect for both props: two would each start from the same old inputs, and the
        // second would undo the first when both change in one render (e.g. after a reload).
        let inputs = inputs.clone();
        // The family is applied when it changes only, so coefficients typed for a model
        // without a published set survive a later CoS-Low measurement.
        let last_family = use_mut_ref(|| None::<AttrValue>);
        use_effect_with((props.measured.clone(), props.family.clone()), move |(m, f)| {
            let mut next = (*inputs).clone();
            if let Some((coslow, cosines)) = m {
                next.coslow = coslow.to_string();
                next.measured = Some((*coslow, cosines.clone()));
            }
            let changed = *last_family.borrow() != *f;
            *last_family.borrow_mut() = f.clone();
            if let Some(f) = f.as_ref().filter(|_| changed) {
                next.family = f.to_string();
                match forecast::family(f) {
                    Ok(c) => {
                        next.slope = c.slope.to_string();
                        next.intercept = c.intercept.to_string();
                    }
                    Err(_) => {
                        next.slope.clear();
                        next.intercept.clear();
                    }
                }
            }
            if next != *inputs {
                inputs.set(next);
            }
        });
    }
    let outcome = use_memo((*inputs).clone(), |i| compute(i).map(Rc::new));
    let custom = inputs.family == CUSTOM;

    let on_coslow = on_text(&inputs, |i, v| i.coslow = v);
    let on_slope = on_text(&inputs, |i, v| i.slope = v);
    let on_intercept = on_text(&inputs, |i, v| i.intercept = v);
    let on_family = {
        let inputs = inputs.clone();
        Callback::from(move |e: Event| {
            let Some(sel) = e.target_dyn_into::<HtmlSelectElement>() else {
                return;
            };
            let mut next = (*inputs).clone();
            next.family = sel.value();
            // A published family fills the (disabled) slope and intercept so they show its
            // numbers; switching to custom keeps them as a starting point to edit.
            if let Ok(f) = forecast::family(&next.family) {
                next.slope = f.slope.to_string();
                next.intercept = f.intercept.to_string();
            }
            inputs.set(next);
        })
    };
    let on_paper_error = {
        let inputs = inputs.clone();
        Callback::from(move |e: Event| {
            if let Some(el) = e.target_dyn_into::<HtmlInputElement>() {
                inputs.set(Inputs {
                    paper_error: el.checked(),
                    ..(*inputs).clone()
                });
            }
        })
    };

    let families = forecast::families();
    let options = families.iter().map(|f| {
        html! { <option value={f.name.clone()} selected={inputs.family == f.name}>{f.label.clone()}</option> }
    });
    let provenance = match coefficients(&inputs) {
        Ok(c) if c.name != CUSTOM => format!(
            "c = {} ± {}, I = {} ± {}. {}",
            c.slope, c.slope_se, c.intercept, c.intercept_se, c.provenance
        ),
        Ok(c) => format!(
            "Your own coefficients, e.g. from calibrating on tasks you measured; {}.",
            c.provenance
        ),
        Err(_) => "Enter a slope and an intercept.".to_string(),
    };

    // Which inputs to mark invalid: each is checked on its own, so an error in one field
    // does not flag the others.
    let coslow_bad = parse_number("CoS-Low", &inputs.coslow)
        .ok()
        .and_then(|v| forecast::check_coslow(v).ok())
        .is_none();
    let slope_bad = custom && parse_number("slope", &inputs.slope).is_err();
    let intercept_bad = custom && parse_number("intercept", &inputs.intercept).is_err();

    let (ok, error) = match &*outcome {
        Ok(o) => (Some(o.clone()), None),
        Err(e) => (None, Some(e.clone())),
    };
    let auc_text = ok
        .as_deref()
        .map(|o| format::fixed(o.forecast.auc, 3))
        .unwrap_or_else(|| "—".into());
    let p_text = ok
        .as_deref()
        .map(|o| format::fixed(o.forecast.p, 3))
        .unwrap_or_else(|| "—".into());
    let auc_band = ok.as_deref().and_then(|o| {
        o.auc_band.filter(|b| b.hi > b.lo).map(|b| {
            format!(
                "{} band {} – {}",
                format::percent(o.level),
                format::fixed(b.lo, 3),
                format::fixed(b.hi, 3)
            )
        })
    });
    let notes = ok
        .as_deref()
        .map(|o| o.band_notes.clone())
        .unwrap_or_default();

    html! {
        <section id="step-forecast" class="step" aria-labelledby="step-forecast-heading">
            <h2 id="step-forecast-heading"><span class="step-num">{"5"}</span>{"Forecast"}</h2>
            <p class="step-intro">
                {"CoS-Low is the median cosine similarity between the gradients of 32 labeled \
                  low-confidence examples. Step 4 computes it and fills it in here; you can also enter \
                  a value you measured. The forecast is AUC′ = c × CoS-Low + I, and the learning curve \
                  share = x"}<sup>{"p"}</sup>{" with p = (1 − AUC′) / AUC′ on a log budget axis up to "}
                {format::budget(DEFAULT_MAX_BUDGET)}{" examples."}
            </p>
            <div class="forecast-grid">
                <div class="controls card">
                    <div class="field">
                        <label for="coslow">{"CoS-Low"}</label>
                        <input id="coslow" type="text" inputmode="decimal" autocomplete="off" spellcheck="false"
                            aria-describedby="coslow-help" aria-invalid={coslow_bad.to_string()}
                            value={inputs.coslow.clone()} oninput={on_coslow} />
                        <p id="coslow-help" class="help">{"A cosine, between −1 and 1."}</p>
                    </div>
                    <div class="field">
                        <label for="coef-set">{"Coefficients (model family)"}</label>
                        <select id="coef-set" aria-describedby="coef-provenance" onchange={on_family}>
                            {for options}
                            <option value={CUSTOM} selected={custom}>{"Custom…"}</option>
                        </select>
                    </div>
                    <div class="field-row">
                        <div class="field">
                            <label for="coef-slope">{"Slope c"}</label>
                            <input id="coef-slope" type="text" inputmode="decimal" autocomplete="off"
                                aria-invalid={slope_bad.to_string()}
                                disabled={!custom} value={inputs.slope.clone()} oninput={on_slope} />
                        </div>
                        <div class="field">
                            <label for="coef-intercept">{"Intercept I"}</label>
                            <input id="coef-intercept" type="text" inputmode="decimal" autocomplete="off"
                                aria-invalid={intercept_bad.to_string()}
                                disabled={!custom} value={inputs.intercept.clone()} oninput={on_intercept} />
                        </div>
                    </div>
                    <p id="coef-provenance" class="help provenance">{provenance}</p>
                    <div class="check">
                        <input id="paper-error" type="checkbox" checked={inputs.paper_error} onchange={on_paper_error} />
                        <label for="paper-error">
                            {"Widen the band by the paper's reported prediction error (8.6%) between tasks"}
                        </label>
                    </div>
                </div>
                <div class="results card">
                    <dl class="stats">
                        <div>
                            <dt>{"Predicted AUC′"}</dt>
                            <dd id="predicted-auc" class="stat">{auc_text}</dd>
                        </div>
                        <div>
                            <dt>{"Curve exponent p"}</dt>
                            <dd id="forecast-p" class="stat">{p_text}</dd>
                        </div>
                    </dl>
                    if let Some(b) = auc_band {
                        <p class="muted small">{"AUC′ "}{b}</p>
                    }
                    <p id="forecast-error" class="error-text" role="alert">{error.clone().unwrap_or_default()}</p>
                    if let Some(o) = ok.as_deref() {
                        {summary(o)}
                    }
                    if !notes.is_empty() {
                        <ul class="notes">{for notes.iter().map(|n| html! { <li>{n.clone()}</li> })}</ul>
                    }
                </div>
            </div>
            <ForecastChart outcome={ok.clone()} max_budget={DEFAULT_MAX_BUDGET} />
            <BudgetTable outcome={ok.clone()} />
            if let Some(o) = ok {
                <div class="button-row">
                    <button type="button" id="report-json" class="button secondary" onclick={{
                        let (o, i) = (o.clone(), (*inputs).clone());
                        Callback::from(move |_: MouseEvent| {
                            // The report holds no rows of the data, only the forecast's numbers.
                            let _ = download("labelcast-forecast.json", &report_json(&o, &i), "application/json");
                        })
                    }}>{"Download the forecast (JSON, no data rows)"}</button>
                    <button type="button" id="report-html" class="button secondary" onclick={{
                        let (o, i, ctx) = (o.clone(), (*inputs).clone(), props.report.clone());
                        Callback::from(move |_: MouseEvent| {
                            let html = report_html(&o, &i, &ctx, &now_utc());
                            let _ = download("labelcast-forecast.html", &html, "text/html");
                        })
                    }}>{"Download a readable report (HTML, no data rows)"}</button>
                </div>
            }
        </section>
    }
}
