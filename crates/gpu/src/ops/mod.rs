//! One module per op family; each op checks shapes, then records its dispatch.

pub mod attention;
pub mod elementwise;
pub mod gram;
pub mod kv;
pub(crate) mod lib;
pub mod loss;
pub mod matmul;
pub mod matvec;
pub mod norm;
pub mod norm_backward;
pub mod quant;
pub mod rope;
pub mod sketch;
pub mod stats;
