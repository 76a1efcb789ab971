//! `moltx evaluate`: metrics of a trained model (or ensemble) on labelled data, and, where an
//! uncertainty (an ensemble's spread, MC dropout) or a calibration exists, the uncertainty
//! metrics: interval coverage and width, set coverage and size, miscalibration area, ECE,
//! Spearman between uncertainty and error, NLL.

use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::tensor::Device;

use super::columns::ColumnArgs;
use super::uncertainty::{CalibrationArgs, EstimatorArgs, calibrate_scores, describe, prepare};
use crate::data::{MoleculeTable, TableOptions};
use crate::model::config::TaskType;
use crate::model::scorer::score_in_batches;
use crate::model::uncertainty::UncertaintySource;
use crate::model::{Ensemble, MoleculeInput, Scorer, Scores};
use crate::train::job::table_inputs;
use crate::train::metrics::SplitMetrics;
use crate::uncertainty::{LabelledPredictions, UncertaintyMetrics};

/// Flags of `moltx evaluate`.
#[derive(Debug, clap::Args)]
pub struct EvaluateArgs {
    /// Model file or directory of model files.
    #[arg(long)]
    pub model: PathBuf,
    /// Labelled CSV/TSV (optionally .gz).
    #[arg(long)]
    pub data: PathBuf,
    /// Which columns hold SMILES and targets.
    #[command(flatten)]
    pub columns: ColumnArgs,
    /// Also write the metrics JSON here.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The uncertainty estimator.
    #[command(flatten)]
    pub estimator: EstimatorArgs,
    /// The calibration applied before the metrics.
    #[command(flatten)]
    pub calibration: CalibrationArgs,
}

/// Reads a labelled table with the model's tasks (or the named target columns) and scores
/// every molecule with the ensemble: the table and the scores, row-major like its targets.
pub fn labelled_scores(
    ensemble: &Ensemble,
    data: &Path,
    columns: &ColumnArgs,
    device: &Device,
) -> anyhow::Result<(MoleculeTable, Scores)> {
    let header = &ensemble.first().header;
    let targets = columns
        .target_columns()
        .unwrap_or_else(|| header.tasks.clone());
    anyhow::ensure!(
        targets.len() == header.tasks.len(),
        "the model predicts {} tasks but {} target columns were given",
        header.tasks.len(),
        targets.len()
    );
    let options = TableOptions {
        smiles_column: columns.smiles_column.clone(),
        target_columns: Some(targets),
        max_heavy_atoms: columns.limits.max_atoms,
    };
    let table = MoleculeTable::read(data, &options)
        .with_context(|| format!("reading {}", data.display()))?;
    let inputs = table_inputs(&table, &header.model)?;
    let refs: Vec<&MoleculeInput> = inputs.iter().collect();
    let scores = score_in_batches(ensemble, &refs, 256, device)?;
    Ok((table, scores))
}

/// Runs `moltx evaluate`.
pub fn run(args: &EvaluateArgs) -> anyhow::Result<()> {
    let device = Device::flex();
    let ensemble = Ensemble::load(&args.model, &device)?.with_batch_size(256);
    let model = prepare(
        ensemble,
        Some(&args.model),
        &args.estimator,
        &args.calibration,
    )?;
    let (table, mut scores) = labelled_scores(&model.ensemble, &args.data, &args.columns, &device)?;
    let header = &model.ensemble.first().header;
    let t = header.tasks.len();
    let calibrated = model
        .calibration
        .as_ref()
        .map(|(_, c)| calibrate_scores(&mut scores, t, c));
    let truth: Vec<f64> = table.targets.iter().map(|&v| f64::from(v)).collect();
    let metrics = SplitMetrics::compute(
        header.task_type,
        &header.tasks,
        &scores.values,
        &truth,
        &table.mask,
    );
    let uncertainty = UncertaintyMetrics::compute(&LabelledPredictions {
        classification: header.task_type == TaskType::Classification,
        tasks: &header.tasks,
        preds: &scores.values,
        truths: &truth,
        mask: &table.mask,
        sds: scores.spread.as_deref(),
        intervals: calibrated
            .as_ref()
            .filter(|c| !c.lower.is_empty())
            .map(|c| (c.lower.as_slice(), c.upper.as_slice())),
        sets: calibrated
            .as_ref()
            .filter(|c| !c.sets.is_empty())
            .map(|c| c.sets.as_slice()),
    });
    let mut json = serde_json::json!({
        "task_type": header.task_type,
        "tasks": header.tasks,
        "splits": { "test": table.len() },
        "failed_rows": table.failures.len(),
        "test": metrics,
    });
    if !uncertainty.is_empty() {
        let estimator = model.estimator.or(model
            .ensemble
            .has_spread()
            .then_some(UncertaintySource::Spread));
        let calibration = model.calibration.as_ref().map(|(file, c)| {
            serde_json::json!({
                "file": file.display().to_string(),
                "method": c.method,
                "coverage": c.coverage,
                "description": describe(c),
            })
        });
        json["uncertainty"] = serde_json::json!({
            "estimator": estimator,
            "calibration": calibration,
            "test": uncertainty,
        });
    }
    let text = serde_json::to_string_pretty(&json)?;
    println!("{text}");
    if let Some(out) = &args.out {
        std::fs::write(out, &text)?;
    }
    Ok(())
}
