//! `PropertyNet`: an encoder (D-MPNN, or none for fingerprints) and a multitask head, plus the
//! per-molecule inputs each kind needs.

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::config::{ModelConfig, ModelKind};
use super::dmpnn::{DmpnnEncoder, EncoderDropout, GraphTensors};
use super::ffn::Ffn;
use super::init::dropout;
use crate::chem::featurize::{ATOM_DIM, BOND_DIM};
use crate::chem::{ChemError, Fingerprint, MolGraph, Molecule};
use crate::data::GraphBatch;
use crate::kernel::{GraphIndex, KernelError};

/// The structural part of a model's input.
#[derive(Debug, Clone)]
pub enum StructureInput {
    /// The molecular graph (D-MPNN).
    Graph(MolGraph),
    /// A Morgan fingerprint (ffn-morgan).
    Morgan(Fingerprint),
    /// Nothing structural (features-only models).
    None,
}

/// What a model reads for one molecule.
#[derive(Debug, Clone)]
pub struct MoleculeInput {
    /// Graph or fingerprint.
    pub structure: StructureInput,
    /// Raw molecule-level descriptors (empty unless the model uses them).
    pub descriptors: Vec<f32>,
    /// A scorer's own key of the molecule, made while preparing it (e.g. its constitution,
    /// for a scorer that recognises compounds it knows); `None` for networks.
    pub key: Option<String>,
}

impl MoleculeInput {
    /// A graph input without descriptors.
    pub fn graph(graph: MolGraph) -> Self {
        MoleculeInput {
            structure: StructureInput::Graph(graph),
            descriptors: Vec::new(),
            key: None,
        }
    }
}

/// Builds the input of one molecule for a model of this configuration (at most
/// [`crate::chem::DEFAULT_MAX_HEAVY_ATOMS`] heavy atoms).
pub fn featurize(config: &ModelConfig, smiles: &str) -> Result<MoleculeInput, ChemError> {
    featurize_molecule(config, &Molecule::from_smiles(smiles)?)
}

/// Builds the input of one molecule of at most `max_heavy_atoms` heavy atoms.
pub fn featurize_limited(
    config: &ModelConfig,
    smiles: &str,
    max_heavy_atoms: usize,
) -> Result<MoleculeInput, ChemError> {
    featurize_molecule(
        config,
        &Molecule::from_smiles_limited(smiles, max_heavy_atoms)?,
    )
}

/// Builds the input of an already parsed molecule for a model of this configuration.
pub fn featurize_molecule(
    config: &ModelConfig,
    mol: &Molecule,
) -> Result<MoleculeInput, ChemError> {
    let structure = match config.kind {
        ModelKind::Dmpnn => StructureInput::Graph(MolGraph::from_molecule(mol)?),
        ModelKind::FfnMorgan => StructureInput::Morgan(
            mol.morgan_fingerprint(config.morgan_radius, config.morgan_bits)?,
        ),
        ModelKind::FeaturesOnly => StructureInput::None,
    };
    let descriptors = match &config.descriptors {
        Some(_) => raw_descriptors(mol)?,
        None => Vec::new(),
    };
    Ok(MoleculeInput {
        structure,
        descriptors,
        key: None,
    })
}

/// RDKit 2D descriptors as f32 (the raw values [`super::descriptors::DescriptorFeatures`]
/// standardizes).
pub fn raw_descriptors(mol: &Molecule) -> Result<Vec<f32>, ChemError> {
    Ok(mol
        .rdkit_descriptors()?
        .into_iter()
        .map(|v| v as f32)
        .collect())
}

/// Featurizes many SMILES in parallel (one result per input, in order).
pub fn featurize_all(
    config: &ModelConfig,
    smiles: &[String],
) -> Vec<Result<MoleculeInput, ChemError>> {
    featurize_all_limited(config, smiles, crate::chem::DEFAULT_MAX_HEAVY_ATOMS)
}

/// Featurizes many SMILES of at most `max_heavy_atoms` heavy atoms each, in parallel.
pub fn featurize_all_limited(
    config: &ModelConfig,
    smiles: &[String],
    max_heavy_atoms: usize,
) -> Vec<Result<MoleculeInput, ChemError>> {
    smiles
        .par_iter()
        .map(|s| featurize_limited(config, s, max_heavy_atoms))
        .collect()
}

/// The structural part of a batch as tensors.
#[derive(Debug, Clone)]
pub enum StructureTensors {
    /// Graphs for the D-MPNN.
    Graph(Box<GraphTensors>),
    /// `M × bits` dense fingerprints.
    Dense(Box<Tensor<2>>),
    /// No structural input (features-only models).
    None,
}

/// A batch of inputs as tensors.
#[derive(Debug, Clone)]
pub struct BatchTensors {
    /// Graphs or fingerprints.
    pub structure: StructureTensors,
    /// `M × n_descriptors` standardized descriptors, when the model uses them.
    pub descriptors: Option<Tensor<2>>,
}

impl BatchTensors {
    /// Puts a batch of molecule inputs on a device. Inputs of another kind than the model
    /// reads (a fingerprint fed to a D-MPNN, say) are [`KernelError::InvalidBatch`].
    pub fn new(
        inputs: &[&MoleculeInput],
        config: &ModelConfig,
        device: &Device,
    ) -> Result<Self, KernelError> {
        let structure = match config.kind {
            ModelKind::Dmpnn => {
                let graphs: Vec<&MolGraph> = inputs
                    .iter()
                    .map(|i| match &i.structure {
                        StructureInput::Graph(g) => Ok(g),
                        _ => Err(KernelError::InvalidBatch(
                            "a D-MPNN reads molecular graphs; an input is not one".into(),
                        )),
                    })
                    .collect::<Result<_, _>>()?;
                let batch = GraphBatch::from_graphs(&graphs);
                let index = GraphIndex::new(&batch, device)?;
                let (n, e) = (batch.n_atoms(), batch.n_edges());
                let atoms =
                    Tensor::from_data(TensorData::new(batch.atom_features, [n, ATOM_DIM]), device);
                let bonds =
                    Tensor::from_data(TensorData::new(batch.edge_features, [e, BOND_DIM]), device);
                StructureTensors::Graph(Box::new(GraphTensors {
                    index,
                    atoms,
                    bonds,
                }))
            }
            ModelKind::FfnMorgan => {
                let bits = config.morgan_bits as usize;
                let mut dense = vec![0.0f32; inputs.len() * bits];
                for (row, input) in dense.chunks_exact_mut(bits).zip(inputs) {
                    match &input.structure {
                        StructureInput::Morgan(fp) if fp.n_bits as usize == bits => {
                            fp.write_dense(row)
                        }
                        _ => {
                            return Err(KernelError::InvalidBatch(format!(
                                "a fingerprint model reads {bits} Morgan bits; an input is not that"
                            )));
                        }
                    }
                }
                StructureTensors::Dense(Box::new(Tensor::from_data(
                    TensorData::new(dense, [inputs.len(), bits]),
                    device,
                )))
            }
            ModelKind::FeaturesOnly => StructureTensors::None,
        };
        let descriptors = match &config.descriptors {
            Some(features) if !features.is_empty() => {
                let d = features.len();
                let mut values = vec![0.0f32; inputs.len() * d];
                for (row, input) in values.chunks_exact_mut(d).zip(inputs) {
                    if input.descriptors.len() != d {
                        return Err(KernelError::InvalidBatch(format!(
                            "a molecule has {} descriptors, the model reads {d}",
                            input.descriptors.len()
                        )));
                    }
                    features.normalize(&input.descriptors, row);
                }
                Some(Tensor::from_data(
                    TensorData::new(values, [inputs.len(), d]),
                    device,
                ))
            }
            _ => None,
        };
        Ok(BatchTensors {
            structure,
            descriptors,
        })
    }
}

/// Encoder plus head: `head([dropout(embed(x)) ‖ f(descriptors)])`, where `f` is the feature
/// encoder when the model has one (see [`super::FeatureEncoderConfig`]) and the identity
/// otherwise; with chemprop's placement ([`ModelConfig::message_dropout`]) the encoder drops
/// its messages instead of the embedding being dropped.
#[derive(Module, Debug)]
pub struct PropertyNet {
    /// The D-MPNN encoder (absent for fingerprint models).
    pub encoder: Option<DmpnnEncoder>,
    /// The multitask head.
    pub head: Ffn,
    /// Encoder of the molecule-level features (e.g. a signature encoder), if any.
    pub feature_encoder: Option<Ffn>,
}

impl PropertyNet {
    /// A freshly initialized network (parameters drawn from `rng`).
    pub fn new(config: &ModelConfig, rng: &mut ChaCha8Rng, device: &Device) -> Self {
        let encoder = (config.kind == ModelKind::Dmpnn)
            .then(|| DmpnnEncoder::new(config, ATOM_DIM, BOND_DIM, rng, device));
        let head = Ffn::new(
            config.embedding_dim() + config.head_feature_dim(),
            config.ffn_hidden,
            config.ffn_layers,
            config.n_outputs(),
            rng,
            device,
        );
        let feature_encoder = config.feature_encoder.as_ref().map(|e| {
            let d_in = config.descriptor_dim().saturating_sub(e.passthrough);
            Ffn::new(d_in, e.hidden, e.layers, e.embedding, rng, device)
        });
        PropertyNet {
            encoder,
            head,
            feature_encoder,
        }
    }

    /// The head's view of the standardized features: the feature encoder's (linear) embedding
    /// with the passthrough features appended, when the model has a feature encoder.
    fn encode_features(
        &self,
        config: &ModelConfig,
        features: Tensor<2>,
        training: bool,
        rng: &mut ChaCha8Rng,
    ) -> Tensor<2> {
        let (Some(encoder), Some(shape)) = (&self.feature_encoder, &config.feature_encoder) else {
            return features;
        };
        let [n, d] = features.dims();
        let k = d.saturating_sub(shape.passthrough);
        let encoded = encoder.forward(
            features.clone().slice([0..n, 0..k]),
            config.dropout,
            training,
            rng,
        );
        if k == d {
            encoded
        } else {
            Tensor::cat(vec![encoded, features.slice([0..n, k..d])], 1)
        }
    }

    /// Molecule embeddings: the D-MPNN readout, or the fingerprint itself (no dropout).
    pub fn embed(
        &self,
        config: &ModelConfig,
        input: &BatchTensors,
    ) -> Result<Tensor<2>, KernelError> {
        self.embed_with(config, input, &mut EncoderDropout::Off)
    }

    /// [`PropertyNet::embed`] with the D-MPNN's dropout masks from `drop`.
    pub fn embed_with(
        &self,
        config: &ModelConfig,
        input: &BatchTensors,
        drop: &mut EncoderDropout<'_>,
    ) -> Result<Tensor<2>, KernelError> {
        match (&input.structure, &self.encoder) {
            (StructureTensors::Graph(g), Some(encoder)) => encoder.forward(config, g, drop),
            (StructureTensors::Dense(x), None) => Ok(x.as_ref().clone()),
            (StructureTensors::None, None) => input.descriptors.clone().ok_or_else(|| {
                KernelError::InvalidBatch("a features-only model without features".into())
            }),
            _ => Err(KernelError::InvalidBatch(
                "input kind does not match the model kind".into(),
            )),
        }
    }

    /// Raw values (`M × n_tasks`): standardized values (regression; a variance head's means)
    /// or logits (classification).
    pub fn forward(
        &self,
        config: &ModelConfig,
        input: &BatchTensors,
        training: bool,
        rng: &mut ChaCha8Rng,
    ) -> Result<Tensor<2>, KernelError> {
        let out = self.forward_outputs(config, input, training, rng)?;
        Ok(super::head::value_columns(config.head, out, config.n_tasks))
    }

    /// Every raw output of the head (`M × n_outputs`): the values, and a variance head's
    /// other blocks before their activations ([`super::head`]).
    pub fn forward_outputs(
        &self,
        config: &ModelConfig,
        input: &BatchTensors,
        training: bool,
        rng: &mut ChaCha8Rng,
    ) -> Result<Tensor<2>, KernelError> {
        let features = match (&input.structure, &input.descriptors) {
            (StructureTensors::None, _) => {
                let x = self.embed(config, input)?;
                self.encode_features(config, x, training, rng)
            }
            (_, descriptors) => {
                let embedding = if config.drops_messages() {
                    let mut drop = match training {
                        true => EncoderDropout::Stream {
                            p: config.dropout,
                            rng: &mut *rng,
                        },
                        false => EncoderDropout::Off,
                    };
                    self.embed_with(config, input, &mut drop)?
                } else {
                    dropout(self.embed(config, input)?, config.dropout, training, rng)
                };
                match descriptors {
                    Some(d) => {
                        let f = self.encode_features(config, d.clone(), training, rng);
                        Tensor::cat(vec![embedding, f], 1)
                    }
                    None => embedding,
                }
            }
        };
        Ok(self.head.forward(features, config.dropout, training, rng))
    }
}
