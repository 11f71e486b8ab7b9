//! labelcast in the browser. The pure modules (chart geometry, formatting, forecast and
//! role models, problem lists, the work reducer, selection and labels, histograms, storage
//! encoding) are tested natively; the components and the worker client need a browser.

pub mod annotate_model;
pub mod app;
pub mod browser;
pub mod chart;
pub mod coef_match;
pub mod coef_sets;
pub mod components;
pub mod data_model;
pub mod data_state;
pub mod forecast_model;
pub mod forecast_setup;
pub mod format;
pub mod label_fill;
pub mod model_files;
pub mod model_pick;
pub mod model_source;
pub mod next_model;
pub mod pace;
pub mod parse_worker;
pub mod problems;
pub mod report_html;
pub mod roles_model;
pub mod run_features;
pub mod session;
pub mod workflow;
