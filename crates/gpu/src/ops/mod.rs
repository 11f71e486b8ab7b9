//! One module per op family; each op checks shapes, then records its dispatch.

pub mod matmul;
pub mod matvec;
pub mod norm;
pub mod elementwise;
pub mod loss;
pub mod norm_backward;
pub mod stats;
pub mod attention;
pub mod kv;
pub mod rope;
pub mod quant;
pub mod sketch;
pub mod gram;
pub(crate) mod lib;
