use super::*;
use crate::steps::forecast::coef_sets::{fixture_calibrations, model_id, resolve, ModelId, AUTO, CUSTOM};
use labelcast_core::band::{band_with, BandExtras};
use labelcast_protocol::ModelInfo;

fn choice(coef: &str) -> Choice {
    Choice { coef: coef.into(), ..Choice::default() }
}

fn custom(slope: &str, intercept: &str) -> Choice {
    Choice { coef: CUSTOM.into(), slope: slope.into(), intercept: intercept.into(), target: None }
}

fn inputs(coslow: &str, choice: Choice) -> Inputs {
    Inputs { coslow: coslow.into(), measured: None, choice }
}

/// The forecast with no model loaded (the set follows the choice alone).
fn run(i: &Inputs) -> Result<Outcome, NoForecast> {
    let chosen = resolve(None, &[], &i.choice)?;
    compute(i, &chosen)
}

fn smollm2() -> ModelId {
    model_id(&ModelInfo {
        file: "SmolLM2-135M-Instruct.Q4_1.gguf".into(),
        name: Some("Smollm2 135M 8k Lc100K Mix1 Ep2".into()),
        arch: "llama".into(),
        layers: 30,
        hidden: 576,
        vocab: 49152,
        context: 8192,
        bytes: 1.0,
        sha256: None,
    })
}

fn b90(o: &Outcome) -> f64 {
    o.rows.iter().find(|r| r.target == 0.9).expect("90% row").budget
}

fn width90(o: &Outcome) -> f64 {
    let b = o.rows.iter().find(|r| r.target == 0.9).and_then(|r| r.band).expect("band");
    b.hi - b.lo
}

#[test]
fn no_forecast_before_a_coslow_exists() {
    let e = run(&Inputs::default()).unwrap_err();
    assert_eq!(e, NoForecast::NoCoslow);
    assert!(e.message().contains("step 4"), "{}", e.message());
    assert!(run(&inputs("  ", choice(AUTO))).is_err());
    // The example value is only a placeholder, never the input's value.
    assert!(Inputs::default().coslow.is_empty());
}

#[test]
fn worked_example_of_method_1e() {
    // CoS-Low 0.65 with (c, I) = (0.54, 0.31): AUC' = 0.661, about 1028 examples at 90%.
    let o = run(&inputs("0.65", custom("0.54", "0.31"))).expect("forecast");
    assert!((o.forecast.auc - 0.661).abs() < 1e-9);
    assert!((b90(&o) - 1028.0).abs() < 5.0, "got {}", b90(&o));
    assert_eq!(o.rows.len(), DEFAULT_TARGETS.len());
    assert_eq!(o.curve.len(), DEFAULT_CURVE_POINTS);
    assert!(o.rows.windows(2).all(|w| w[0].budget < w[1].budget), "budgets grow with the target");
    // Shown with two significant digits, as the CLI prints it.
    let h = headline(&o).expect("headline");
    assert!(h.starts_with("About 1,000 labeled examples to reach 90%"), "{h}");
    assert!(o.band_notes.iter().any(|n| n.contains("between-task")), "custom numbers have no known task error");
    assert_eq!(o.set.kind, "custom");
}

#[test]
fn invalid_inputs_are_explained() {
    let e = |i: Inputs| run(&i).unwrap_err().message();
    assert!(e(inputs("1.5", choice("llama-3.1-8b-instruct"))).contains("CoS-Low must lie in [-1, 1]"));
    assert!(e(inputs("0.9", custom("1", "0.5"))).contains("strictly between 0 and 1"));
    assert!(e(inputs("abc", choice(AUTO))).contains("number"));
    assert!(run(&inputs("NaN", choice(AUTO))).is_err());
    assert!(run(&inputs("inf", choice(AUTO))).is_err());
    assert!(e(inputs("0.5", custom("x", "0.3"))).contains("slope"));
    assert!(e(inputs("0.5", custom("", "0.3"))).contains("Enter a value for the slope"));
    assert!(e(inputs("0.5", choice("no-such-family"))).contains("unknown"));
}

#[test]
fn decimal_comma_and_spaces_are_accepted() {
    assert_eq!(parse_number("x", " 0,65 "), Ok(0.65));
    assert_eq!(parse_number("x", "-0.2"), Ok(-0.2));
    assert!(parse_number("x", "1,000.5").is_err());
}

#[test]
fn a_published_set_includes_the_papers_error_by_default() {
    let o = run(&inputs("0.65", choice("llama-3.1-8b-instruct"))).expect("forecast");
    assert!((b90(&o) - 1007.0).abs() < 2.0, "METHOD.md 1e: about 1007, got {}", b90(&o));
    assert!(!o.band_notes.iter().any(|n| n.contains("between-task")), "{:?}", o.band_notes);
    let c = labelcast_core::forecast::family("llama-3.1-8b-instruct").unwrap();
    let narrow = band_with(0.65, None, &c, &[0.9], 5000.0, &BandOptions::default(), &BandExtras::default()).unwrap();
    assert!(width90(&o) > narrow.budgets[0].1.hi - narrow.budgets[0].1.lo);
}

#[test]
fn a_measured_coslow_shows_three_decimals_and_forecasts_from_its_exact_value() {
    let cos = Rc::new(vec![
        vec![1.0, 0.2, 0.6, 0.4],
        vec![0.2, 1.0, 0.3, 0.7],
        vec![0.6, 0.3, 1.0, 0.5],
        vec![0.4, 0.7, 0.5, 1.0],
    ]);
    let exact = 0.48704646031429266;
    assert_eq!(coslow_text(exact), "0.487");
    let m = MeasuredRun { coslow: exact, cosines: cos, features: Rc::new(BTreeMap::new()) };
    let shown = Inputs { coslow: coslow_text(exact), measured: Some(m), choice: choice("llama-3.1-8b-instruct") };
    let o = run(&shown).expect("forecast");
    assert_eq!(o.coslow, exact);
    assert!(o.measured && o.examples == Some(4));
    let typed = Inputs { measured: None, ..shown.clone() };
    let t = run(&typed).expect("forecast");
    assert_eq!(t.coslow, 0.487);
    assert!(width90(&o) > width90(&t), "the measured run's cosines widen the band");
    let edited = Inputs { coslow: "0.49".into(), ..shown };
    assert!(!run(&edited).unwrap().measured, "an edited CoS-Low is the typed number");
}

#[test]
fn a_proxy_set_gives_the_numbers_core_gives_and_its_residual_band() {
    let cals = fixture_calibrations();
    let chosen = resolve(Some(&smollm2()), &cals, &choice(AUTO)).expect("proxy set");
    let o = compute(&inputs("0.487", choice(AUTO)), &chosen).expect("forecast");
    assert_eq!(o.set.kind, "proxy");
    let set = chosen.proxy.as_ref().expect("set");
    // As `labelcast forecast --coslow 0.487 --proxy smollm2-135m-instruct --calibration F`.
    let c = set.coefficients(&[(Feature::Coslow, 0.487)].into()).unwrap();
    let f = Forecast::from_coslow(0.487, &c, DEFAULT_MAX_BUDGET).unwrap();
    assert_eq!(b90(&o), f.budget_for(0.9).unwrap());
    let extras = BandExtras { residuals: set.residuals.clone(), ..BandExtras::default() };
    let b = band_with(0.487, None, &c, &DEFAULT_TARGETS, DEFAULT_MAX_BUDGET, &BandOptions::default(), &extras).unwrap();
    assert_eq!(o.rows[3].band, Some(b.budgets[3].1));
    assert!(!o.band_notes.iter().any(|n| n.contains("between-task")));
    // Its residuals are its uncertainty, as a conformal band: no note that standard errors
    // are missing.
    assert!(o.band_conformal && o.band_notes.iter().any(|n| n.contains("split conformal")), "{:?}", o.band_notes);
    assert!(!o.band_notes.iter().any(|n| n.contains("standard errors")), "{:?}", o.band_notes);
    let custom = run(&inputs("0.487", custom("0.5", "0.3"))).unwrap();
    assert!(
        custom.band_notes.iter().any(|n| n.ends_with("have no standard errors; their uncertainty is not included")),
        "core's wording: {:?}",
        custom.band_notes
    );
}

#[test]
fn a_budget_above_the_pool_says_what_it_means() {
    let o = run(&inputs("0.65", choice("llama-3.1-8b-instruct"))).expect("forecast");
    let note = pool_note(&o, Some(400)).expect("1,000 > 400");
    assert!(note.contains("more than the 400 rows in your pool"), "{note}");
    assert!(note.contains("annotate all of them and expect to need more data"), "{note}");
    assert!(note.starts_with("1,000 labeled examples for 90%"), "{note}");
    assert_eq!(pool_note(&o, Some(5000)), None);
    assert_eq!(pool_note(&o, None), None);
    assert!(over_pool(1610.0, Some(400)) && !over_pool(396.0, Some(400)));
}

#[test]
fn report_has_the_set_the_numbers_and_no_rows() {
    let cals = fixture_calibrations();
    let chosen = resolve(Some(&smollm2()), &cals, &choice("llama-3.1-8b-instruct")).unwrap();
    let o = compute(&inputs("0.487", choice("llama-3.1-8b-instruct")), &chosen).expect("forecast");
    let r: serde_json::Value = serde_json::from_str(&report_json(&o, Some(67))).expect("json");
    assert_eq!(r["coslow"], 0.487);
    assert_eq!(r["coslow_shown"], "0.487");
    assert_eq!(r["coefficient_set"]["kind"], "published");
    assert_eq!(r["coefficient_set"]["name"], "llama-3.1-8b-instruct");
    assert!(
        r["coefficient_set"]["warning"].as_str().unwrap().contains("SmolLM2")
            || r["coefficient_set"]["warning"].as_str().unwrap().contains("Smollm2")
    );
    assert_eq!(r["predicted_auc_shown"], format::fixed(o.forecast.auc, 2));
    // serde_json's parser (without float_roundtrip) may be one ulp off; the writer is exact.
    let b = r["budgets"]["0.9"]["budget"].as_f64().expect("budget");
    assert!((b - o.rows[3].budget).abs() <= 1e-9 * o.rows[3].budget);
    assert_eq!(r["budgets"]["0.9"]["shown"], round_budget(o.rows[3].budget));
    assert_eq!(r["budgets"]["0.9"]["over_pool"], true);
    assert!(r["pool_note"].as_str().unwrap().contains("67 rows"));
    assert!(r["measured_on_this_page"].is_null());
}
