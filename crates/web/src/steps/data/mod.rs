//! Step 1, the data: reading and parsing a dropped CSV/JSONL (off the main thread), its
//! problems, the column roles, and the loaded pool the later steps work on.

pub mod data_model;
pub mod data_state;
pub mod data_step;
pub mod errors;
pub mod parse_worker;
pub mod preview;
pub mod problems;
pub mod roles;
pub mod roles_model;
