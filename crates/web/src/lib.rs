//! labelcast in the browser. The pure modules (chart geometry, formatting, forecast and
//! role models, problem lists, the work reducer, selection and labels, histograms, storage
//! encoding) are tested natively; the components and the worker client need a browser.
//!
//! `steps/` holds each step of the page with its model and its component; `chart/` the
//! drawing; `browser/` what talks to the browser (storage, files, the model workers);
//! `components/` the pieces several steps use; `state/` the page's state and its transitions
//! (the store `app` lays out, and the storage hook beside it). The page itself (`app`), the
//! work reducer (`workflow`) and `format` are at the top.

pub mod app;
pub mod browser;
pub mod chart;
pub mod components;
pub mod format;
pub mod state;
pub mod steps;
pub mod workflow;

// The paths crates/web/tests and fuzz/fuzz_targets name these by.
pub use steps::annotate::{annotate_model, label_fill};
pub use steps::model::model_source;
