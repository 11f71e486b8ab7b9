//! What the forecast panel shows, computed from its text inputs with labelcast-core.
//! Kept out of the component so every path (including every invalid input) is tested
//! natively and none of them can panic in the browser.

use std::rc::Rc;

use labelcast_core::band::{
    self, coslow_bootstrap, BandExtras, BandOptions, Interval, PAPER_PREDICTION_ERROR,
};
use labelcast_core::forecast::{
    self, Coefficients, Forecast, DEFAULT_CURVE_POINTS, DEFAULT_MAX_BUDGET, DEFAULT_TARGETS,
};

/// Value of the coefficient select that enables the slope and intercept inputs.
pub const CUSTOM: &str = "custom";

/// The worked example of METHOD.md 1e, so the chart shows something meaningful on load.
pub const DEFAULT_COSLOW: &str = "0.65";

/// The panel's inputs, as typed. Strings, so half-typed numbers ("0.", "-") are kept
/// in the inputs while the panel explains what is wrong with them.
#[derive(Debug, Clone, PartialEq)]
pub struct Inputs {
    pub coslow: String,
    pub family: String,
    pub slope: String,
    pub intercept: String,
    /// Widen the band by the paper's reported between-task prediction error.
    pub paper_error: bool,
    /// CoS-Low measured on the page and its pairwise cosines: while the CoS-Low input holds
    /// exactly this value, the band also resamples the examples (as `labelcast forecast
    /// --model` does).
    pub measured: Option<(f64, Rc<Vec<Vec<f64>>>)>,
}

impl Default for Inputs {
    fn default() -> Self {
        let first = forecast::families().into_iter().next();
        Inputs {
            coslow: DEFAULT_COSLOW.to_string(),
            family: first
                .as_ref()
                .map(|f| f.name.clone())
                .unwrap_or_else(|| CUSTOM.into()),
            slope: first
                .as_ref()
                .map(|f| f.slope.to_string())
                .unwrap_or_default(),
            intercept: first
                .as_ref()
                .map(|f| f.intercept.to_string())
                .unwrap_or_default(),
            paper_error: false,
            measured: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct BudgetRow {
    pub target: f64,
    pub budget: f64,
    /// The band's interval for this target, when the band could be computed.
    pub band: Option<Interval>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub coefficients: Coefficients,
    pub forecast: Forecast,
    /// (budget, share) of the central forecast.
    pub curve: Vec<(f64, f64)>,
    /// (budget, share lo, share hi); empty when there is no band.
    pub band_curve: Vec<(f64, f64, f64)>,
    pub auc_band: Option<Interval>,
    pub rows: Vec<BudgetRow>,
    /// Coverage of the band, e.g. 0.9.
    pub level: f64,
    /// What the band's width reflects, or why it is missing or has no width.
    pub band_notes: Vec<String>,
}

/// Parses a number typed by a person: surrounding spaces and a decimal comma are
/// accepted, because both are common and unambiguous in a single-number field.
pub fn parse_number(what: &str, text: &str) -> Result<f64, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err(format!("Enter a value for {what}."));
    }
    let normalized = if t.contains(',') && !t.contains('.') {
        t.replace(',', ".")
    } else {
        t.to_string()
    };
    match normalized.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(format!("{what} must be a number, got \"{t}\".")),
    }
}

/// The coefficients the inputs select: a published family, or custom slope/intercept.
pub fn coefficients(inputs: &Inputs) -> Result<Coefficients, String> {
    if inputs.family == CUSTOM {
        let slope = parse_number("the slope c", &inputs.slope)?;
        let intercept = parse_number("the intercept I", &inputs.intercept)?;
        Ok(Coefficients::custom(slope, intercept))
    } else {
        forecast::family(&inputs.family).map_err(|e| e.to_string())
    }
}

/// Everything the panel shows, or the one message that explains why it cannot.
pub fn compute(inputs: &Inputs) -> Result<Outcome, String> {
    let coslow = parse_number("CoS-Low", &inputs.coslow)?;
    let c = coefficients(inputs)?;
    let max_budget = DEFAULT_MAX_BUDGET;
    let f = Forecast::from_coslow(coslow, &c, max_budget).map_err(|e| e.to_string())?;
    let curve = f.curve(DEFAULT_CURVE_POINTS);
    let opts = BandOptions::default();
    let level = opts.level;

    // The band widens the forecast by the known uncertainties; when it fails (it should
    // not for an input the point forecast accepts), the central forecast is still valid and
    // is shown with the reason the band is missing.
    let extras = BandExtras {
        prediction_error: inputs.paper_error.then_some(PAPER_PREDICTION_ERROR),
        ..BandExtras::default()
    };
    let targets = &DEFAULT_TARGETS;
    let samples = match &inputs.measured {
        Some((m, cosines)) if *m == coslow => {
            Some(coslow_bootstrap(cosines, opts.resamples, opts.seed).map_err(|e| e.to_string())?)
        }
        _ => None,
    };
    let (band, band_notes) =
        match band::band_with(coslow, samples.as_deref(), &c, targets, max_budget, &opts, &extras) {
            Ok(b) => {
                let notes = b.notes.clone();
                (Some(b), notes)
            }
            Err(e) => (None, vec![format!("No uncertainty band: {e}")]),
        };

    let mut rows = Vec::with_capacity(DEFAULT_TARGETS.len());
    for &t in targets {
        let budget = f.budget_for(t).map_err(|e| e.to_string())?;
        let interval = band.as_ref().and_then(|b| {
            b.budgets
                .iter()
                .find(|(bt, _)| (bt - t).abs() < 1e-12)
                .map(|(_, i)| *i)
        });
        rows.push(BudgetRow {
            target: t,
            budget,
            band: interval,
        });
    }

    Ok(Outcome {
        auc_band: band.as_ref().map(|b| b.auc),
        band_curve: band.map(|b| b.curve).unwrap_or_default(),
        coefficients: c,
        forecast: f,
        curve,
        rows,
        level,
        band_notes,
    })
}

/// The row a one-line summary quotes: 90% (the paper's headline target), else the highest.
pub fn key_row(o: &Outcome) -> Option<&BudgetRow> {
    o.rows.iter().find(|r| r.target == 0.9).or_else(|| o.rows.last())
}

/// The forecast as a JSON report: the numbers and where they come from, and no rows of
/// the user's data (the report may be shared).
pub fn report_json(o: &Outcome, inputs: &Inputs) -> String {
    let c = &o.coefficients;
    let budgets: serde_json::Map<String, serde_json::Value> = o
        .rows
        .iter()
        .map(|r| {
            let band = r.band.map(|b| serde_json::json!({"lo": b.lo, "hi": b.hi}));
            (r.target.to_string(), serde_json::json!({"budget": r.budget, "band": band}))
        })
        .collect();
    let measured = inputs.measured.as_ref().map(|(v, cos)| {
        serde_json::json!({"coslow": v, "examples": cos.len(), "pairs": cos.len() * cos.len().saturating_sub(1) / 2})
    });
    let report = serde_json::json!({
        "generated_by": "labelcast (browser)",
        "coslow": parse_number("CoS-Low", &inputs.coslow).ok(),
        "measured_on_this_page": measured,
        "coefficients": {
            "name": c.name, "label": c.label, "slope": c.slope, "intercept": c.intercept,
            "slope_se": c.slope_se, "intercept_se": c.intercept_se, "provenance": c.provenance,
        },
        "predicted_auc": o.forecast.auc,
        "p": o.forecast.p,
        "max_budget": o.forecast.max_budget,
        "band_level": o.level,
        "band_notes": o.band_notes,
        "budgets": budgets,
    });
    serde_json::to_string_pretty(&report).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(coslow: &str, family: &str) -> Inputs {
        Inputs {
            coslow: coslow.into(),
            family: family.into(),
            ..Inputs::default()
        }
    }

    #[test]
    fn default_inputs_give_a_forecast_for_every_target() {
        let o = compute(&Inputs::default()).expect("default forecast");
        assert_eq!(o.rows.len(), DEFAULT_TARGETS.len());
        assert_eq!(o.curve.len(), DEFAULT_CURVE_POINTS);
        for w in o.rows.windows(2) {
            assert!(w[0].budget < w[1].budget, "budgets grow with the target");
        }
        assert!(o
            .rows
            .iter()
            .all(|r| r.budget >= 1.0 && r.budget <= DEFAULT_MAX_BUDGET));
    }

    #[test]
    fn worked_example_of_method_1e() {
        // CoS-Low 0.65 with (c, I) = (0.54, 0.31): AUC' = 0.661, about 1028 examples at 90%.
        let i = Inputs {
            coslow: "0.65".into(),
            family: CUSTOM.into(),
            slope: "0.54".into(),
            intercept: "0.31".into(),
            paper_error: false,
            measured: None,
        };
        let o = compute(&i).expect("forecast");
        assert!((o.forecast.auc - 0.661).abs() < 1e-9);
        let b90 = o
            .rows
            .iter()
            .find(|r| r.target == 0.9)
            .expect("90% row")
            .budget;
        assert!((b90 - 1028.0).abs() < 5.0, "got {b90}");
        assert!(
            !o.band_notes.is_empty(),
            "custom coefficients have no standard errors"
        );
    }

    #[test]
    fn coslow_out_of_range_shows_core_error() {
        let e = compute(&inputs("1.5", "llama-3.1-8b-instruct")).unwrap_err();
        assert!(e.contains("CoS-Low must lie in [-1, 1]"), "{e}");
    }

    #[test]
    fn auc_out_of_range_shows_core_error() {
        let i = Inputs {
            coslow: "0.9".into(),
            family: CUSTOM.into(),
            slope: "1".into(),
            intercept: "0.5".into(),
            paper_error: false,
            measured: None,
        };
        let e = compute(&i).unwrap_err();
        assert!(e.contains("strictly between 0 and 1"), "{e}");
    }

    #[test]
    fn unparsable_inputs_are_explained() {
        assert!(compute(&inputs("", "llama-3.1-8b-instruct"))
            .unwrap_err()
            .contains("Enter"));
        assert!(compute(&inputs("abc", "llama-3.1-8b-instruct"))
            .unwrap_err()
            .contains("number"));
        assert!(compute(&inputs("NaN", "llama-3.1-8b-instruct")).is_err());
        assert!(compute(&inputs("inf", "llama-3.1-8b-instruct")).is_err());
        let custom = Inputs {
            slope: "x".into(),
            ..inputs("0.5", CUSTOM)
        };
        assert!(compute(&custom).unwrap_err().contains("slope"));
        assert!(compute(&inputs("0.5", "no-such-family"))
            .unwrap_err()
            .contains("unknown"));
    }

    #[test]
    fn decimal_comma_and_spaces_are_accepted() {
        assert_eq!(parse_number("x", " 0,65 "), Ok(0.65));
        assert_eq!(parse_number("x", "-0.2"), Ok(-0.2));
        assert!(parse_number("x", "1,000.5").is_err());
    }

    #[test]
    fn paper_error_widens_the_band() {
        let narrow = compute(&Inputs::default()).expect("forecast");
        let wide = compute(&Inputs {
            paper_error: true,
            ..Inputs::default()
        })
        .expect("forecast");
        let width = |o: &Outcome| {
            let i = o
                .rows
                .iter()
                .find(|r| r.target == 0.9)
                .and_then(|r| r.band)
                .expect("band");
            i.hi - i.lo
        };
        assert!(width(&wide) > width(&narrow));
        // The point forecast does not move.
        let budgets = |o: &Outcome| o.rows.iter().map(|r| r.budget).collect::<Vec<_>>();
        assert_eq!(budgets(&narrow), budgets(&wide));
    }

    #[test]
    fn measured_cosines_widen_the_band_only_for_their_own_value() {
        let cos = Rc::new(vec![
            vec![1.0, 0.2, 0.6, 0.4],
            vec![0.2, 1.0, 0.3, 0.7],
            vec![0.6, 0.3, 1.0, 0.5],
            vec![0.4, 0.7, 0.5, 1.0],
        ]);
        let measured = Inputs {
            coslow: "0.45".into(),
            measured: Some((0.45, cos.clone())),
            ..Inputs::default()
        };
        let plain = Inputs {
            measured: None,
            ..measured.clone()
        };
        let width = |i: &Inputs| {
            let o = compute(i).expect("forecast");
            let b = o.rows.iter().find(|r| r.target == 0.9).and_then(|r| r.band).expect("band");
            (b.hi - b.lo, o.rows.iter().map(|r| r.budget).collect::<Vec<_>>())
        };
        let (wide, budgets_a) = width(&measured);
        let (narrow, budgets_b) = width(&plain);
        assert!(wide > narrow, "{wide} vs {narrow}");
        assert_eq!(budgets_a, budgets_b, "the point forecast does not depend on the band");
        let edited = Inputs {
            coslow: "0.46".into(),
            ..measured
        };
        let (w, _) = width(&edited);
        assert!(w < wide, "an edited CoS-Low no longer uses the measured cosines");
    }

    #[test]
    fn report_has_the_numbers_and_no_rows() {
        let i = Inputs::default();
        let o = compute(&i).expect("forecast");
        let r: serde_json::Value = serde_json::from_str(&report_json(&o, &i)).expect("json");
        assert_eq!(r["coslow"], 0.65);
        // serde_json's parser (without float_roundtrip) may be one ulp off; the writer is exact.
        let b = r["budgets"]["0.9"]["budget"].as_f64().expect("budget");
        assert!((b - o.rows[3].budget).abs() <= 1e-9 * o.rows[3].budget);
        assert!(r["measured_on_this_page"].is_null());
    }

    #[test]
    fn published_families_have_a_band() {
        for f in forecast::families() {
            let o = compute(&inputs("0.5", &f.name)).expect("forecast");
            assert!(o.rows.iter().all(|r| r.band.is_some()), "{}", f.name);
            assert!(!o.band_curve.is_empty());
        }
    }
}
