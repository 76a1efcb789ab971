//! Training: masked multitask losses, metrics, the learning-rate schedule, the training loop,
//! the train/evaluate jobs the CLI runs, their error type, and resume checkpoints of interrupted
//! training.

pub mod encoder_job;
pub mod error;
pub mod fusion_job;
pub mod indication_job;
pub mod indication_neighbors;
pub mod job;
pub mod loss;
pub mod metrics;
pub mod plots;
pub mod resume;
pub mod schedule;
pub mod signature_cv;
pub mod signature_job;
pub mod trainer;
