//! Training a fusion model ([`crate::link::fusion`]): compounds with a structure, a measured
//! signature and labels, each seen twice in training — with its measured signature (flag 0)
//! and with one predicted from its structure (flag 1) — so the model learns to weigh a
//! predicted signature for what it is. Validation uses both; the test set is scored both
//! ways, which says what the model gives a profiled compound and a never-profiled one.
//!
//! The predicted signatures of the training compounds should come from models that never
//! saw them (out-of-fold predictions, as `moltx repurpose-eval` writes them); otherwise the
//! structure → signature model's own predictions are used, which for its reference
//! compounds are closer to the measured signatures than a new compound's would be.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use burn::tensor::Device;
use serde::Serialize;

use super::job::{SplitPlan, make_split};
use super::metrics::{SplitMetrics, TaskType};
use super::trainer::{EpochRecord, Labelled, TrainOptions, fit};
use crate::chem::Molecule;
use crate::data::reader::csv_reader_with_lines;
use crate::data::table::parse_label;
use crate::data::{DataError, MoleculeTable};
use crate::expr::matrix::{Layout, read_signatures};
use crate::link::fusion::{FusionModel, PREDICTED_FLAG, aligned_values};
use crate::link::profiled::{SIGNATURE_FEATURES, read_profiled};
use crate::model::descriptors::DescriptorFeatures;
use crate::model::ensemble::ensemble_predict;
use crate::model::{
    FeatureEncoderConfig, InputSpec, ModelConfig, ModelKind, MoleculeInput, Scorer, StructureInput,
};

/// What to train on and how.
#[derive(Debug, Clone)]
pub struct FusionJob {
    /// Measured signatures (one per row, genes as columns).
    pub signatures: PathBuf,
    /// Structures: an id column (the first) and a SMILES column.
    pub structures: PathBuf,
    /// Labels: an id column (the first) and numeric target columns (blank = missing).
    pub labels: PathBuf,
    /// The structure → signature model for compounds without a measured signature.
    pub struct2sig: PathBuf,
    /// Out-of-fold predicted signatures of the training compounds (by id); `None`: the
    /// structure → signature model's own predictions.
    pub predicted: Option<PathBuf>,
    /// Architecture of the structure network and the head (tasks, features and encoder are
    /// set here).
    pub model: ModelConfig,
    /// The signature encoder.
    pub encoder: FeatureEncoderConfig,
    /// Training settings (seed of initialization and shuffling).
    pub options: TrainOptions,
    /// How compounds are split into train, validation and test.
    pub split: SplitPlan,
    /// Seed of the split.
    pub seed: u64,
    /// The fusion folder to write.
    pub out: PathBuf,
}

/// What a fusion training run measured.
#[derive(Debug, Clone, Serialize)]
pub struct FusionReport {
    /// Regression or classification.
    pub task_type: TaskType,
    /// Task names.
    pub tasks: Vec<String>,
    /// Compounds with a structure, a measured signature and a label row.
    pub compounds: usize,
    /// Genes of the signature input.
    pub genes: usize,
    /// Train / validation / test compounds.
    pub split: [usize; 3],
    /// Whether the predicted signatures came from out-of-fold predictions.
    pub out_of_fold_predictions: bool,
    /// Test metrics with measured signatures.
    pub test_measured: SplitMetrics,
    /// Test metrics with predicted signatures.
    pub test_predicted: SplitMetrics,
    /// The epoch whose weights were kept.
    pub best_epoch: usize,
}

/// Why fusion training failed.
#[derive(Debug, thiserror::Error)]
pub enum FusionError {
    /// Reading the inputs or writing the model failed.
    #[error(transparent)]
    Job(#[from] super::job::JobError),
    /// A model file could not be read or written.
    #[error(transparent)]
    Model(#[from] crate::model::CheckpointError),
    /// The network could not run.
    #[error(transparent)]
    Kernel(#[from] crate::kernel::KernelError),
    /// A table could not be read.
    #[error(transparent)]
    Data(#[from] DataError),
    /// The profiled compounds could not be read.
    #[error(transparent)]
    Link(#[from] crate::link::profiled::LinkError),
    /// A signature file could not be read.
    #[error(transparent)]
    Expr(#[from] crate::expr::ExprError),
    /// The structure → signature model failed.
    #[error(transparent)]
    Score(#[from] crate::model::ScoreError),
    /// The inputs do not fit together.
    #[error("{0}")]
    Invalid(String),
}

/// Each compound id's row of labels (`None` where missing).
type LabelRows = HashMap<String, Vec<Option<f32>>>;

/// Labels by compound id: the task names and each id's row.
fn read_labels(path: &Path) -> Result<(Vec<String>, LabelRows), DataError> {
    let (mut reader, lines) = csv_reader_with_lines(path)?;
    let malformed = |line: u64, reason: String| DataError::Malformed {
        path: path.to_path_buf(),
        line,
        reason,
    };
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| malformed(1, e.to_string()))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    if header.len() < 2 {
        return Err(malformed(
            1,
            "need an id column and at least one target column".into(),
        ));
    }
    let mut by_id = HashMap::new();
    for (row, record) in reader.records().enumerate() {
        let record = record.map_err(|e| malformed(lines.line_of(e.position()), e.to_string()))?;
        let line = lines.line_of(record.position());
        let mut values = Vec::with_capacity(header.len() - 1);
        for (c, column) in header.iter().enumerate().skip(1) {
            let cell = record.get(c).unwrap_or("");
            values.push(parse_label(cell).map_err(|reason| DataError::BadTarget {
                path: path.to_path_buf(),
                row,
                line,
                column: column.clone(),
                value: cell.to_string(),
                reason,
            })?);
        }
        by_id.insert(record.get(0).unwrap_or("").trim().to_string(), values);
    }
    Ok((header[1..].to_vec(), by_id))
}

/// The entries `keep` of a table, in that order.
fn subset(table: &MoleculeTable, keep: &[usize], n_tasks: usize) -> MoleculeTable {
    let g = table.n_tasks();
    MoleculeTable {
        path: table.path.clone(),
        smiles_column: table.smiles_column.clone(),
        task_names: Vec::new(),
        n_rows: keep.len(),
        rows: (0..keep.len()).collect(),
        smiles: keep.iter().map(|&i| table.smiles[i].clone()).collect(),
        graphs: keep.iter().map(|&i| table.graphs[i].clone()).collect(),
        targets: keep
            .iter()
            .flat_map(|&i| table.targets[i * g..(i + 1) * g].to_vec())
            .collect(),
        mask: vec![true; keep.len() * n_tasks.max(1)],
        failures: Vec::new(),
    }
}

/// Row-major labels of the compounds (`t` per compound).
struct Labels<'a> {
    targets: &'a [f32],
    mask: &'a [bool],
    t: usize,
}

/// Inputs of some compounds with their labels.
struct Gathered<'a> {
    inputs: Vec<&'a MoleculeInput>,
    targets: Vec<f32>,
    mask: Vec<bool>,
}

impl Labels<'_> {
    /// The compounds `rows` taken from each source in turn, with their labels.
    fn gather<'a>(&self, rows: &[usize], sources: &[&'a [MoleculeInput]]) -> Gathered<'a> {
        let t = self.t;
        let mut out = Gathered {
            inputs: Vec::new(),
            targets: Vec::new(),
            mask: Vec::new(),
        };
        for source in sources {
            for &i in rows {
                out.inputs.push(&source[i]);
                out.targets
                    .extend_from_slice(&self.targets[i * t..(i + 1) * t]);
                out.mask.extend_from_slice(&self.mask[i * t..(i + 1) * t]);
            }
        }
        out
    }
}

impl Gathered<'_> {
    fn labelled(&self) -> Labelled<'_> {
        Labelled {
            inputs: &self.inputs,
            targets: &self.targets,
            mask: &self.mask,
        }
    }
}

/// Trains a fusion model and writes the fusion folder.
pub fn run_fusion(
    job: &FusionJob,
    device: &Device,
    progress: &mut dyn FnMut(&EpochRecord),
) -> Result<FusionReport, FusionError> {
    let profiled = read_profiled(&job.signatures, &job.structures, None)?;
    let (tasks, labels) = read_labels(&job.labels)?;
    let keep: Vec<usize> = (0..profiled.ids.len())
        .filter(|&i| labels.contains_key(&profiled.ids[i]))
        .collect();
    if keep.len() < 10 {
        return Err(FusionError::Invalid(format!(
            "{} compounds have a structure, a measured signature and labels; at least 10 are \
             needed",
            keep.len()
        )));
    }
    let genes = profiled.table.task_names.clone();
    let g = genes.len();
    let table = subset(&profiled.table, &keep, tasks.len());
    let ids: Vec<&String> = keep.iter().map(|&i| &profiled.ids[i]).collect();
    let t = tasks.len();
    let (mut targets, mut mask) = (Vec::new(), Vec::new());
    for id in &ids {
        for v in &labels[id.as_str()] {
            targets.push(v.unwrap_or(0.0));
            mask.push(v.is_some());
        }
    }
    let task_type = if targets
        .iter()
        .zip(&mask)
        .all(|(&y, &m)| !m || y == 0.0 || y == 1.0)
    {
        TaskType::Classification
    } else {
        TaskType::Regression
    };

    // Measured and predicted signatures over the profiled genes.
    let measured: Vec<Vec<f32>> = (0..table.len())
        .map(|i| table.targets[i * g..(i + 1) * g].to_vec())
        .collect();
    let predictor = crate::link::load_any(&job.struct2sig, device)?;
    let predictor_space = crate::expr::GeneSpace::new(predictor.tasks().to_vec())?;
    let predicted = match &job.predicted {
        Some(path) => {
            let m = read_signatures(path, Layout::Rows)?;
            ids.iter()
                .map(|id| {
                    let s = m.position(id).ok_or_else(|| {
                        FusionError::Invalid(format!(
                            "{}: no predicted signature for {id}",
                            path.display()
                        ))
                    })?;
                    Ok(aligned_values(&genes, &m.genes, m.column(s)))
                })
                .collect::<Result<Vec<_>, FusionError>>()?
        }
        None => predict_signatures(predictor.as_ref(), &table.smiles, device)?
            .iter()
            .map(|v| aligned_values(&genes, &predictor_space, v))
            .collect(),
    };

    let split = make_split(&table, &job.split, job.seed)?;
    let mut features = DescriptorFeatures {
        generator: SIGNATURE_FEATURES.into(),
        names: genes.clone(),
        mean: Vec::new(),
        sd: Vec::new(),
    };
    features.fit(split.train.iter().map(|&i| measured[i].as_slice()));
    features.names.push(PREDICTED_FLAG.into());
    features.mean.push(0.0);
    features.sd.push(1.0);
    let config = ModelConfig {
        kind: ModelKind::Dmpnn,
        n_tasks: t,
        descriptors: Some(features),
        feature_encoder: Some(FeatureEncoderConfig {
            passthrough: 1,
            ..job.encoder.clone()
        }),
        ..job.model.clone()
    };
    let input = |i: usize, signature: &[f32], flag: f32| {
        let mut descriptors = signature.to_vec();
        descriptors.push(flag);
        MoleculeInput {
            structure: StructureInput::Graph(table.graphs[i].clone()),
            descriptors,
            key: None,
        }
    };
    let with_measured: Vec<MoleculeInput> = (0..table.len())
        .map(|i| input(i, &measured[i], 0.0))
        .collect();
    let with_predicted: Vec<MoleculeInput> = (0..table.len())
        .map(|i| input(i, &predicted[i], 1.0))
        .collect();
    let labels_of = Labels {
        targets: &targets,
        mask: &mask,
        t,
    };
    let both: [&[MoleculeInput]; 2] = [&with_measured, &with_predicted];
    let train = labels_of.gather(&split.train, &both);
    let val = labels_of.gather(&split.val, &both);
    let trained = fit(
        &config,
        task_type,
        &tasks,
        &train.labelled(),
        &val.labelled(),
        &job.options,
        format!("fusion-seed{}", job.seed),
        device,
        progress,
    )?;
    let mut net = trained.checkpoint;
    net.header.input_spec = Some(InputSpec::of_model(
        &net.header.model,
        &net.header.feature_layout,
    ));
    let test_metrics = |source: &[MoleculeInput]| -> Result<SplitMetrics, FusionError> {
        let test = labels_of.gather(&split.test, &[source]);
        let (pred, _) = ensemble_predict(std::slice::from_ref(&net), &test.inputs, 128, device)?;
        let truth: Vec<f64> = test.targets.iter().map(|&v| f64::from(v)).collect();
        Ok(SplitMetrics::compute(
            task_type, &tasks, &pred, &truth, &test.mask,
        ))
    };
    let report = FusionReport {
        task_type,
        tasks: tasks.clone(),
        compounds: table.len(),
        genes: g,
        split: [split.train.len(), split.val.len(), split.test.len()],
        out_of_fold_predictions: job.predicted.is_some(),
        test_measured: test_metrics(&with_measured)?,
        test_predicted: test_metrics(&with_predicted)?,
        best_epoch: trained.best_epoch,
    };
    FusionModel::save(&net, &job.struct2sig, &job.out)?;
    // The folder must load as what it claims to be.
    FusionModel::load(&job.out, device)?;
    Ok(report)
}

/// The structure → signature model's predictions for some SMILES (rows of its genes).
fn predict_signatures(
    predictor: &dyn Scorer,
    smiles: &[String],
    device: &Device,
) -> Result<Vec<Vec<f64>>, FusionError> {
    let inputs: Vec<MoleculeInput> = smiles
        .iter()
        .map(|s| {
            let mol = Molecule::from_smiles(s).map_err(|e| FusionError::Invalid(e.to_string()))?;
            predictor
                .prepare(&mol, "")
                .map_err(|e| FusionError::Invalid(e.to_string()))
        })
        .collect::<Result<_, _>>()?;
    let refs: Vec<&MoleculeInput> = inputs.iter().collect();
    let scores = crate::model::scorer::score_in_batches(predictor, &refs, 128, device)?;
    let k = predictor.tasks().len();
    Ok((0..smiles.len())
        .map(|i| scores.row(i, k).to_vec())
        .collect())
}
