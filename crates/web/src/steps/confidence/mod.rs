//! Step 2, scoring the pool for the model's confidence, and how fast this computer scores.

pub mod confidence_step;
pub mod pace;
