//! labelcast-core: everything labelcast computes that needs no language model.
//!
//! Pure logic only: no file system, no network, no GPU, no clock. It builds for
//! `wasm32-unknown-unknown` (the browser app parses and forecasts with it) and natively
//! (the `labelcast` CLI). Methods follow `METHOD.md`; section numbers in the docs refer to it.

pub mod auc;
pub mod backend;
pub mod band;
pub mod calibrate;
pub mod error;
pub mod example;
pub mod forecast;
pub mod method;
pub mod order;
pub mod rng;
pub mod scores;
pub mod select;
pub mod stats;
pub mod suite;
pub mod table;
pub mod token_stats;
pub mod words;

pub use error::{Error, Result};
