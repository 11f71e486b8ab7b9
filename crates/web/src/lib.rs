//! labelcast in the browser. The pure modules (chart geometry, formatting, forecast and
//! role models, problem lists) are tested natively; the components need a browser.

pub mod app;
pub mod chart_math;
pub mod components;
pub mod data_model;
pub mod file_read;
pub mod forecast_model;
pub mod format;
pub mod problems;
pub mod roles_model;
