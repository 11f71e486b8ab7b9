//! The forecast's choices: which model will be fine-tuned, and (advanced) which coefficients
//! turn CoS-Low into data efficiency — the set for the loaded model by default, another
//! model's set, a published family or custom numbers — plus loading a calibration file of
//! `labelcast calibrate-suite`. What each choice means is decided in `coef_sets`.

use std::collections::BTreeMap;
use std::rc::Rc;

use labelcast_core::forecast::families;
use labelcast_core::suite::fit::Feature;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::format;
use crate::steps::forecast::coef_sets::{Chosen, Kind, AUTO, CUSTOM, PROXY};
use crate::steps::forecast::forecast_error::CoefError;
use crate::steps::forecast::forecast_model::parse_number;
use crate::steps::forecast::forecast_setup::ForecastSetup;

#[derive(Properties, PartialEq)]
pub struct CoefControlsProps {
    pub setup: ForecastSetup,
    /// The set the choice gives, or why there is none.
    pub chosen: Rc<Result<Chosen, CoefError>>,
    pub model_loaded: bool,
}

/// The coefficient set's numbers and where they come from, in one line.
fn provenance(c: &Chosen) -> String {
    match (c.kind, &c.proxy, c.coefficients(&BTreeMap::new())) {
        (Kind::Proxy | Kind::Baseline, Some(p), _) => {
            // Core's provenance starts mid-sentence ("fitted by labelcast …").
            let mut prov = p.provenance.clone();
            if let Some(first) = prov.get(..1).map(str::to_uppercase) {
                prov.replace_range(..1, &first);
            }
            format!("AUC′ = {}. {prov}.", p.model_fit.formula().replace("coslow", "CoS-Low"))
        }
        (Kind::Published, _, Ok(k)) => {
            format!("c = {} ± {}, I = {} ± {}. {}", k.slope, k.slope_se, k.intercept, k.intercept_se, k.provenance)
        }
        _ => "Your own coefficients, e.g. from labelcast calibrate on tasks you measured with this model.".into(),
    }
}

#[function_component(CoefControls)]
pub fn coef_controls(p: &CoefControlsProps) -> Html {
    let choice = p.setup.choice().clone();
    let chosen = p.chosen.as_ref().as_ref().ok();
    let on_target = {
        let (setup, choice) = (p.setup.clone(), choice.clone());
        Callback::from(move |e: Event| {
            if let Some(sel) = e.target_dyn_into::<HtmlSelectElement>() {
                setup.set_choice(crate::steps::forecast::coef_sets::Choice {
                    target: Some(sel.value()),
                    ..choice.clone()
                });
            }
        })
    };
    let on_coef = {
        let (setup, choice) = (p.setup.clone(), choice.clone());
        // Custom starts from the numbers in use, when they are a plain line in CoS-Low.
        let start = chosen.and_then(|c| c.coefficients(&[(Feature::Coslow, 0.0)].into()).ok());
        Callback::from(move |e: Event| {
            let Some(sel) = e.target_dyn_into::<HtmlSelectElement>() else {
                return;
            };
            let mut next = crate::steps::forecast::coef_sets::Choice { coef: sel.value(), ..choice.clone() };
            if next.coef == CUSTOM && next.slope.is_empty() && next.intercept.is_empty() {
                if let Some(k) = &start {
                    next.slope = format::fixed(k.slope, 3);
                    next.intercept = format::fixed(k.intercept, 3);
                }
            }
            setup.set_choice(next);
        })
    };
    let on_number = |set: fn(&mut crate::steps::forecast::coef_sets::Choice, String)| {
        let (setup, choice) = (p.setup.clone(), choice.clone());
        Callback::from(move |e: InputEvent| {
            if let Some(el) = e.target_dyn_into::<HtmlInputElement>() {
                let mut next = choice.clone();
                set(&mut next, el.value());
                setup.set_choice(next);
            }
        })
    };
    let on_file = {
        let setup = p.setup.clone();
        Callback::from(move |e: Event| {
            if let Some(input) = e.target_dyn_into::<HtmlInputElement>() {
                if let Some(f) = input.files().and_then(|l| l.get(0)) {
                    setup.load_file(f);
                }
                // Choosing the same file again must fire `change` again.
                input.set_value("");
            }
        })
    };

    let target = chosen.and_then(|c| c.target.clone()).or_else(|| choice.target.clone());
    let target_free = chosen.is_none_or(|c| c.target_free);
    let mut proxies: Vec<(String, String)> = Vec::new();
    for c in p.setup.cals.iter().filter(|c| !c.sets.is_empty()) {
        if !proxies.iter().any(|(n, _)| *n == c.run.model.name) {
            let from = if c.source == "shipped" { "shipped".to_string() } else { c.source.clone() };
            proxies.push((c.run.model.name.clone(), format!("{}'s calibrated sets ({from})", c.run.model.label)));
        }
    }
    let custom = choice.coef == CUSTOM;
    let auto_label = if p.model_loaded {
        "Follow the loaded model (recommended)"
    } else {
        "For the model that computed CoS-Low (recommended)"
    };
    let bad = |what: &str, v: &str| (custom && parse_number(what, v).is_err()).to_string();
    let files = &p.setup.saved.calibrations;
    html! {
        <>
            <div class="field">
                <label for="target-family">{"Fine-tuning which model?"}</label>
                <select autocomplete="off" id="target-family" onchange={on_target} disabled={!target_free} aria-describedby="target-help">
                    {for families().into_iter().map(|f| {
                        let selected = target.as_deref() == Some(f.name.as_str());
                        html! { <option value={f.name.clone()} {selected}>{f.label.clone()}</option> }
                    })}
                </select>
                <p id="target-help" class="help">
                    {if target_free {
                        "The model whose fine-tuning the budget is for."
                    } else {
                        "Fixed by the coefficients: published ones predict their own model's fine-tuning."
                    }}
                </p>
            </div>
            <div class="field">
                <label for="coef-set">{"Advanced: coefficients"}</label>
                <select autocomplete="off" id="coef-set" aria-describedby="coef-provenance" onchange={on_coef}>
                    <option value={AUTO} selected={choice.coef == AUTO}>{auto_label}</option>
                    {for proxies.iter().map(|(name, label)| {
                        let v = format!("{PROXY}{name}");
                        html! { <option value={v.clone()} selected={choice.coef == v}>{label.clone()}</option> }
                    })}
                    {for families().into_iter().map(|f| html! {
                        <option value={f.name.clone()} selected={choice.coef == f.name}>{format!("{} (published)", f.label)}</option>
                    })}
                    <option value={CUSTOM} selected={custom}>{"Custom…"}</option>
                </select>
            </div>
            if custom {
                <div class="field-row">
                    <div class="field">
                        <label for="coef-slope">{"Slope c"}</label>
                        <input id="coef-slope" type="text" inputmode="decimal" autocomplete="off"
                            aria-invalid={bad("slope", &choice.slope)} value={choice.slope.clone()}
                            oninput={on_number(|c, v| c.slope = v)} />
                    </div>
                    <div class="field">
                        <label for="coef-intercept">{"Intercept I"}</label>
                        <input id="coef-intercept" type="text" inputmode="decimal" autocomplete="off"
                            aria-invalid={bad("intercept", &choice.intercept)} value={choice.intercept.clone()}
                            oninput={on_number(|c, v| c.intercept = v)} />
                    </div>
                </div>
            }
            <p id="coef-provenance" class="help provenance">
                {chosen.map(provenance).unwrap_or_default()}
            </p>
            <div class="field">
                <label class="button secondary file-button">
                    {"Load a calibration file…"}
                    <input autocomplete="off" id="calibration-file" type="file" accept=".json,application/json" class="visually-hidden" onchange={on_file} />
                </label>
                <p class="help">{"A results file of labelcast calibrate-suite for your model: its sets apply to the model it names."}</p>
                if !files.is_empty() {
                    <ul id="calibration-files" class="notes">
                        {for files.iter().map(|(name, _)| {
                            let (setup, n) = (p.setup.clone(), name.clone());
                            html! {
                                <li data-file={name.clone()}>{name.clone()}{" "}
                                    <button type="button" class="link-button" onclick={Callback::from(move |_: MouseEvent| setup.remove_file(&n))}>{"Remove"}</button>
                                </li>
                            }
                        })}
                    </ul>
                }
                if let Some((ok, m)) = &*p.setup.message {
                    <p id="calibration-message" class={if *ok { "help" } else { "error-text" }} role="status">{m.clone()}</p>
                }
            </div>
        </>
    }
}
