//! moltx: drug-property prediction and drug repurposing from molecular structure and
//! transcriptomic signatures. See `DESIGN.md` for the layers; data flows
//! `chem → data → kernel → model → jobs → cli`, with `expr` beside them.

pub mod chem;
pub mod cli;
pub mod data;
pub mod expr;
pub mod indications;
pub mod kernel;
pub mod metrics;
pub mod model;
pub mod repurpose;
pub mod screen;
pub mod train;
