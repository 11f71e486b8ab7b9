//! The shared WGSL parts kernels include (kernels/lib/), each written once: grid indices, the
//! entry points of the per-element and per-row kernels, workgroup reductions, the tiled matmul
//! core, the w_vec4 of the weights read element by element, activations.

pub(crate) const GRID: &str = include_str!("../kernels/lib/grid.wgsl");
pub(crate) const PER_ELEMENT: &str = include_str!("../kernels/lib/per_element.wgsl");
pub(crate) const PER_ROW: &str = include_str!("../kernels/lib/per_row.wgsl");
pub(crate) const TILE_CORE: &str = include_str!("../kernels/lib/tile.wgsl");
pub(crate) const W_ELEMENTS: &str = include_str!("../kernels/lib/w_elements.wgsl");
pub(crate) const REDUCE: &str = include_str!("../kernels/lib/reduce.wgsl");
pub(crate) const SIGMOID: &str = include_str!("../kernels/lib/sigmoid.wgsl");
