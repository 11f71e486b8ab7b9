//! The shared WGSL parts kernels include (kernels/lib/): grid indices, workgroup reductions
//! and activations, each written once.

pub(crate) const GRID: &str = include_str!("../kernels/lib/grid.wgsl");
pub(crate) const REDUCE: &str = include_str!("../kernels/lib/reduce.wgsl");
pub(crate) const SIGMOID: &str = include_str!("../kernels/lib/sigmoid.wgsl");
