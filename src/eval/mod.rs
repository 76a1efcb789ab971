//! Evaluation jobs on the shared data: they train and cross-validate models (through
//! [`crate::train`]) to measure what a kind of evidence predicts, against baselines.
//!
//! - [`signatures`]: structure → signature models (D-MPNN, nearest neighbours) against the
//!   mean-signature and shuffled-structure baselines (`moltx train-signatures`);
//! - [`signature_cv`]: signatures predicted by scaffold-fold models that never saw the
//!   compound (`moltx repurpose-eval`);
//! - [`indications`] and [`indication_neighbors`]: indications from structure, signature,
//!   both, and both with predicted signatures, by networks and by neighbours
//!   (`moltx indication-eval`);
//! - [`paired`]: paired comparisons of two rankings or models (bootstrap margins);
//! - [`reversal`]: how well connectivity scores recover the known drugs of the six diseases,
//!   with bootstrap intervals and permutation p-values (`moltx repurpose-eval`,
//!   `moltx connect-eval`).

pub mod indication_neighbors;
pub mod indications;
pub mod paired;
pub mod reversal;
pub mod signature_cv;
pub mod signatures;
