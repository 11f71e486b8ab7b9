//! Step 4, CoS-Low of the labeled rows (the job itself is in `workflow`).

pub mod coslow_step;
