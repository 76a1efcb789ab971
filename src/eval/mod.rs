//! Evaluation jobs on the shared data. Today: how well connectivity scores recover known
//! drugs of the six diseases, with bootstrap intervals and permutation p-values
//! ([`reversal`]). The other evaluations (`train-signatures` comparisons, `indication-eval`)
//! move here from `train/` next.

pub mod reversal;
