//! labelcast in the browser. The pure modules (chart geometry, formatting, forecast and
//! role models, problem lists, the work reducer, selection and labels, histograms, storage
//! encoding) are tested natively; the components and the worker client need a browser.

pub mod annotate_model;
pub mod app;
pub mod chart_math;
pub mod chart_svg;
pub mod coef_match;
pub mod coef_sets;
pub mod components;
pub mod data_model;
pub mod data_state;
pub mod download;
pub mod engine_client;
pub mod file_read;
pub mod forecast_model;
pub mod forecast_setup;
pub mod format;
pub mod histogram;
pub mod idb;
pub mod keep;
pub mod label_fill;
pub mod model_cache;
pub mod model_fetch;
pub mod model_files;
pub mod model_pick;
pub mod model_source;
pub mod next_model;
pub mod pace;
pub mod page_query;
pub mod parse_worker;
pub mod pool;
pub mod problems;
pub mod report_html;
pub mod roles_model;
pub mod run_features;
pub mod session;
pub mod storage;
pub mod store;
pub mod workflow;
