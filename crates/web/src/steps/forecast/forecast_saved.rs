//! The forecast's choices and the calibration files loaded for it, kept in localStorage
//! (`browser::storage`) so a reload or loading the model again keeps them.

use serde::{Deserialize, Serialize};

use crate::browser::storage::{local, FORECAST_KEY};
use crate::steps::forecast::coef_sets::Choice;

/// The forecast's choices and the calibration files loaded for it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ForecastSaved {
    pub choice: Choice,
    /// Calibration results files loaded in the page: (file name, text).
    pub calibrations: Vec<(String, String)>,
}

pub fn encode_forecast(f: &ForecastSaved) -> serde_json::Result<String> {
    serde_json::to_string(f)
}

/// Why the forecast's choices are not kept across reloads.
#[derive(Debug, thiserror::Error)]
pub enum ForecastSaveError {
    #[error("this browser does not allow local storage")]
    NoStorage,
    #[error(
        "The forecast's choices are not kept across reloads: the browser refused to store {}.",
        crate::format::bytes(*bytes as f64)
    )]
    Refused { bytes: usize },
    #[error("The forecast's choices are not kept across reloads: {0}")]
    Encode(#[from] serde_json::Error),
}

pub fn decode_forecast(text: &str) -> Option<ForecastSaved> {
    serde_json::from_str(text).ok()
}

/// Saves the choices; the defaults are not saved (nothing of the person's is left after a clear).
pub fn save_forecast(f: &ForecastSaved) -> Result<(), ForecastSaveError> {
    let store = local().ok_or(ForecastSaveError::NoStorage)?;
    if *f == ForecastSaved::default() {
        let _ = store.remove_item(FORECAST_KEY);
        return Ok(());
    }
    let text = encode_forecast(f)?;
    store.set_item(FORECAST_KEY, &text).map_err(|_| ForecastSaveError::Refused { bytes: text.len() })
}

pub fn load_forecast() -> ForecastSaved {
    local().and_then(|s| s.get_item(FORECAST_KEY).ok().flatten()).and_then(|t| decode_forecast(&t)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forecast_choices_round_trip_and_garbage_gives_the_defaults() {
        let f = ForecastSaved {
            choice: Choice {
                target: Some("mistral-7b-instruct-v0.3".into()),
                coef: "custom".into(),
                slope: "0.5".into(),
                intercept: "0.3".into(),
            },
            calibrations: vec![("mine.json".into(), "{\"format\": 1}".into())],
        };
        assert_eq!(decode_forecast(&encode_forecast(&f).expect("encode")), Some(f));
        assert!(decode_forecast("nope").is_none());
        let old = decode_forecast("{}").expect("fields default");
        assert_eq!(old, ForecastSaved::default());
        assert_eq!(old.choice.coef, crate::steps::forecast::coef_sets::AUTO);
    }
}
