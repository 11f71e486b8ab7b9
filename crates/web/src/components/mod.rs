//! The components several steps use: the drop target, form fields, icons and a job's
//! progress. Each step's own components are in its folder under `steps`.

pub mod drop_zone;
pub mod field;
pub mod icons;
pub mod job_progress;
