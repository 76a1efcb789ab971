//! The fusion model: `[D-MPNN embedding ‖ signature embedding ‖ flag] → heads`, where the
//! signature is the compound's measured L1000 signature when one is known (flag 0) and one
//! predicted from its structure otherwise (flag 1). One model serves profiled compounds and
//! never-profiled ones, and says which evidence each prediction rests on.
//!
//! A fusion model is a folder: `fusion.moltx`, a model file whose input is the molecular graph
//! plus the signature over named genes and the flag ([`FeatureSpec::Supplied`]), and
//! `struct2sig/`, the structure → signature model that supplies predicted signatures (a
//! model file, a folder of them, or a nearest-neighbour file).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use burn::tensor::Device;

use crate::chem::Molecule;
use crate::expr::{GeneSpace, SignatureMatrix};
use crate::model::ensemble::ensemble_predict;
use crate::model::input_spec::{FeatureSpec, InputError, InputSpec};
use crate::model::scorer::{check_inputs, checksum_identity, keyed_values_identity};
use crate::model::{Checkpoint, CheckpointError, MoleculeInput, ScoreError, Scorer, Scores};

/// The model file of a fusion folder.
pub const FUSION_FILE: &str = "fusion.moltx";
/// The folder (or file) of a fusion folder's structure → signature model.
pub const STRUCT2SIG: &str = "struct2sig";
/// Name of the flag feature: 0 for a measured signature, 1 for a predicted one.
pub const PREDICTED_FLAG: &str = "signature_is_predicted";

/// Measured signatures by compound id, aligned to the fusion model's genes (NaN where a gene
/// was not measured: standardized to 0, the training mean).
#[derive(Debug, Clone, Default)]
struct MeasuredSignatures {
    by_id: HashMap<String, Vec<f32>>,
}

/// A loaded fusion model (see the module docs).
#[derive(Debug)]
pub struct FusionModel {
    net: Checkpoint,
    genes: Vec<String>,
    predictor: Box<dyn Scorer>,
    predictor_genes: GeneSpace,
    measured: MeasuredSignatures,
    device: Device,
}

/// Values of `genes` in a signature over `space` (NaN where `space` lacks the gene).
pub fn aligned_values(genes: &[String], space: &GeneSpace, values: &[f64]) -> Vec<f32> {
    genes
        .iter()
        .map(|g| {
            space
                .lookup(g, None)
                .and_then(|i| values.get(i))
                .map_or(f32::NAN, |&v| v as f32)
        })
        .collect()
}

impl FusionModel {
    /// True when `path` is a fusion folder.
    pub fn is_fusion_folder(path: &Path) -> bool {
        path.join(FUSION_FILE).is_file()
    }

    /// The structure → signature model inside a fusion folder (a file or a folder).
    pub fn struct2sig_path(dir: &Path) -> Option<PathBuf> {
        let base = dir.join(STRUCT2SIG);
        if base.exists() {
            return Some(base);
        }
        std::fs::read_dir(dir)
            .ok()?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(STRUCT2SIG))
            })
    }

    /// Builds a fusion model from its network and structure → signature model.
    pub fn new(
        net: Checkpoint,
        predictor: Box<dyn Scorer>,
        source: &Path,
        device: &Device,
    ) -> Result<Self, CheckpointError> {
        let bad = |reason: String| CheckpointError::BadHeader {
            path: source.to_path_buf(),
            reason,
        };
        let names = match net.header.input_spec().features {
            Some(FeatureSpec::Supplied { names, .. }) => names,
            _ => return Err(bad("a fusion model reads a signature and a flag".into())),
        };
        let Some((flag, genes)) = names.split_last() else {
            return Err(bad("a fusion model reads a signature and a flag".into()));
        };
        if flag != PREDICTED_FLAG {
            return Err(bad(format!(
                "the last feature of a fusion model is {PREDICTED_FLAG:?}, not {flag:?}"
            )));
        }
        let predictor_genes = GeneSpace::new(predictor.tasks().to_vec())
            .map_err(|e| bad(format!("structure → signature model: {e}")))?;
        let matched = genes
            .iter()
            .filter(|g| predictor_genes.lookup(g, None).is_some())
            .count();
        if matched == 0 {
            return Err(bad(
                "the structure → signature model predicts none of the fusion model's genes".into(),
            ));
        }
        Ok(FusionModel {
            genes: genes.to_vec(),
            net,
            predictor,
            predictor_genes,
            measured: MeasuredSignatures::default(),
            device: device.clone(),
        })
    }

    /// Loads a fusion folder onto `device`.
    pub fn load(dir: &Path, device: &Device) -> Result<Self, CheckpointError> {
        let net = Checkpoint::load(&dir.join(FUSION_FILE), device)?;
        let struct2sig = Self::struct2sig_path(dir).ok_or_else(|| CheckpointError::BadHeader {
            path: dir.to_path_buf(),
            reason: format!("a fusion folder holds {FUSION_FILE} and {STRUCT2SIG}"),
        })?;
        let predictor = super::load_any(&struct2sig, device)?;
        Self::new(net, predictor, dir, device)
    }

    /// Writes a fusion folder: the network and a copy of the structure → signature model
    /// (`struct2sig` a model file, folder or neighbour file).
    pub fn save(net: &Checkpoint, struct2sig: &Path, dir: &Path) -> Result<(), CheckpointError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| CheckpointError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        net.save(&dir.join(FUSION_FILE))?;
        if struct2sig.is_dir() {
            let target = dir.join(STRUCT2SIG);
            std::fs::create_dir_all(&target).map_err(io(&target))?;
            for entry in std::fs::read_dir(struct2sig).map_err(io(struct2sig))? {
                let from = entry.map_err(io(struct2sig))?.path();
                if from.is_file() {
                    let to = target.join(from.file_name().unwrap_or_default());
                    std::fs::copy(&from, &to).map_err(io(&to))?;
                }
            }
        } else {
            let name = match struct2sig.extension() {
                Some(ext) => format!("{STRUCT2SIG}.{}", ext.to_string_lossy()),
                None => STRUCT2SIG.to_string(),
            };
            let to = dir.join(name);
            std::fs::copy(struct2sig, &to).map_err(io(&to))?;
        }
        Ok(())
    }

    /// The same model reading measured signatures (one per compound id, keyed as the
    /// library's ids) wherever a compound has one.
    pub fn with_measured(mut self, signatures: &SignatureMatrix) -> Self {
        self.measured.by_id = signatures
            .ids
            .iter()
            .enumerate()
            .map(|(s, id)| {
                let values = aligned_values(&self.genes, &signatures.genes, signatures.column(s));
                (id.clone(), values)
            })
            .collect();
        self
    }

    /// The genes of the signature the model reads, in order.
    pub fn genes(&self) -> &[String] {
        &self.genes
    }

    /// The network.
    pub fn network(&self) -> &Checkpoint {
        &self.net
    }

    /// The signature features (values and flag) of one molecule: its measured signature if
    /// its id has one, else the structure → signature model's prediction.
    pub fn signature_features(&self, mol: &Molecule, id: &str) -> Result<Vec<f32>, InputError> {
        if let Some(values) = self.measured.by_id.get(id) {
            let mut features = values.clone();
            features.push(0.0);
            return Ok(features);
        }
        let input = self.predictor.prepare(mol, id)?;
        let scores = self.predictor.score(&[&input], &self.device).map_err(|e| {
            InputError::Chem(crate::chem::ChemError::Computation {
                what: "a predicted signature",
                reason: e.to_string(),
            })
        })?;
        let mut features = aligned_values(&self.genes, &self.predictor_genes, &scores.values);
        features.push(1.0);
        Ok(features)
    }
}

impl Scorer for FusionModel {
    fn input_spec(&self) -> InputSpec {
        self.net.header.input_spec()
    }

    fn tasks(&self) -> &[String] {
        &self.net.header.tasks
    }

    fn prepare(&self, mol: &Molecule, id: &str) -> Result<MoleculeInput, InputError> {
        let features = self.signature_features(mol, id)?;
        self.net.header.prepare(mol, Some(&features))
    }

    fn score(&self, inputs: &[&MoleculeInput], device: &Device) -> Result<Scores, ScoreError> {
        check_inputs(&self.input_spec(), inputs)?;
        let (values, _) = ensemble_predict(std::slice::from_ref(&self.net), inputs, 128, device)?;
        Ok(Scores {
            n: inputs.len(),
            values,
            spread: None,
            notes: Vec::new(),
        })
    }

    fn identity(&self) -> Result<String, String> {
        Ok(format!(
            "fusion:{}+{}+{}",
            checksum_identity(&[self.net.to_bytes()?]),
            self.predictor.identity()?,
            keyed_values_identity(&self.measured.by_id)
        ))
    }
}
