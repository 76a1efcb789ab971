//! [`Embedder`]: a model's learned molecule embeddings as a [`Scorer`] (the outputs of
//! `moltx fingerprint`): the D-MPNN readout, or the fingerprint a fingerprint model reads.

use burn::tensor::Device;

use super::checkpoint::Checkpoint;
use super::input_spec::InputSpec;
use super::net::MoleculeInput;
use super::predict::embed;
use super::scorer::{ScoreError, Scorer, Scores, check_inputs, checksum_identity};

/// The embedding of one model, output columns `e0 … e{d−1}`.
#[derive(Debug, Clone)]
pub struct Embedder {
    model: Checkpoint,
    columns: Vec<String>,
    batch_size: usize,
}

impl Embedder {
    /// The embedder of a model (the first member, for an ensemble).
    pub fn new(model: Checkpoint) -> Self {
        let d = model.header.model.embedding_dim();
        Embedder {
            model,
            columns: (0..d).map(|i| format!("e{i}")).collect(),
            batch_size: 128,
        }
    }
}

impl Scorer for Embedder {
    fn input_spec(&self) -> InputSpec {
        self.model.header.input_spec()
    }

    fn tasks(&self) -> &[String] {
        &self.columns
    }

    fn prepare(
        &self,
        mol: &crate::chem::Molecule,
        _id: &str,
    ) -> Result<MoleculeInput, crate::model::InputError> {
        self.model.header.prepare(mol, None)
    }

    fn score(&self, inputs: &[&MoleculeInput], device: &Device) -> Result<Scores, ScoreError> {
        check_inputs(&self.input_spec(), inputs)?;
        let values = embed(
            &self.model.net,
            &self.model.header.model,
            inputs,
            self.batch_size,
            device,
        )?;
        Ok(Scores {
            n: inputs.len(),
            values: values.into_iter().map(f64::from).collect(),
            spread: None,
            notes: Vec::new(),
        })
    }

    fn identity(&self) -> Result<String, String> {
        Ok(format!(
            "embedding:{}",
            checksum_identity(&[self.model.to_bytes()?])
        ))
    }
}
