//! Therapeutic-use prediction for new compounds: each library compound gets a score per
//! disease from the nearest-neighbour indication models ([`IndicationNeighbors`]) over the
//! profiled reference compounds (structure, measured L1000 signature and known
//! disease-modifying indications). The evidence is the structure alone, or the structure fused
//! with the compound's measured signature when one is given, or with a signature predicted
//! from its structure when a structure → signature model is given. [`IndicationScorer`] is a
//! [`Scorer`], so libraries stream through the screening pipeline (bounded memory, shards,
//! resume, top-k, Parquet), and every input row gets one result, failures with a reason.
//!
//! A library compound with the constitution of a reference compound (a known drug) is scored
//! without that reference's vote, so its scores are predictions comparable with a new
//! compound's, not a look-up of its own labels; the reference's id and known indications are
//! reported beside them.

use std::collections::HashMap;
use std::path::Path;

use burn::tensor::Device;
use rayon::prelude::*;

use crate::chem::Molecule;
use crate::expr::{GeneSpace, SignatureMatrix};
use crate::link::indication_votes::{IndicationNeighbors, fuse};
use crate::link::neighbors::NeighborSearch;
use crate::link::profiled::SIGNATURE_FEATURES;
use crate::link::profiled::{morgan_fingerprints, read_indications, read_profiled_data, values_in};
use crate::model::descriptors::DescriptorFeatures;
use crate::model::input_spec::FeatureSpec;
use crate::model::scorer::{check_inputs, checksum_identity, keyed_values_identity};
use crate::model::{
    InputError, InputSpec, MoleculeInput, ScoreError, Scorer, Scores, StructureInput,
};

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
    /// The references with a compound's constitution (`constitution`: its canonical SMILES
    /// without stereochemistry) among those with Tanimoto similarity 1 to it.
    pub fn identical_references(&self, similarities: &[f64], constitution: &str) -> Vec<usize> {
        (0..similarities.len().min(self.constitutions.len()))
            .filter(|&i| similarities[i] >= 1.0)
            .filter(|&i| self.constitutions[i].as_deref() == Some(constitution))
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

/// Name of the last supplied feature of an [`IndicationScorer`]'s input: which evidence the
/// signature values before it are (0 none, 1 measured, 2 predicted).
pub const EVIDENCE_FEATURE: &str = "signature_evidence";

/// The note columns of an [`IndicationScorer`]: the evidence kind, the best diseases named,
/// the references with the compound's constitution, and their known indications.
pub const INDICATION_NOTES: [&str; 4] = ["evidence", "top", "reference", "known"];

/// Indication scores of library compounds as a [`Scorer`], so the streaming pipeline serves
/// `moltx indications` (shards, resume, top-k, Parquet): one output per disease, in [0, 1],
/// and the notes of [`INDICATION_NOTES`].
///
/// Preparing a molecule makes its Morgan fingerprint (the references' settings) and its
/// signature over the references' genes: the measured one when its id has one, else one
/// predicted from its structure by the structure → signature model, if there is one; the
/// input's key is its constitution when some reference has the same fingerprint. Scoring takes
/// the structural neighbours' vote, fused with the signature neighbours' vote when there is a
/// signature, leaving out the references with the same constitution.
#[derive(Debug)]
pub struct IndicationScorer {
    references: IndicationReferences,
    spec: InputSpec,
    measured: HashMap<String, Vec<f32>>,
    predictor: Option<(Box<dyn Scorer>, GeneSpace)>,
    device: Device,
    named: usize,
    notes: Vec<String>,
}

impl IndicationScorer {
    /// Scores from structure alone, naming the `named` best diseases per compound.
    pub fn new(references: IndicationReferences, named: usize, device: &Device) -> Self {
        let config = references.model.config();
        let mut names = references.genes.ids().to_vec();
        names.push(EVIDENCE_FEATURE.to_string());
        let spec = InputSpec {
            features: Some(FeatureSpec::Supplied {
                generator: SIGNATURE_FEATURES.to_string(),
                names,
            }),
            ..InputSpec::morgan(config.radius, config.bits)
        };
        IndicationScorer {
            references,
            spec,
            measured: HashMap::new(),
            predictor: None,
            device: device.clone(),
            named,
            notes: INDICATION_NOTES.map(String::from).to_vec(),
        }
    }

    /// Also reads measured signatures, keyed by the library's ids.
    pub fn with_measured(mut self, measured: &SignatureMatrix) -> Self {
        let genes = self.references.genes.ids();
        self.measured = measured
            .ids
            .iter()
            .enumerate()
            .map(|(s, id)| {
                let values = values_in(genes, &measured.genes, measured.column(s));
                (id.clone(), values.iter().map(|&v| v as f32).collect())
            })
            .collect();
        self
    }

    /// Also predicts signatures from structure for compounds without a measured one.
    pub fn with_predictor(mut self, predictor: Box<dyn Scorer>) -> Result<Self, IndicationError> {
        let genes = GeneSpace::new(predictor.tasks().to_vec())?;
        self.predictor = Some((predictor, genes));
        Ok(self)
    }

    /// The reference compounds.
    pub fn references(&self) -> &IndicationReferences {
        &self.references
    }

    /// The signature features of one molecule: values over the references' genes and the
    /// evidence code.
    fn signature_features(
        &self,
        mol: &Molecule,
        id: &str,
        fingerprint: &MoleculeInput,
    ) -> Result<Vec<f32>, InputError> {
        let g = self.references.genes.len();
        if let Some(values) = self.measured.get(id) {
            let mut features = values.clone();
            features.push(1.0);
            return Ok(features);
        }
        let Some((predictor, genes)) = &self.predictor else {
            let mut features = vec![f32::NAN; g];
            features.push(0.0);
            return Ok(features);
        };
        // A fingerprint model reuses the fingerprint already made; others prepare their own.
        let own;
        let input = if predictor.input_spec() == InputSpec::morgan(self.config().0, self.config().1)
        {
            fingerprint
        } else {
            own = predictor.prepare(mol, id)?;
            &own
        };
        let scores = predictor.score(&[input], &self.device).map_err(|e| {
            InputError::Chem(crate::chem::ChemError::Computation {
                what: "a predicted signature",
                reason: e.to_string(),
            })
        })?;
        let mut features: Vec<f32> = values_in(self.references.genes.ids(), genes, &scores.values)
            .iter()
            .map(|&v| v as f32)
            .collect();
        features.push(2.0);
        Ok(features)
    }

    /// The references' fingerprint radius and length.
    fn config(&self) -> (u32, u32) {
        let c = self.references.model.config();
        (c.radius, c.bits)
    }

    /// One compound's scores and notes.
    fn score_one(&self, input: &MoleculeInput) -> (Vec<f64>, [String; 4]) {
        let t = self.references.model.diseases.len();
        // Inputs are checked against the spec first, so both are there.
        let (StructureInput::Morgan(fp), Some((code, values))) =
            (&input.structure, input.descriptors.split_last())
        else {
            return (vec![f64::NAN; t], Default::default());
        };
        let model = &self.references.model;
        let sims = model.structure_similarities(fp);
        let own = match &input.key {
            Some(key) => self.references.identical_references(&sims, key),
            None => Vec::new(),
        };
        let structure = model.structure_scores_excluding(&sims, &own);
        let evidence = match *code as u8 {
            1 => IndicationEvidence::StructureMeasured,
            2 => IndicationEvidence::StructurePredicted,
            _ => IndicationEvidence::Structure,
        };
        let scores = if evidence == IndicationEvidence::Structure {
            structure
        } else {
            let standardized = model.standardize(values);
            let signature = model
                .signature_scores_excluding(&model.signature_similarities(&standardized), &own);
            fuse(&structure, &signature)
        };
        let diseases = &model.diseases;
        let mut order: Vec<usize> = (0..scores.len()).collect();
        order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
        let top: Vec<String> = order
            .iter()
            .take(self.named)
            .map(|&j| format!("{} ({:.2})", diseases[j], scores[j]))
            .collect();
        let notes = [
            evidence.name().to_string(),
            top.join("; "),
            own.iter()
                .map(|&i| self.references.ids[i].as_str())
                .collect::<Vec<_>>()
                .join(";"),
            self.references.known_diseases(&own).join("; "),
        ];
        (scores, notes)
    }
}

impl Scorer for IndicationScorer {
    fn input_spec(&self) -> InputSpec {
        self.spec.clone()
    }

    fn tasks(&self) -> &[String] {
        &self.references.model.diseases
    }

    fn note_columns(&self) -> &[String] {
        &self.notes
    }

    fn prepare(&self, mol: &Molecule, id: &str) -> Result<MoleculeInput, InputError> {
        let (radius, bits) = self.config();
        let fingerprint = InputSpec::morgan(radius, bits).prepare(mol, None)?;
        let features = self.signature_features(mol, id, &fingerprint)?;
        let mut input = self.spec.prepare(mol, Some(&features))?;
        // The constitution is needed only where a reference has the same fingerprint.
        if let StructureInput::Morgan(fp) = &input.structure {
            let sims = self.references.model.structure_similarities(fp);
            if sims.iter().any(|&s| s >= 1.0) {
                input.key = Some(mol.canonical_smiles_without_stereo()?);
            }
        }
        Ok(input)
    }

    fn score(&self, inputs: &[&MoleculeInput], _device: &Device) -> Result<Scores, ScoreError> {
        check_inputs(&self.spec, inputs)?;
        let mut scores = Scores {
            n: inputs.len(),
            ..Scores::default()
        };
        for (values, notes) in inputs
            .par_iter()
            .map(|input| self.score_one(input))
            .collect::<Vec<_>>()
        {
            scores.values.extend(values);
            scores.notes.extend(notes);
        }
        Ok(scores)
    }

    fn identity(&self) -> Result<String, String> {
        let model = &self.references.model;
        let labels: Vec<u8> = model
            .labels()
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        Ok(format!(
            "indications:{:?}:{}:{}:{}:{}",
            model.config(),
            self.named,
            checksum_identity(&[labels, self.references.ids.join("\n").into_bytes()]),
            keyed_values_identity(&self.measured),
            match &self.predictor {
                Some((p, _)) => p.identity()?,
                None => "none".into(),
            }
        ))
    }
}
