//! Can a drug's structure, its expression signature, or both predict its therapeutic use?
//! Multi-label classification of disease-modifying indications (PharmacotherapyDB, diseases
//! with at least `min_drugs` profiled drugs) for compounds with a structure and a measured
//! L1000 signature, with three inputs on the same scaffold split:
//! - structure: the D-MPNN embedding → head;
//! - signature: the standardized signature (genes, pathway scores or both), through a
//!   signature encoder when one is configured, → feed-forward head (a supervised encoder);
//! - fused: `[D-MPNN embedding ‖ signature embedding]` → head (late fusion);
//! - fused, predicted: the same fusion with a flag input saying whether the signature was
//!   measured (0) or predicted from structure (1), trained on every training compound twice
//!   (measured and predicted) and tested on predicted signatures only: what the model gives
//!   for a compound that was never profiled.
//!
//! Compounds without a known indication for a disease count as negatives for it. Metrics are
//! test ROC-AUCs averaged over the diseases with both classes in the test set.

use burn::tensor::Device;
use serde::Serialize;

use crate::link::neighbors::NeighborConfig;
use crate::link::profiled::{
    IndicationLabels, ProfiledCompounds, SIGNATURE_FEATURES, morgan_fingerprints,
};
use crate::model::descriptors::DescriptorFeatures;
use crate::model::ffn::Ffn;
use crate::model::{FeatureEncoderConfig, ModelConfig, ModelKind, MoleculeInput, StructureInput};
use crate::train::error::{JobError, ensure};
use crate::train::job::{SplitPlan, make_split};
use crate::train::metrics::{SplitMetrics, TaskType};
use crate::train::trainer::{EpochRecord, Labelled, TrainOptions, fit};

/// Which inputs a model reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Modality {
    /// Molecular graph only.
    Structure,
    /// Measured signature only.
    Signature,
    /// Both, concatenated before the head.
    Fused,
    /// Both, with a measured/predicted flag, tested on signatures predicted from structure.
    FusedPredicted,
}

/// What kind of model produced a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// A trained network (D-MPNN and/or feed-forward signature encoder, then a head).
    Network,
    /// Similarity-weighted nearest neighbours ([`super::indication_neighbors`]).
    Neighbors,
}

/// Name of the flag feature of [`Modality::FusedPredicted`].
pub const PREDICTED_FLAG: &str = "signature_is_predicted";

/// The signature side of the evaluation: per-compound encoder inputs (raw, in the order of
/// the profiled table) and how the models read them.
#[derive(Debug, Clone)]
pub struct SignatureSide {
    /// Raw inputs from measured signatures.
    pub measured: Vec<Vec<f32>>,
    /// Raw inputs from signatures predicted by models that never saw the compound (enables
    /// [`Modality::FusedPredicted`]).
    pub predicted: Option<Vec<Vec<f32>>>,
    /// Input names (genes and/or pathways).
    pub names: Vec<String>,
    /// Encoder of the inputs before the head (`None`: the standardized inputs go in as
    /// they are).
    pub encoder: Option<FeatureEncoderConfig>,
    /// Pretrained encoder weights and the input scaling they were trained with (`None`:
    /// scaling fitted on each training split, weights drawn from the seed).
    pub pretrained: Option<(Ffn, DescriptorFeatures)>,
}

impl SignatureSide {
    /// Measured signatures as they are (the targets of the profiled table), no encoder.
    pub fn raw_genes(profiled: &ProfiledCompounds) -> Self {
        let g = profiled.table.n_tasks();
        SignatureSide {
            measured: profiled
                .table
                .targets
                .chunks(g)
                .map(<[f32]>::to_vec)
                .collect(),
            predicted: None,
            names: profiled.table.task_names.clone(),
            encoder: None,
            pretrained: None,
        }
    }

    /// Feature scaling (and, with `flag`, the passthrough flag appended) for a training split.
    pub(crate) fn scaling(&self, train: &[&[f32]], flag: bool) -> DescriptorFeatures {
        let mut features = match &self.pretrained {
            Some((_, scaling)) => scaling.clone(),
            None => {
                let mut f = DescriptorFeatures {
                    generator: SIGNATURE_FEATURES.into(),
                    names: self.names.clone(),
                    mean: Vec::new(),
                    sd: Vec::new(),
                };
                f.fit(train.iter().copied());
                f
            }
        };
        if flag {
            // The flag reaches the head as 0 (measured) or 1 (predicted).
            features.names.push(PREDICTED_FLAG.into());
            features.mean.push(0.0);
            features.sd.push(1.0);
        }
        features
    }
}

/// One (seed, modality) result.
#[derive(Debug, Clone, Serialize)]
pub struct IndicationResult {
    /// Seed of the split and model.
    pub seed: u64,
    /// Inputs.
    pub modality: Modality,
    /// Network or neighbours.
    pub method: Method,
    /// Mean test ROC-AUC over diseases with both classes in the test set.
    pub roc_auc: Option<f64>,
    /// Diseases with a defined test ROC-AUC.
    pub diseases_scored: usize,
    /// Neighbour models: the (structure, signature) votes' `k` and `p`, chosen by
    /// leave-one-out on the split's references.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub votes: Option<[crate::link::indication_votes::VoteWeights; 2]>,
}

/// Inputs and labels of some compounds for one modality.
struct Part<'a> {
    inputs: Vec<&'a MoleculeInput>,
    labels: Vec<f32>,
}

impl Part<'_> {
    fn labelled<'b>(&'b self, mask: &'b [bool]) -> Labelled<'b> {
        Labelled {
            inputs: &self.inputs,
            targets: &self.labels,
            mask: &mask[..self.labels.len()],
        }
    }
}

/// The compounds `ids` taken from each source in turn, with their labels.
fn gather_part<'a>(
    ids: &[usize],
    sources: &[&'a [MoleculeInput]],
    labels: &[f32],
    t: usize,
) -> Part<'a> {
    let mut part = Part {
        inputs: Vec::new(),
        labels: Vec::new(),
    };
    for source in sources {
        for &i in ids {
            part.inputs.push(&source[i]);
            part.labels.extend_from_slice(&labels[i * t..(i + 1) * t]);
        }
    }
    part
}

/// Trains and tests every modality for each seed. `network` is the architecture: its `kind`
/// is the network that reads the structure ([`ModelKind::Dmpnn`] on the molecular graph or
/// [`ModelKind::FfnMorgan`] on Morgan bits), and its widths, depth, dropout and aggregation
/// apply to every model (tasks, descriptors and encoder are set here). Trains and tests on
/// `device`.
#[allow(clippy::too_many_arguments)]
pub fn run_indication_eval(
    profiled: &ProfiledCompounds,
    labels: &IndicationLabels,
    signatures: &SignatureSide,
    seeds: &[u64],
    options: &TrainOptions,
    network: &ModelConfig,
    device: &Device,
    progress: &mut dyn FnMut(u64, Modality, &EpochRecord),
) -> Result<Vec<IndicationResult>, JobError> {
    let structure = network.kind;
    ensure(
        matches!(structure, ModelKind::Dmpnn | ModelKind::FfnMorgan),
        "the structure network must be dmpnn or ffn-morgan",
    )?;
    let table = &profiled.table;
    let fingerprints = match structure {
        ModelKind::FfnMorgan => {
            let config = NeighborConfig {
                radius: network.morgan_radius,
                bits: network.morgan_bits,
                ..NeighborConfig::default()
            };
            morgan_fingerprints(&table.smiles, &config)?
        }
        _ => Vec::new(),
    };
    let t = labels.diseases.len();
    let n = table.len();
    ensure(
        signatures.measured.len() == n
            && signatures.predicted.as_ref().is_none_or(|p| p.len() == n),
        format!(
            "signature inputs for {} compounds, the table has {n}",
            signatures.measured.len()
        ),
    )?;
    let mut modalities = vec![Modality::Structure, Modality::Signature, Modality::Fused];
    if signatures.predicted.is_some() {
        modalities.push(Modality::FusedPredicted);
    }
    // `signature`: the rows to read and, for the flagged fusion, the flag to append.
    let input =
        |i: usize, graph: bool, signature: Option<(&[Vec<f32>], Option<f32>)>| MoleculeInput {
            structure: match (graph, structure) {
                (false, _) => StructureInput::None,
                (true, ModelKind::FfnMorgan) => StructureInput::Morgan(fingerprints[i].clone()),
                (true, _) => StructureInput::Graph(table.graphs[i].clone()),
            },
            descriptors: match signature {
                None => Vec::new(),
                Some((rows, flag)) => {
                    let mut v = rows[i].clone();
                    v.extend(flag);
                    v
                }
            },
            key: None,
        };
    let mut results = Vec::new();
    for &seed in seeds {
        let split = make_split(table, &SplitPlan::Scaffold([0.8, 0.1, 0.1]), seed)?;
        for &modality in &modalities {
            let graph = modality != Modality::Signature;
            let flagged = modality == Modality::FusedPredicted;
            let measured = (modality != Modality::Structure)
                .then(|| (signatures.measured.as_slice(), flagged.then_some(0.0)));
            let predicted = signatures
                .predicted
                .as_deref()
                .filter(|_| flagged)
                .map(|p| (p, Some(1.0)));
            let all: Vec<MoleculeInput> = (0..n).map(|i| input(i, graph, measured)).collect();
            let all_predicted: Vec<MoleculeInput> = match predicted {
                Some(p) => (0..n).map(|i| input(i, true, Some(p))).collect(),
                None => Vec::new(),
            };
            let (train, val, test) = if flagged {
                (
                    gather_part(&split.train, &[&all, &all_predicted], &labels.labels, t),
                    gather_part(&split.val, &[&all_predicted], &labels.labels, t),
                    gather_part(&split.test, &[&all_predicted], &labels.labels, t),
                )
            } else {
                (
                    gather_part(&split.train, &[&all], &labels.labels, t),
                    gather_part(&split.val, &[&all], &labels.labels, t),
                    gather_part(&split.test, &[&all], &labels.labels, t),
                )
            };
            let kind = if graph {
                structure
            } else {
                ModelKind::FeaturesOnly
            };
            let mut config = ModelConfig {
                kind,
                n_tasks: t,
                descriptors: None,
                feature_encoder: None,
                ..network.clone()
            };
            let mut options = TrainOptions {
                seed,
                ..options.clone()
            };
            if modality != Modality::Structure {
                let train_rows: Vec<&[f32]> = split
                    .train
                    .iter()
                    .map(|&i| signatures.measured[i].as_slice())
                    .collect();
                config.descriptors = Some(signatures.scaling(&train_rows, flagged));
                config.feature_encoder = signatures.encoder.clone().map(|e| FeatureEncoderConfig {
                    passthrough: usize::from(flagged),
                    ..e
                });
                if config.feature_encoder.is_some() {
                    options.feature_encoder_init =
                        signatures.pretrained.as_ref().map(|(w, _)| w.clone());
                }
            }
            let longest = train
                .labels
                .len()
                .max(val.labels.len())
                .max(test.labels.len());
            let mask = vec![true; longest];
            let trained = fit(
                &config,
                TaskType::Classification,
                &labels.diseases,
                &train.labelled(&mask),
                &val.labelled(&mask),
                &options,
                format!("indications-seed{seed}"),
                device,
                &mut |r| progress(seed, modality, r),
            )?;
            let pred = trained.checkpoint.predict(&test.inputs, 256, device)?;
            let truth: Vec<f64> = test.labels.iter().map(|&v| f64::from(v)).collect();
            let metrics = SplitMetrics::compute(
                TaskType::Classification,
                &labels.diseases,
                &pred,
                &truth,
                &mask[..truth.len()],
            );
            let scored = metrics
                .per_task
                .values()
                .filter(|m| m.contains_key("roc_auc"))
                .count();
            results.push(IndicationResult {
                seed,
                modality,
                method: Method::Network,
                roc_auc: metrics.get("roc_auc"),
                diseases_scored: scored,
                votes: None,
            });
        }
    }
    Ok(results)
}
