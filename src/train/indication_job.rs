//! Can a drug's structure, its expression signature, or both predict its therapeutic use?
//! Multi-label classification of disease-modifying indications (PharmacotherapyDB, diseases
//! with at least `min_drugs` profiled drugs) for compounds with a structure and a measured
//! L1000 signature, with three inputs on the same scaffold split:
//! - structure: the D-MPNN embedding → head;
//! - signature: the standardized 978-gene signature → feed-forward head;
//! - fused: `[D-MPNN embedding ‖ standardized signature]` → head (late fusion).
//!
//! Compounds without a known indication for a disease count as negatives for it. Metrics are
//! test ROC-AUCs averaged over the diseases with both classes in the test set.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use anyhow::Context;
use burn::tensor::Device;
use serde::Serialize;

use super::job::{SplitPlan, make_split};
use super::metrics::{SplitMetrics, TaskType};
use super::signature_job::ProfiledCompounds;
use super::trainer::{EpochRecord, Labelled, TrainOptions, fit};
use crate::data::reader::csv_reader;
use crate::model::descriptors::DescriptorFeatures;
use crate::model::{ModelConfig, ModelKind, MoleculeInput, StructureInput};

/// Generator name of measured-signature features.
pub const SIGNATURE_FEATURES: &str = "l1000_signature";

/// Multi-label indication targets for profiled compounds.
#[derive(Debug, Clone)]
pub struct IndicationLabels {
    /// Disease names (one task each).
    pub diseases: Vec<String>,
    /// Row-major `compounds × diseases` 0/1 labels, in the order of the profiled table.
    pub labels: Vec<f32>,
}

/// Reads disease-modifying indications and keeps diseases with at least `min_drugs` of the
/// profiled compounds.
pub fn read_indications(
    path: &Path,
    profiled: &ProfiledCompounds,
    min_drugs: usize,
) -> anyhow::Result<IndicationLabels> {
    let mut reader = csv_reader(path)?;
    let header: Vec<String> = reader.headers()?.iter().map(str::to_string).collect();
    let col = |n: &str| {
        header
            .iter()
            .position(|h| h == n)
            .with_context(|| format!("{}: no column {n:?}", path.display()))
    };
    let (disease, drug, category) = (col("disease")?, col("drugbank_id")?, col("category")?);
    let known: HashSet<&str> = profiled.ids.iter().map(String::as_str).collect();
    let mut by_disease: BTreeMap<String, HashSet<String>> = BTreeMap::new();
    for (row, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("{}: row {row}", path.display()))?;
        let (d, id, c) = (
            record.get(disease).unwrap_or(""),
            record.get(drug).unwrap_or(""),
            record.get(category).unwrap_or(""),
        );
        if c == "DM" && known.contains(id) {
            by_disease
                .entry(d.to_string())
                .or_default()
                .insert(id.to_string());
        }
    }
    by_disease.retain(|_, drugs| drugs.len() >= min_drugs);
    let diseases: Vec<String> = by_disease.keys().cloned().collect();
    let index: HashMap<&str, usize> = profiled
        .ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let t = diseases.len();
    let mut labels = vec![0.0f32; profiled.ids.len() * t];
    for (j, drugs) in by_disease.values().enumerate() {
        for id in drugs {
            if let Some(&i) = index.get(id.as_str()) {
                labels[i * t + j] = 1.0;
            }
        }
    }
    Ok(IndicationLabels { diseases, labels })
}

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
}

/// One (seed, modality) result.
#[derive(Debug, Clone, Serialize)]
pub struct IndicationResult {
    /// Seed of the split and model.
    pub seed: u64,
    /// Inputs.
    pub modality: Modality,
    /// Mean test ROC-AUC over diseases with both classes in the test set.
    pub roc_auc: Option<f64>,
    /// Diseases with a defined test ROC-AUC.
    pub diseases_scored: usize,
}

/// Trains and tests the three modalities for each seed.
pub fn run_indication_eval(
    profiled: &ProfiledCompounds,
    labels: &IndicationLabels,
    seeds: &[u64],
    options: &TrainOptions,
    progress: &mut dyn FnMut(u64, Modality, &EpochRecord),
) -> anyhow::Result<Vec<IndicationResult>> {
    let table = &profiled.table;
    let genes = table.n_tasks();
    let t = labels.diseases.len();
    let mask = vec![true; labels.labels.len()];
    let mut results = Vec::new();
    for &seed in seeds {
        let split = make_split(table, &SplitPlan::Scaffold([0.8, 0.1, 0.1]), seed)?;
        for modality in [Modality::Structure, Modality::Signature, Modality::Fused] {
            let kind = if modality == Modality::Signature {
                ModelKind::FeaturesOnly
            } else {
                ModelKind::Dmpnn
            };
            let mut config = ModelConfig::defaults(kind, t);
            let inputs: Vec<MoleculeInput> = (0..table.len())
                .map(|i| MoleculeInput {
                    structure: match kind {
                        ModelKind::Dmpnn => StructureInput::Graph(table.graphs[i].clone()),
                        _ => StructureInput::None,
                    },
                    descriptors: if modality == Modality::Structure {
                        Vec::new()
                    } else {
                        table.targets[i * genes..(i + 1) * genes].to_vec()
                    },
                })
                .collect();
            if modality != Modality::Structure {
                let mut features = DescriptorFeatures {
                    generator: SIGNATURE_FEATURES.into(),
                    names: table.task_names.clone(),
                    mean: Vec::new(),
                    sd: Vec::new(),
                };
                features.fit(
                    split
                        .train
                        .iter()
                        .map(|&i| inputs[i].descriptors.as_slice()),
                );
                config.descriptors = Some(features);
            }
            let part = |ids: &[usize]| {
                let refs: Vec<&MoleculeInput> = ids.iter().map(|&i| &inputs[i]).collect();
                let y: Vec<f32> = ids
                    .iter()
                    .flat_map(|&i| labels.labels[i * t..(i + 1) * t].iter().copied())
                    .collect();
                (refs, y)
            };
            let ((train_in, train_y), (val_in, val_y), (test_in, test_y)) =
                (part(&split.train), part(&split.val), part(&split.test));
            let trained = fit(
                &config,
                TaskType::Classification,
                &labels.diseases,
                &Labelled {
                    inputs: &train_in,
                    targets: &train_y,
                    mask: &mask[..train_y.len()],
                },
                &Labelled {
                    inputs: &val_in,
                    targets: &val_y,
                    mask: &mask[..val_y.len()],
                },
                &TrainOptions {
                    seed,
                    ..options.clone()
                },
                format!("indications-seed{seed}"),
                &mut |r| progress(seed, modality, r),
            )?;
            let pred = trained.checkpoint.predict(&test_in, 256, &Device::flex())?;
            let truth: Vec<f64> = test_y.iter().map(|&v| f64::from(v)).collect();
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
                roc_auc: metrics.get("roc_auc"),
                diseases_scored: scored,
            });
        }
    }
    Ok(results)
}
