//! Training: masked multitask losses, metrics, the learning-rate schedule, the training loop,
//! the train/evaluate jobs the CLI runs (property models, signature encoders, fusion models),
//! their error type, and resume checkpoints of interrupted training. Evaluations that train
//! models to judge them live in [`crate::eval`].

pub mod averaging;
pub mod encoder_job;
pub mod error;
pub mod fusion_job;
pub mod job;
pub mod loss;
pub mod metrics;
pub mod plots;
pub mod resume;
pub mod schedule;
pub mod trainer;
pub mod validation;
