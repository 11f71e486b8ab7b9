//! The page's steps, each with its model and its component: model (the card), data, confidence,
//! annotate, coslow, forecast, next. What several steps use is outside: `components`, `chart`.

pub mod annotate;
pub mod confidence;
pub mod coslow;
pub mod data;
pub mod forecast;
pub mod model;
pub mod next;
