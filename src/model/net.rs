//! `PropertyNet`: an encoder (D-MPNN, or none for fingerprints) and a multitask head, plus the
//! per-molecule inputs each kind needs.

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::config::{ModelConfig, ModelKind};
use super::dmpnn::{DmpnnEncoder, GraphTensors};
use super::ffn::Ffn;
use super::init::dropout;
use crate::chem::featurize::{ATOM_DIM, BOND_DIM};
use crate::chem::{ChemError, Fingerprint, MolGraph, Molecule};
use crate::data::GraphBatch;
use crate::kernel::{GraphIndex, KernelError};

/// What a model reads for one molecule.
#[derive(Debug, Clone)]
pub enum MoleculeInput {
    /// The molecular graph (D-MPNN).
    Graph(MolGraph),
    /// A Morgan fingerprint (ffn-morgan).
    Morgan(Fingerprint),
}

/// Builds the input of one molecule for a model of this configuration.
pub fn featurize(config: &ModelConfig, smiles: &str) -> Result<MoleculeInput, ChemError> {
    featurize_molecule(config, &Molecule::from_smiles(smiles)?)
}

/// Builds the input of an already parsed molecule for a model of this configuration.
pub fn featurize_molecule(
    config: &ModelConfig,
    mol: &Molecule,
) -> Result<MoleculeInput, ChemError> {
    match config.kind {
        ModelKind::Dmpnn => Ok(MoleculeInput::Graph(MolGraph::from_molecule(mol)?)),
        ModelKind::FfnMorgan => Ok(MoleculeInput::Morgan(
            mol.morgan_fingerprint(config.morgan_radius, config.morgan_bits)?,
        )),
    }
}

/// Featurizes many SMILES in parallel (one result per input, in order).
pub fn featurize_all(
    config: &ModelConfig,
    smiles: &[String],
) -> Vec<Result<MoleculeInput, ChemError>> {
    smiles.par_iter().map(|s| featurize(config, s)).collect()
}

/// A batch of inputs as tensors.
#[derive(Debug, Clone)]
pub enum BatchTensors {
    /// Graphs for the D-MPNN.
    Graph(Box<GraphTensors>),
    /// `M × bits` dense fingerprints.
    Dense(Box<Tensor<2>>),
}

impl BatchTensors {
    /// Puts a batch of molecule inputs on a device.
    ///
    /// # Panics
    /// If the inputs mix graphs and fingerprints (a caller bug).
    pub fn new(
        inputs: &[&MoleculeInput],
        config: &ModelConfig,
        device: &Device,
    ) -> Result<Self, KernelError> {
        match config.kind {
            ModelKind::Dmpnn => {
                let graphs: Vec<&MolGraph> = inputs
                    .iter()
                    .map(|i| match i {
                        MoleculeInput::Graph(g) => g,
                        MoleculeInput::Morgan(_) => panic!("fingerprint fed to a D-MPNN"),
                    })
                    .collect();
                let batch = GraphBatch::from_graphs(&graphs);
                let index = GraphIndex::new(&batch, device)?;
                let (n, e) = (batch.n_atoms(), batch.n_edges());
                let atoms =
                    Tensor::from_data(TensorData::new(batch.atom_features, [n, ATOM_DIM]), device);
                let bonds =
                    Tensor::from_data(TensorData::new(batch.edge_features, [e, BOND_DIM]), device);
                Ok(BatchTensors::Graph(Box::new(GraphTensors {
                    index,
                    atoms,
                    bonds,
                })))
            }
            ModelKind::FfnMorgan => {
                let bits = config.morgan_bits as usize;
                let mut dense = vec![0.0f32; inputs.len() * bits];
                for (row, input) in dense.chunks_exact_mut(bits).zip(inputs) {
                    match input {
                        MoleculeInput::Morgan(fp) => fp.write_dense(row),
                        MoleculeInput::Graph(_) => panic!("graph fed to a fingerprint model"),
                    }
                }
                Ok(BatchTensors::Dense(Box::new(Tensor::from_data(
                    TensorData::new(dense, [inputs.len(), bits]),
                    device,
                ))))
            }
        }
    }
}

/// Encoder plus head.
#[derive(Module, Debug)]
pub struct PropertyNet {
    /// The D-MPNN encoder (absent for fingerprint models).
    pub encoder: Option<DmpnnEncoder>,
    /// The multitask head.
    pub head: Ffn,
}

impl PropertyNet {
    /// A freshly initialized network (parameters drawn from `rng`).
    pub fn new(config: &ModelConfig, rng: &mut ChaCha8Rng, device: &Device) -> Self {
        let encoder = (config.kind == ModelKind::Dmpnn)
            .then(|| DmpnnEncoder::new(config, ATOM_DIM, BOND_DIM, rng, device));
        let head = Ffn::new(
            config.embedding_dim(),
            config.ffn_hidden,
            config.ffn_layers,
            config.n_tasks,
            rng,
            device,
        );
        PropertyNet { encoder, head }
    }

    /// Molecule embeddings: the D-MPNN readout, or the fingerprint itself.
    pub fn embed(
        &self,
        config: &ModelConfig,
        input: &BatchTensors,
    ) -> Result<Tensor<2>, KernelError> {
        match (input, &self.encoder) {
            (BatchTensors::Graph(g), Some(encoder)) => encoder.forward(config, g),
            (BatchTensors::Dense(x), None) => Ok(x.as_ref().clone()),
            _ => Err(KernelError::InvalidBatch(
                "input kind does not match the model kind".into(),
            )),
        }
    }

    /// Raw outputs (`M × n_tasks`): standardized values (regression) or logits (classification).
    pub fn forward(
        &self,
        config: &ModelConfig,
        input: &BatchTensors,
        training: bool,
        rng: &mut ChaCha8Rng,
    ) -> Result<Tensor<2>, KernelError> {
        let embedding = dropout(self.embed(config, input)?, config.dropout, training, rng);
        Ok(self.head.forward(embedding, config.dropout, training, rng))
    }
}
