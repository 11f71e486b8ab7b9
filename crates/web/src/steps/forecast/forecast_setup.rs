//! The forecast's choices (the model to fine-tune, the coefficient set, custom numbers) and
//! the calibration files loaded in step 5, kept in this browser (`forecast_saved`) so a
//! reload or loading the model again keeps them. A hook, so `App` stays a layout; the rules
//! live in `coef_sets`.

use std::rc::Rc;

use yew::prelude::*;

use crate::browser::file_read;
use crate::steps::forecast::coef_sets::{calibrations, parse_calibration, Calibration, Choice};
use crate::steps::forecast::forecast_saved::{load_forecast, save_forecast, ForecastSaved};

#[derive(Clone, PartialEq)]
pub struct ForecastSetup {
    pub saved: UseStateHandle<ForecastSaved>,
    /// The loaded files (first) and the shipped runs, with their proxy sets.
    pub cals: Rc<Vec<Calibration>>,
    /// What loading a calibration file gave (ok, message), or why a kept one no longer reads.
    pub message: UseStateHandle<Option<(bool, String)>>,
    pub save_error: UseStateHandle<Option<String>>,
}

impl ForecastSetup {
    pub fn choice(&self) -> &Choice {
        &self.saved.choice
    }

    pub fn set_choice(&self, choice: Choice) {
        if choice != self.saved.choice {
            self.saved.set(ForecastSaved { choice, ..(*self.saved).clone() });
        }
    }

    /// Reads a calibration results file; a valid one replaces an earlier file of the same name
    /// and goes first, so its sets win over older files and the shipped runs.
    pub fn load_file(&self, file: web_sys::File) {
        let s = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let name = file.name();
            let text = match file_read::read_file(&file, |_| {}).await {
                Ok(b) => String::from_utf8_lossy(&b).into_owned(),
                Err(e) => return s.message.set(Some((false, format!("{name}: {e}")))),
            };
            match parse_calibration(&name, &text) {
                Ok(c) => {
                    let fams: Vec<&str> = c.sets.iter().map(|p| p.family_label.as_str()).collect();
                    s.message.set(Some((
                        true,
                        format!(
                            "{name}: the calibration of {} on {} tasks, with sets for fine-tuning {}. \
                             Its sets apply to that model, before those shipped with labelcast.",
                            c.run.model.label,
                            c.run.tasks.len(),
                            fams.join(", ")
                        ),
                    )));
                    let mut next = (*s.saved).clone();
                    next.calibrations.retain(|(n, _)| *n != name);
                    next.calibrations.insert(0, (name, text));
                    s.saved.set(next);
                }
                Err(e) => s.message.set(Some((false, e.to_string()))),
            }
        });
    }

    pub fn remove_file(&self, name: &str) {
        let mut next = (*self.saved).clone();
        next.calibrations.retain(|(n, _)| n != name);
        self.saved.set(next);
        self.message.set(None);
    }

    /// "Clear my work from this browser": the choices and files go too.
    pub fn clear(&self) {
        self.saved.set(ForecastSaved::default());
        self.message.set(None);
    }
}

#[hook]
pub fn use_forecast_setup() -> ForecastSetup {
    let saved = use_state(load_forecast);
    let message = use_state(|| None);
    let save_error = use_state(|| None);
    let parsed = use_memo(saved.calibrations.clone(), |files| {
        let (cals, errors) = calibrations(files);
        (Rc::new(cals), errors)
    });
    {
        let (message, errors) = (message.clone(), parsed.1.clone());
        use_effect_with(errors, move |errors| {
            if !errors.is_empty() {
                message.set(Some((false, errors.join(" "))));
            }
        });
    }
    {
        let save_error = save_error.clone();
        use_effect_with((*saved).clone(), move |f| save_error.set(save_forecast(f).err().map(|e| e.to_string())));
    }
    ForecastSetup { saved, cals: parsed.0.clone(), message, save_error }
}
