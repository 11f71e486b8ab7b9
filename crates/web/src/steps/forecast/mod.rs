//! Step 5, the forecast: the coefficient set and the choices behind it, the curve and budgets,
//! the run's features for proxy sets, and the HTML report.

pub mod budget_table;
pub mod chart;
pub mod chart_svg;
pub mod coef_controls;
pub mod coef_sets;
pub mod forecast_error;
pub mod forecast_model;
pub mod forecast_panel;
pub mod forecast_saved;
pub mod forecast_setup;
pub mod report_html;
pub mod run_features;
