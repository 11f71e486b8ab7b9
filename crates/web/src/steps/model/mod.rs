//! The model card: which files make a model, where one may be downloaded from, and the name the
//! page shows for it. Downloading and caching it are the browser's (`browser::model_fetch`).

pub mod coef_match;
pub mod model_error;
pub mod model_files;
pub mod model_pick;
pub mod model_source;
pub mod model_step;
