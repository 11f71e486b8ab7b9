//! The page's components. Each file is one piece of the page; shared logic lives in the
//! crate's pure modules so it can be tested without a browser.

pub mod budget_table;
pub mod chart;
pub mod data_step;
pub mod drop_zone;
pub mod errors;
pub mod forecast_panel;
pub mod icons;
pub mod later_steps;
pub mod preview;
pub mod roles;
