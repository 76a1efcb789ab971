//! Therapeutic-use prediction for new compounds: each library compound gets a score per
//! disease from the nearest-neighbour indication models ([`IndicationNeighbors`]) over the
//! profiled reference compounds (structure, measured L1000 signature and known
//! disease-modifying indications). The evidence is the structure alone, or the structure fused
//! with the compound's measured signature when one is given, or with a signature predicted
//! from its structure when a structure → signature model is given. Compounds stream through
//! in chunks (bounded memory), and every input row gets one result, failures with a reason.
//!
//! A library compound with the constitution of a reference compound (a known drug) is scored
//! without that reference's vote, so its scores are predictions comparable with a new
//! compound's, not a look-up of its own labels; the reference's id and known indications are
//! reported beside them.

use std::path::Path;

use burn::tensor::Device;
use rayon::prelude::*;

use crate::chem::{Fingerprint, Molecule};
use crate::data::{LibraryOptions, LibraryReader, LibraryRow};
use crate::expr::{GeneSpace, SignatureMatrix};
use crate::link::indication_votes::{IndicationNeighbors, fuse};
use crate::link::neighbors::NeighborSearch;
use crate::link::profiled::SIGNATURE_FEATURES;
use crate::link::profiled::{morgan_fingerprints, read_indications, read_profiled_data, values_in};
use crate::model::descriptors::DescriptorFeatures;
use crate::model::{InputSpec, MoleculeInput, Scorer, StructureInput};
use crate::screen::{featurize_row, score_in_batches};

/// Why scoring a library for indications failed.
#[derive(Debug, thiserror::Error)]
pub enum IndicationError {
    /// The reference data could not be read.
    #[error(transparent)]
    Link(#[from] crate::link::profiled::LinkError),
    /// The library could not be read.
    #[error(transparent)]
    Data(#[from] crate::data::DataError),
    /// A signature or gene space was unusable.
    #[error(transparent)]
    Expr(#[from] crate::expr::ExprError),
    /// RDKit could not process a molecule.
    #[error(transparent)]
    Chem(#[from] crate::chem::ChemError),
    /// The structure → signature model failed.
    #[error(transparent)]
    Score(#[from] crate::model::ScoreError),
    /// The reference data cannot make a model (the message says why).
    #[error("{0}")]
    Invalid(String),
}
/// What a compound's indication scores rest on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndicationEvidence {
    /// Structural neighbours only.
    Structure,
    /// Structural neighbours fused with neighbours of its measured signature.
    StructureMeasured,
    /// Structural neighbours fused with neighbours of a signature predicted from structure.
    StructurePredicted,
}

impl IndicationEvidence {
    /// `structure`, `structure+measured` or `structure+predicted`.
    pub fn name(self) -> &'static str {
        match self {
            IndicationEvidence::Structure => "structure",
            IndicationEvidence::StructureMeasured => "structure+measured",
            IndicationEvidence::StructurePredicted => "structure+predicted",
        }
    }
}

/// One library compound's result.
#[derive(Debug, Clone, PartialEq)]
pub struct IndicationPrediction {
    /// 0-based entry index in the library.
    pub row: u64,
    /// Identifier (or `row N`).
    pub id: String,
    /// SMILES (as written, or canonical for molfile entries).
    pub smiles: String,
    /// Evidence kind.
    pub evidence: IndicationEvidence,
    /// One score in [0, 1] per disease (empty when the compound could not be scored).
    /// A compound that is itself a reference is scored without its own vote.
    pub scores: Vec<f64>,
    /// Ids of the references with the compound's constitution (usually none, or one).
    pub reference_ids: Vec<String>,
    /// Diseases those references are known to treat (disease-modifying), in disease order.
    pub known: Vec<String>,
    /// Why the compound could not be scored, if it could not.
    pub error: Option<String>,
}

/// The reference compounds and their gene space.
#[derive(Debug, Clone)]
pub struct IndicationReferences {
    /// The neighbour models over every reference compound.
    pub model: IndicationNeighbors,
    /// Genes of the reference signatures (the order the models read).
    pub genes: GeneSpace,
    /// Reference compounds.
    pub n_references: usize,
    /// Reference compound ids, in model order.
    pub ids: Vec<String>,
    /// Each reference's canonical SMILES without stereochemistry (`None` if RDKit failed).
    pub constitutions: Vec<Option<String>>,
}

impl IndicationReferences {
    /// The references with the same constitution as a compound (canonical SMILES without
    /// stereochemistry): only those with Tanimoto similarity 1 are candidates, so other
    /// compounds are not parsed again.
    pub fn identical_references(&self, similarities: &[f64], smiles: &str) -> Vec<usize> {
        let candidates: Vec<usize> = (0..similarities.len().min(self.constitutions.len()))
            .filter(|&i| similarities[i] >= 1.0)
            .collect();
        if candidates.is_empty() {
            return Vec::new();
        }
        let Ok(key) = constitution(smiles) else {
            return Vec::new();
        };
        candidates
            .into_iter()
            .filter(|&i| self.constitutions[i].as_deref() == Some(key.as_str()))
            .collect()
    }

    /// Diseases any of these references is known to treat, in disease order.
    pub fn known_diseases(&self, references: &[usize]) -> Vec<String> {
        let (t, labels) = (self.model.diseases.len(), self.model.labels());
        (0..t)
            .filter(|&j| references.iter().any(|&i| labels[i * t + j] > 0.5))
            .map(|j| self.model.diseases[j].clone())
            .collect()
    }
}

/// Canonical SMILES without stereochemistry.
fn constitution(smiles: &str) -> Result<String, crate::chem::ChemError> {
    Molecule::from_smiles(smiles)?.canonical_smiles_without_stereo()
}

/// Builds the references from a data folder laid out as the shared data
/// (`expression/consensi-drugbank.tsv.gz`, `expression/l1000_drugs.tsv`,
/// `repurposing/indications.tsv`), keeping diseases with at least `min_drugs` references;
/// each vote's `k` and `p` are chosen from `search.grid` by leave-one-out on the references.
pub fn load_references(
    data: &Path,
    min_drugs: usize,
    search: &NeighborSearch,
) -> Result<IndicationReferences, IndicationError> {
    let profiled = read_profiled_data(data)?;
    let labels = read_indications(
        &crate::data::SharedData::new(data).indications(),
        &profiled,
        min_drugs,
    )?;
    if labels.diseases.is_empty() {
        return Err(IndicationError::Invalid(format!(
            "no disease has {min_drugs} or more profiled disease-modifying drugs"
        )));
    }
    let g = profiled.table.n_tasks();
    let rows: Vec<&[f32]> = profiled.table.targets.chunks(g).collect();
    let mut scaling = DescriptorFeatures {
        generator: SIGNATURE_FEATURES.into(),
        names: profiled.table.task_names.clone(),
        mean: Vec::new(),
        sd: Vec::new(),
    };
    scaling.fit(rows.iter().copied());
    let model = IndicationNeighbors::new(
        search,
        labels.diseases,
        morgan_fingerprints(&profiled.table.smiles, &search.config)?,
        &rows,
        labels.labels,
        scaling,
    )?;
    let constitutions = profiled
        .table
        .smiles
        .par_iter()
        .map(|s| constitution(s).ok())
        .collect();
    Ok(IndicationReferences {
        model,
        genes: GeneSpace::new(profiled.table.task_names.clone())?,
        n_references: profiled.table.len(),
        ids: profiled.ids,
        constitutions,
    })
}

/// Sources of signatures for library compounds.
#[derive(Debug, Clone, Copy, Default)]
pub struct SignatureSources<'a> {
    /// Measured signatures, by compound id.
    pub measured: Option<&'a SignatureMatrix>,
    /// A structure → signature model for the other compounds, and the device it runs on.
    pub predictor: Option<(&'a dyn Scorer, &'a Device)>,
}

/// Streams a library and predicts every compound's indication scores; `each` receives every
/// chunk's results in input order. The library's errors arrive as `E` (through
/// [`IndicationError`]), with those of `each`.
pub fn predict_library_indications<E: From<IndicationError>>(
    references: &IndicationReferences,
    library: &Path,
    options: &LibraryOptions,
    sources: SignatureSources,
    chunk_size: usize,
    max_heavy_atoms: usize,
    each: &mut dyn FnMut(Vec<IndicationPrediction>) -> Result<(), E>,
) -> Result<(), E> {
    let neighbors = references.model.config();
    let spec = InputSpec::morgan(neighbors.radius, neighbors.bits);
    let predictor = match sources.predictor {
        Some((p, device)) => Some((
            p,
            device,
            p.input_spec(),
            own(GeneSpace::new(p.tasks().to_vec()))?,
        )),
        None => None,
    };
    let ref_genes = references.genes.ids();
    let mut reader = own(LibraryReader::open(library, options))?;
    loop {
        let chunk: Vec<LibraryRow> = own(reader
            .by_ref()
            .take(chunk_size.max(1))
            .collect::<Result<_, _>>())?;
        if chunk.is_empty() {
            return Ok(());
        }
        let parsed: Vec<Result<(Fingerprint, String), String>> = chunk
            .par_iter()
            .map(|row| match featurize_row(&spec, row, max_heavy_atoms) {
                Ok((input, smiles)) => match input.structure {
                    StructureInput::Morgan(fp) => Ok((fp, smiles)),
                    _ => Err("no fingerprint".to_string()),
                },
                Err((_, message)) => Err(message),
            })
            .collect();
        // Signatures: measured ones by id, else predicted ones (one batch per chunk).
        let mut signatures: Vec<Option<(Vec<f64>, IndicationEvidence)>> = chunk
            .iter()
            .map(|row| {
                let m = sources.measured?;
                let s = m.position(&row.id)?;
                Some((
                    values_in(ref_genes, &m.genes, m.column(s)),
                    IndicationEvidence::StructureMeasured,
                ))
            })
            .collect();
        if let Some((p, device, input_spec, genes)) = &predictor {
            let wanted: Vec<usize> = (0..chunk.len())
                .filter(|&i| signatures[i].is_none() && parsed[i].is_ok())
                .collect();
            // A fingerprint model reuses the fingerprint already made; others parse again.
            let same_fingerprint = *input_spec == spec;
            let inputs: Vec<_> = wanted
                .par_iter()
                .map(|&i| match (&parsed[i], same_fingerprint) {
                    (Ok((fp, _)), true) => Ok(MoleculeInput {
                        structure: StructureInput::Morgan(fp.clone()),
                        descriptors: Vec::new(),
                    }),
                    _ => featurize_row(input_spec, &chunk[i], max_heavy_atoms)
                        .map(|(input, _)| input),
                })
                .collect();
            let ok: Vec<(usize, _)> = wanted
                .iter()
                .zip(&inputs)
                .filter_map(|(&i, r)| r.as_ref().ok().map(|input| (i, input)))
                .collect();
            let refs: Vec<_> = ok.iter().map(|(_, input)| *input).collect();
            if !refs.is_empty() {
                let values = own(score_in_batches(*p, &refs, 128, device))?.values;
                let g = genes.len();
                for (k, (i, _)) in ok.iter().enumerate() {
                    signatures[*i] = Some((
                        values_in(ref_genes, genes, &values[k * g..(k + 1) * g]),
                        IndicationEvidence::StructurePredicted,
                    ));
                }
            }
        }
        let results: Vec<IndicationPrediction> = chunk
            .into_par_iter()
            .zip(parsed)
            .zip(signatures)
            .map(|((row, parsed), signature)| {
                let id = if row.id.is_empty() {
                    format!("row {}", row.row)
                } else {
                    row.id.clone()
                };
                match parsed {
                    Ok((fp, smiles)) => {
                        let model = &references.model;
                        let sims = model.structure_similarities(&fp);
                        let own = references.identical_references(&sims, &smiles);
                        let structure = model.structure_scores_excluding(&sims, &own);
                        let (scores, evidence) = match signature {
                            Some((values, evidence)) => {
                                let raw: Vec<f32> = values.iter().map(|&v| v as f32).collect();
                                let standardized = model.standardize(&raw);
                                let g = model.signature_scores_excluding(
                                    &model.signature_similarities(&standardized),
                                    &own,
                                );
                                (fuse(&structure, &g), evidence)
                            }
                            None => (structure, IndicationEvidence::Structure),
                        };
                        IndicationPrediction {
                            row: row.row,
                            id,
                            smiles,
                            evidence,
                            scores,
                            reference_ids: own.iter().map(|&i| references.ids[i].clone()).collect(),
                            known: references.known_diseases(&own),
                            error: None,
                        }
                    }
                    Err(message) => IndicationPrediction {
                        row: row.row,
                        id,
                        smiles: match &row.molecule {
                            crate::data::MoleculeText::Smiles(s) => s.clone(),
                            crate::data::MoleculeText::Molblock(_) => String::new(),
                        },
                        evidence: IndicationEvidence::Structure,
                        scores: Vec::new(),
                        reference_ids: Vec::new(),
                        known: Vec::new(),
                        error: Some(message),
                    },
                }
            })
            .collect();
        each(results)?;
    }
}

/// A lower layer's result with its error as a [`IndicationError`].
fn own<T>(result: Result<T, impl Into<IndicationError>>) -> Result<T, IndicationError> {
    result.map_err(Into::into)
}
