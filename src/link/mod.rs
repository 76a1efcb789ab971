//! Structure ↔ expression: what ties a compound's structure to its transcriptomic
//! signature. Today: the fusion model ([`fusion`]), and the loader that recognizes every
//! model kind, fusion folders included ([`load_any`]). The profiled-compound join, the
//! neighbour models and the indication votes move here next (they are still in `train/` and
//! `model/`).

pub mod fusion;

use std::path::Path;

use burn::tensor::Device;

use crate::model::{CheckpointError, Scorer, load_scorer};
pub use fusion::FusionModel;

/// Loads any model as a scorer: a fusion folder, a nearest-neighbour file, or a network
/// model file or folder of them (an ensemble).
pub fn load_any(path: &Path, device: &Device) -> Result<Box<dyn Scorer>, CheckpointError> {
    if FusionModel::is_fusion_folder(path) {
        return Ok(Box::new(FusionModel::load(path, device)?));
    }
    load_scorer(path, device)
}
