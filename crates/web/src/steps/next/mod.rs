//! Step 6, the next batch to annotate and a training order of the labeled rows.

pub mod next_model;
pub mod next_step;
