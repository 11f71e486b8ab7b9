//! The page's components. Each file is one piece of the page; shared logic lives in the
//! crate's pure modules so it can be tested without a browser.

pub mod annotate_step;
pub mod budget_table;
pub mod chart;
pub mod coef_controls;
pub mod confidence_step;
pub mod coslow_step;
pub mod data_step;
pub mod drop_zone;
pub mod errors;
pub mod field;
pub mod forecast_panel;
pub mod icons;
pub mod job_progress;
pub mod model_step;
pub mod next_step;
pub mod preview;
pub mod roles;
