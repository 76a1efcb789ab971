//! Evaluation jobs on the shared data. Today: the data layout ([`datasets`]); the
//! evaluations themselves (`train-signatures` comparisons, `indication-eval`,
//! `repurpose-eval`, `connect-eval`, reversal statistics) move here from `train/`, `expr/`
//! and `cli/` next.

pub mod datasets;

pub use datasets::{DISEASES, SharedData};
