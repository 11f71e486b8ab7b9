//! Step 3, the rows to label and their labels, typed, imported or filled from a labels file.

pub mod annotate_model;
pub mod annotate_step;
pub mod label_error;
pub mod label_fill;
