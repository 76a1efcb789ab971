//! Structure ↔ expression: what ties a compound's structure to its transcriptomic
//! signature. The Tanimoto nearest-neighbour model ([`neighbors`], a structure → signature
//! model and the core of the indication votes), the fusion model ([`fusion`]), and the
//! loader that recognizes every model kind ([`load_any`]). The profiled-compound join and the
//! indication votes move here next (they are still in `train/`).

pub mod fusion;
pub mod indication_votes;
pub mod neighbor_file;
pub mod neighbor_settings;
pub mod neighbors;
pub mod profiled;
pub mod reversal;

use std::path::Path;

use burn::tensor::Device;

use crate::model::{CheckpointError, Ensemble, Scorer};
pub use fusion::FusionModel;
pub use neighbors::NeighborModel;
pub use reversal::ReversalScorer;

/// Loads any model as a scorer, told apart by the file's magic bytes or the folder's
/// contents: a fusion folder, a nearest-neighbour file, or a network model file or folder of
/// them (an ensemble).
pub fn load_any(path: &Path, device: &Device) -> Result<Box<dyn Scorer>, CheckpointError> {
    if FusionModel::is_fusion_folder(path) {
        Ok(Box::new(FusionModel::load(path, device)?))
    } else if neighbor_file::is_neighbor_file(path) {
        Ok(Box::new(NeighborModel::load(path)?))
    } else {
        Ok(Box::new(Ensemble::load(path, device)?))
    }
}
