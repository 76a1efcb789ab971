//! `moltx calibrate`: fit a model's calibration on held-out labelled data and write it
//! beside the model (`MODEL/calibration.json`, or `<model>.calibration.json` beside a model
//! file), where `predict`, `screen` and `evaluate` find and apply it.

use std::path::PathBuf;

use burn::tensor::Device;

use super::columns::ColumnArgs;
use super::evaluate::labelled_scores;
use super::uncertainty::{CalibrationArgs, EstimatorArgs, describe, prepare};
use crate::model::calibration::{
    Calibration, CalibrationMethod, ModelIdentity, TaskCalibrator, default_calibration_path,
};
use crate::model::config::TaskType;
use crate::model::uncertainty::UncertaintySource;
use crate::model::{Ensemble, Scorer};
use crate::uncertainty::LabelledPredictions;

/// Flags of `moltx calibrate`.
#[derive(Debug, clap::Args)]
pub struct CalibrateArgs {
    /// Model file or directory of model files (an ensemble).
    #[arg(long)]
    pub model: PathBuf,
    /// Held-out labelled CSV/TSV (optionally .gz): molecules the model was not trained or
    /// selected on, exchangeable with those it will predict.
    #[arg(long)]
    pub data: PathBuf,
    /// Which columns hold SMILES and targets (default: the model's task names).
    #[command(flatten)]
    pub columns: ColumnArgs,
    /// `conformal`: intervals (regression) or prediction sets (classification) at
    /// --coverage; `platt`, `isotonic`: calibrated probabilities (classification); `zscale`:
    /// scaled standard deviations (regression, needs an uncertainty).
    #[arg(long, value_enum)]
    pub method: CalibrationMethod,
    /// Target coverage of conformal intervals and sets.
    #[arg(long, default_value_t = 0.9)]
    pub coverage: f64,
    /// The uncertainty estimator (default: an ensemble's spread); conformal intervals are
    /// normalized by it.
    #[command(flatten)]
    pub estimator: EstimatorArgs,
    /// Conformal intervals of a constant width, even when the model has an uncertainty.
    #[arg(long)]
    pub no_normalize: bool,
    /// Where to write the calibration (default: beside the model).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Runs `moltx calibrate`.
pub fn run(args: &CalibrateArgs) -> anyhow::Result<()> {
    let device = Device::flex();
    let ensemble = Ensemble::load(&args.model, &device)?.with_batch_size(256);
    let none = CalibrationArgs {
        calibration: None,
        no_calibration: true,
    };
    let model = prepare(ensemble, Some(&args.model), &args.estimator, &none)?;
    let (table, scores) = labelled_scores(&model.ensemble, &args.data, &args.columns, &device)?;
    let header = &model.ensemble.first().header;
    let classification = header.task_type == TaskType::Classification;
    let plain = args.no_normalize && args.method == CalibrationMethod::Conformal;
    let sds = scores.spread.as_deref().filter(|_| !plain);
    let source = model.estimator.or(model
        .ensemble
        .has_spread()
        .then_some(UncertaintySource::Spread));
    let truth: Vec<f64> = table.targets.iter().map(|&v| f64::from(v)).collect();
    let name = args
        .data
        .file_name()
        .map_or(args.data.display().to_string(), |n| {
            n.to_string_lossy().into_owned()
        });
    let calibration = Calibration::fit(
        args.method,
        args.coverage,
        ModelIdentity::of(&model.ensemble)?,
        source,
        &LabelledPredictions {
            classification,
            tasks: &header.tasks,
            preds: &scores.values,
            truths: &truth,
            mask: &table.mask,
            sds,
            intervals: None,
            sets: None,
        },
        &name,
    )
    .map_err(|e| anyhow::anyhow!("{}: {e}", args.data.display()))?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| default_calibration_path(&args.model));
    calibration.write(&out)?;
    println!(
        "{} on {} rows of {} ({} failed){}",
        describe(&calibration),
        table.len(),
        args.data.display(),
        table.failures.len(),
        match source.filter(|_| sds.is_some() || calibration.uncertainty.is_some()) {
            Some(s) => format!(", uncertainty: {s}"),
            None => String::new(),
        }
    );
    for t in &calibration.tasks {
        println!(
            "  {:<16} {:>6} rows  {}",
            t.task,
            t.rows,
            fitted(&t.calibrator)
        );
    }
    println!("wrote {}", out.display());
    Ok(())
}

/// One task's fitted parameters, for the summary.
fn fitted(c: &TaskCalibrator) -> String {
    match c {
        TaskCalibrator::Interval(r) if r.normalized => format!("q = {:.4} (× unc)", r.q_hat),
        TaskCalibrator::Interval(r) => format!("q = {:.4}", r.q_hat),
        TaskCalibrator::Set(s) => format!("q = {:.4}", s.q_hat),
        TaskCalibrator::Platt(p) => format!("a = {:.4}, b = {:.4}", p.a, p.b),
        TaskCalibrator::Isotonic(i) => format!("{} points", i.points().0.len()),
        TaskCalibrator::Zscale(z) => format!("s = {:.4}", z.s),
    }
}
