//! The page's state and its transitions, owned in one place: `page` composes the pool (`data`),
//! the model side (`session`, with `model_load` and `labels`) and the forecast's choices into
//! the store `App` lays out, with the storage hook (`keep`, `migrate`) beside it. The work
//! reducer itself is `workflow`, pure and tested natively.

pub mod data;
pub mod keep;
mod labels;
mod migrate;
mod model_load;
pub mod page;
pub mod session;
