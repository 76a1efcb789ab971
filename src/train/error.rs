//! The error type of the jobs ([`super::job`], [`super::encoder_job`],
//! [`super::fusion_job`], the evaluations of [`crate::eval`], and [`crate::indications`]): every lower layer's error converts
//! into it, and each failure says which file, row or setting it concerns.

use std::path::PathBuf;

use crate::chem::ChemError;
use crate::data::{DataError, LockError};
use crate::expr::ExprError;
use crate::kernel::KernelError;
use crate::model::{CheckpointError, ScoreError};

use super::resume::TrainError;

/// Why a job failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// A table, split or library could not be read.
    #[error(transparent)]
    Data(#[from] DataError),
    /// RDKit could not read or process a molecule.
    #[error(transparent)]
    Chem(#[from] ChemError),
    /// A model file could not be read or written.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// A network could not run on a batch.
    #[error(transparent)]
    Kernel(#[from] KernelError),
    /// Signatures, gene spaces or connectivity scores failed.
    #[error(transparent)]
    Expr(#[from] ExprError),
    /// A model could not score its inputs.
    #[error(transparent)]
    Score(#[from] ScoreError),
    /// Training failed (including its resume checkpoints).
    #[error(transparent)]
    Train(#[from] TrainError),
    /// Profiled compounds or their labels could not be read.
    #[error(transparent)]
    Link(#[from] crate::link::profiled::LinkError),
    /// Another run is writing the same output folder.
    #[error(transparent)]
    Locked(#[from] LockError),
    /// A report could not be encoded as JSON.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// A file or folder could not be created, written or removed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done (`creating`, `writing`, `removing`).
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A CSV/TSV file could not be read or written.
    #[error("{path}: {source}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// The csv crate's error.
        source: csv::Error,
    },
    /// A table row's molecule could not be featurized.
    #[error("row {row}: {source}")]
    Row {
        /// The table's row number.
        row: usize,
        /// RDKit's reason.
        source: ChemError,
    },
    /// A table row's RDKit descriptors could not be computed.
    #[error("row {row}: descriptors: {source}")]
    Descriptors {
        /// The table's row number.
        row: usize,
        /// RDKit's reason.
        source: ChemError,
    },
    /// A model could not be encoded into its file format.
    #[error("{path}: {reason}")]
    Encode {
        /// The model file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The nearest-neighbour model could not be fitted.
    #[error("fitting the neighbour model: {0}")]
    Neighbors(String),
    /// Settings or inputs that cannot work together (the message says which).
    #[error("{0}")]
    Invalid(String),
}

impl JobError {
    /// An [`JobError::Io`] error for `path`.
    pub fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| JobError::Io {
            action,
            path,
            source,
        }
    }
}

/// Returns `Err(JobError::Invalid(message))` unless `ok`.
pub(crate) fn ensure(ok: bool, message: impl Into<String>) -> Result<(), JobError> {
    if ok {
        Ok(())
    } else {
        Err(JobError::Invalid(message.into()))
    }
}
