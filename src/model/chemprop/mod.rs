//! Imports chemprop v2 models (`.pt` files from `chemprop train`, `save_model`, or Lightning
//! `.ckpt` checkpoints of chemprop 2.x) as moltx models, without Python.
//!
//! A torch file is a ZIP archive whose `data.pkl` pickles a dict: `hyper_parameters` (the
//! architecture, as Lightning `AttributeDict`s naming chemprop's classes), `state_dict`
//! (tensors, which point at raw storages `data/0`, `data/1`, … through persistent ids) and,
//! in `.pt` files, `output_columns` (the task names). [`pickle`] reads the pickle without
//! running it, [`archive`] the archive and its tensors, and this module maps chemprop's
//! model onto moltx's [`PropertyNet`](crate::model::PropertyNet):
//!
//! | chemprop | moltx |
//! |---|---|
//! | `BondMessagePassing` `d_h`, `depth` (no bias, directed) | D-MPNN `hidden`, `depth`, `preactivation_skip` |
//! | `message_passing.W_i.weight` `[d_h, 72+14]` | `encoder.w_i.weight` `[86, d_h]` (transposed) |
//! | `message_passing.W_h.weight` `[d_h, d_h]` | `encoder.w_h.weight` (transposed) |
//! | `message_passing.W_o.weight` `[d_h, 72+d_h]`, `.bias` | `encoder.w_o` (transposed), bias |
//! | `MeanAggregation` / `SumAggregation` / `NormAggregation(norm)` | `Mean` / `Sum` / `Norm` with `norm` |
//! | `predictor.ffn.0.0` (`d_h → w`), `predictor.ffn.k.2` (`w → w`, last `w → n_tasks`) | `head.layers[0]`, `head.layers[k]` (transposed) |
//! | `RegressionFFN` with `output_transform` `UnscaleTransform` (`y = ŷ·scale + mean`) | regression, [`TargetScaling`](crate::model::TargetScaling) `{mean, sd: scale}` |
//! | `MveFFN` (`2·n_tasks` outputs: means, then variances through softplus) | regression, [`HeadKind::MeanVariance`](crate::model::HeadKind) (variance `v·scale²`) |
//! | `EvidentialFFN` (`4·n_tasks` outputs: `γ`, `ν`, `α`, `β`) | regression, [`HeadKind::Evidential`](crate::model::HeadKind) (`β·scale²`; moltx reports the total variance) |
//! | `BinaryClassificationFFN` (`σ(logit)` at inference) | classification (`σ(logit)`) |
//! | `output_columns` | task names (else `task_0…`, or given) |
//!
//! A torch `Linear` computes `y = x Wᵀ + b` with `W` stored `[out, in]`; burn's computes
//! `y = x W + b` with `W` stored `[in, out]`, so every weight matrix is transposed. chemprop's
//! update `h_e ← τ(W_i x_e + W_h m_e)` adds the pre-activation input, which is moltx's
//! `preactivation_skip`. chemprop's two dropout probabilities (message passing and FFN) act
//! in training and in MC dropout; moltx keeps one, the FFN's, placed as chemprop places it
//! ([`ModelConfig::message_dropout`](crate::model::ModelConfig)) when the two are equal (as
//! chemprop's CLI writes them), and the file's header metrics record both.
//!
//! What moltx cannot represent is refused with the reason ([`ChempropImportError::Unsupported`]):
//! atom messages, undirected or biased message passing, other activations than ReLU,
//! attentive aggregation, batch norm, extra atom/bond features or descriptors, molecule-level
//! extra descriptors (`X_d`), featurizers other than the default v2 multi-hot (atom/bond
//! widths other than 72/14: v1, organic, RIGR, reaction (CGR) graphs), multi-component and
//! atom/bond-target models, FFN hidden layers of differing widths, and every head but
//! `RegressionFFN`, `MveFFN`, `EvidentialFFN` and `BinaryClassificationFFN` (multiclass,
//! quantile, Dirichlet, spectral). The importer cannot see what the file does not say: chemprop's
//! `--keep-h`, `--add-h`, `--ignore-stereo` and `--reorder-atoms` change the molecules a
//! model was trained on without leaving a trace in it, and moltx featurizes as their
//! defaults do.

pub mod archive;
mod convert;
pub mod pickle;
mod rebuild;

use std::path::{Path, PathBuf};

use burn::tensor::Device;

use super::checkpoint::{Checkpoint, CheckpointError};

/// Why a chemprop model could not be imported.
#[derive(Debug, thiserror::Error)]
pub enum ChempropImportError {
    /// File system error.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Not a readable torch file (truncated, garbage, not a ZIP archive, a broken pickle).
    #[error("{path}: cannot read a chemprop model: {reason}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A torch file, but not a chemprop v2 model (keys or values missing or of other types).
    #[error("{path}: not a chemprop v2 model file: {reason}")]
    NotChemprop {
        /// The file.
        path: PathBuf,
        /// What is missing.
        reason: String,
    },
    /// A chemprop model moltx cannot represent.
    #[error("{path}: moltx cannot import this chemprop model: {what}")]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// The unsupported feature and why.
        what: String,
    },
    /// Task names given that do not fit the model.
    #[error("{path}: {reason}")]
    Tasks {
        /// The file.
        path: PathBuf,
        /// The mismatch.
        reason: String,
    },
    /// The imported model fails moltx's own model-file checks (a bug if it happens).
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
}

/// Choices the file cannot make.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Task names, in output order; they replace the file's `output_columns`. Without them
    /// and without `output_columns` (Lightning `.ckpt` files) the tasks are `task_0…`.
    pub tasks: Option<Vec<String>>,
}

/// Imports a chemprop v2 model file (`.pt` or `.ckpt`) as a moltx model with the same
/// architecture, weights, target scaling and task names; its weights are placed on `device`.
pub fn import_chemprop(
    path: &Path,
    options: &ImportOptions,
    device: &Device,
) -> Result<Checkpoint, ChempropImportError> {
    let bytes = std::fs::read(path).map_err(|source| ChempropImportError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    import_chemprop_bytes(&bytes, path, options, device)
}

/// [`import_chemprop`] of a file's bytes (`path` names it in errors and in the header).
pub fn import_chemprop_bytes(
    bytes: &[u8],
    path: &Path,
    options: &ImportOptions,
    device: &Device,
) -> Result<Checkpoint, ChempropImportError> {
    let archive = archive::TorchArchive::from_bytes(bytes).map_err(|reason| {
        ChempropImportError::Unreadable {
            path: path.to_path_buf(),
            reason,
        }
    })?;
    let checkpoint = convert::convert(&archive, path, options, device)?;
    // The file moltx writes must load back: run it through the loader's checks.
    let written = checkpoint
        .to_bytes()
        .map_err(|reason| CheckpointError::Weights {
            path: path.to_path_buf(),
            reason,
        })?;
    Ok(Checkpoint::from_bytes(&written, path, device)?)
}
