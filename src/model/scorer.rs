//! [`Scorer`]: every model kind answers the same question, "given these prepared inputs,
//! what are your outputs?", so each front end and streaming job is written once.
//!
//! A scorer states what it reads ([`InputSpec`]) and what it outputs (its task names); the
//! caller prepares inputs with [`InputSpec::prepare`] and calls [`Scorer::score`]. Inputs that
//! do not fit the spec are an error value ([`ScoreError::Input`]), never a panic.

use burn::tensor::Device;

use super::input_spec::{InputError, InputSpec};
use super::net::MoleculeInput;
use crate::chem::Molecule;
use crate::kernel::KernelError;

/// Outputs of a batch: row-major `n × tasks` values and, for scorers that have one, a
/// per-value spread: the prediction's uncertainty as a standard deviation `σ` in the value's
/// units (the task's for regression, probability for classification). An ensemble reports
/// the population standard deviation over members, MC dropout over its samples, and a
/// mean–variance model would report `√v̂` of its predicted variance (see
/// [`super::uncertainty`]).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Scores {
    /// Number of inputs scored.
    pub n: usize,
    /// `n × tasks` values (predictions, probabilities, or signature values).
    pub values: Vec<f64>,
    /// `n × tasks` standard deviations `σ ≥ 0`, when the scorer reports one.
    pub spread: Option<Vec<f64>>,
    /// `n × notes` texts, row-major, for a scorer with note columns
    /// ([`Scorer::note_columns`]); empty otherwise.
    pub notes: Vec<String>,
}

impl Scores {
    /// The values of input `i` (`tasks` of them).
    pub fn row(&self, i: usize, tasks: usize) -> &[f64] {
        &self.values[i * tasks..(i + 1) * tasks]
    }

    /// The spreads of input `i`, if the scorer reports them.
    pub fn spread_row(&self, i: usize, tasks: usize) -> Option<&[f64]> {
        self.spread.as_ref().map(|s| &s[i * tasks..(i + 1) * tasks])
    }

    /// The notes of input `i` (`notes` of them; empty when the scorer has none).
    pub fn notes_row(&self, i: usize, notes: usize) -> &[String] {
        self.notes.get(i * notes..(i + 1) * notes).unwrap_or(&[])
    }
}

/// Why a batch could not be scored.
#[derive(Debug, thiserror::Error)]
pub enum ScoreError {
    /// An input does not fit the scorer's spec.
    #[error("input {index}: {source}")]
    Input {
        /// Position of the input in the batch.
        index: usize,
        /// What is wrong with it.
        source: InputError,
    },
    /// The network could not run.
    #[error(transparent)]
    Kernel(#[from] KernelError),
}

/// A model that maps prepared molecule inputs to named outputs.
pub trait Scorer: Send + Sync + std::fmt::Debug {
    /// What each input must be.
    fn input_spec(&self) -> InputSpec;

    /// Output names, in order (task names, or gene ids for a structure → signature model).
    fn tasks(&self) -> &[String];

    /// Builds the input of one parsed molecule (`id`: its library identifier). The default
    /// prepares what [`Scorer::input_spec`] says; a scorer that reads more than the
    /// structure (a fusion model looking up a measured signature by id) overrides it.
    fn prepare(&self, mol: &Molecule, id: &str) -> Result<MoleculeInput, InputError> {
        let _ = id;
        self.input_spec().prepare(mol, None)
    }

    /// True when [`Scorer::score`] also returns a spread per value ([`Scores::spread`]: a
    /// standard deviation in the value's units).
    fn has_spread(&self) -> bool {
        false
    }

    /// Names of the text columns [`Scorer::score`] returns beside the values
    /// ([`Scores::notes`]): what a score rests on, the references it matched, …; none by
    /// default.
    fn note_columns(&self) -> &[String] {
        &[]
    }

    /// Scores prepared inputs (built by [`InputSpec::prepare`] from this scorer's spec).
    fn score(&self, inputs: &[&MoleculeInput], device: &Device) -> Result<Scores, ScoreError>;

    /// A short string that changes whenever the model would score differently (a checksum
    /// of its bytes): resumable jobs refuse to continue a run made with another model.
    fn identity(&self) -> Result<String, String>;
}

/// `<count>:<crc32>` of some serialized parts.
pub fn checksum_identity(parts: &[Vec<u8>]) -> String {
    let mut crc = crc32fast::Hasher::new();
    for p in parts {
        crc.update(p);
    }
    format!("{}:{:08x}", parts.len(), crc.finalize())
}

/// [`checksum_identity`] of values keyed by compound id (e.g. the measured signatures a
/// scorer looks up), independent of the map's order.
pub fn keyed_values_identity(values: &std::collections::HashMap<String, Vec<f32>>) -> String {
    let mut keyed: Vec<(&String, &Vec<f32>)> = values.iter().collect();
    keyed.sort_by(|a, b| a.0.cmp(b.0));
    let bytes: Vec<u8> = keyed
        .iter()
        .flat_map(|(id, v)| {
            id.bytes()
                .chain(v.iter().flat_map(|x| x.to_le_bytes()))
                .collect::<Vec<u8>>()
        })
        .collect();
    checksum_identity(&[bytes])
}

/// Checks every input against a spec; the first misfit is the error.
pub fn check_inputs(spec: &InputSpec, inputs: &[&MoleculeInput]) -> Result<(), ScoreError> {
    for (index, input) in inputs.iter().enumerate() {
        spec.check(input)
            .map_err(|source| ScoreError::Input { index, source })?;
    }
    Ok(())
}

/// Scores prepared inputs in batches of `batch_size`, side by side on rayon's threads (small
/// batches stay in cache, and no thread waits at the barriers of a parallel matrix product).
pub fn score_in_batches(
    scorer: &dyn Scorer,
    inputs: &[&MoleculeInput],
    batch_size: usize,
    device: &Device,
) -> Result<Scores, ScoreError> {
    use rayon::prelude::*;
    let parts: Vec<Scores> = inputs
        .par_chunks(batch_size.max(1))
        .map(|batch| scorer.score(batch, device))
        .collect::<Result<_, _>>()?;
    let mut all = Scores {
        n: inputs.len(),
        values: Vec::new(),
        spread: scorer.has_spread().then(Vec::new),
        notes: Vec::new(),
    };
    for part in parts {
        all.values.extend(part.values);
        all.notes.extend(part.notes);
        if let (Some(total), Some(spread)) = (&mut all.spread, part.spread) {
            total.extend(spread);
        }
    }
    Ok(all)
}
