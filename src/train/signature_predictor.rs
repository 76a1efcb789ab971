//! A structure → signature model as `moltx repurpose` uses it: a D-MPNN ensemble (model files)
//! or a nearest-neighbour model (a `MOLTXKNN` file), told apart by the file's magic bytes.

use std::io::Read;
use std::path::Path;

use burn::tensor::Device;

use super::ensemble::{ensemble_predict, load_ensemble};
use crate::model::neighbors::{NEIGHBOR_MAGIC, NeighborModel};
use crate::model::{
    Checkpoint, CheckpointError, ModelConfig, ModelKind, MoleculeInput, StructureInput,
};

/// A loaded structure → signature model.
#[derive(Debug, Clone)]
pub enum SignaturePredictor {
    /// An ensemble of network model files (their mean is the prediction).
    Network(Vec<Checkpoint>),
    /// A nearest-neighbour model over Morgan fingerprints.
    Neighbors(NeighborModel),
}

impl SignaturePredictor {
    /// Loads a neighbour-model file, or a network model file or folder of them.
    pub fn load(path: &Path, device: &Device) -> Result<Self, CheckpointError> {
        let mut magic = [0u8; 8];
        let is_neighbors = path.is_file()
            && std::fs::File::open(path)
                .and_then(|mut f| f.read_exact(&mut magic))
                .is_ok()
            && &magic == NEIGHBOR_MAGIC;
        if is_neighbors {
            Ok(SignaturePredictor::Neighbors(NeighborModel::load(path)?))
        } else {
            Ok(SignaturePredictor::Network(load_ensemble(path, device)?))
        }
    }

    /// Gene ids of the predicted signatures, in output order.
    pub fn genes(&self) -> &[String] {
        match self {
            SignaturePredictor::Network(members) => {
                members.first().map_or(&[], |m| m.header.tasks.as_slice())
            }
            SignaturePredictor::Neighbors(model) => &model.header.tasks,
        }
    }

    /// How molecules must be featurized for this model.
    pub fn input_config(&self) -> anyhow::Result<ModelConfig> {
        match self {
            SignaturePredictor::Network(members) => members
                .first()
                .map(|m| m.header.model.clone())
                .ok_or_else(|| anyhow::anyhow!("no structure → signature model")),
            SignaturePredictor::Neighbors(model) => {
                let mut config = ModelConfig::defaults(ModelKind::FfnMorgan, model.n_tasks());
                config.morgan_radius = model.header.config.radius;
                config.morgan_bits = model.header.config.bits;
                Ok(config)
            }
        }
    }

    /// Predicted signatures (row-major `inputs × genes`) of inputs made by
    /// [`Self::input_config`].
    pub fn predict(&self, inputs: &[&MoleculeInput], device: &Device) -> anyhow::Result<Vec<f64>> {
        match self {
            SignaturePredictor::Network(members) => {
                Ok(ensemble_predict(members, inputs, 128, device)?.0)
            }
            SignaturePredictor::Neighbors(model) => {
                let fps = inputs
                    .iter()
                    .map(|input| match &input.structure {
                        StructureInput::Morgan(fp) => Ok(fp),
                        _ => Err(anyhow::anyhow!(
                            "the neighbour model needs Morgan fingerprint inputs"
                        )),
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?;
                Ok(model.predict_all(&fps))
            }
        }
    }
}
