//! The facade's long jobs: screening a library and training a model, each stoppable from
//! its progress callback.

use std::ops::ControlFlow;
use std::path::Path;

use super::{ApiError, Device, Library, Predictor};
use crate::data::{MoleculeTable, RowFailure, StopFlag, TableOptions};
use crate::model::{ModelConfig, ModelKind};
use crate::screen::{ScreenError, ScreenOptions, ScreenProgress, ScreenSummary};
use crate::train::job::{JobError, SplitPlan, TrainJob, TrainReport, run_train};
use crate::train::metrics::TaskType;
use crate::train::resume::TrainError;
use crate::train::trainer::{EpochRecord, Selection, TrainOptions};

/// Streams a library through a predictor's model into `out` (CSV, TSV or Parquet): one row
/// per input row of the shard, in order (`row, id, smiles, <task>…, error`), with the
/// shards, resume, top-k and size limit of `options` (its library columns are the
/// library's). The predictor's uncertainty and calibration are written too
/// ([`Predictor::uncertainty_options`]); `options.uncertainty` can ask for more (a
/// confidence-bound ranking).
pub fn screen(
    library: &Library,
    predictor: &Predictor,
    out: &Path,
    options: &ScreenOptions,
) -> Result<ScreenSummary, ApiError> {
    screen_with(library, predictor, out, options, &mut |_| {
        ControlFlow::Continue(())
    })
}

/// [`screen`] calling `progress` after every chunk; when it returns `Break`, the run stops
/// there with [`ApiError::Interrupted`], its output and manifest left as after a kill (a run
/// with `resume` continues it).
pub fn screen_with(
    library: &Library,
    predictor: &Predictor,
    out: &Path,
    options: &ScreenOptions,
    progress: &mut dyn FnMut(&ScreenProgress) -> ControlFlow<()>,
) -> Result<ScreenSummary, ApiError> {
    let stop = StopFlag::new();
    let own = predictor.uncertainty_options();
    let asked = &options.uncertainty;
    let uncertainty = crate::screen::UncertaintyOptions {
        columns: asked.columns || own.columns,
        calibration: asked.calibration.clone().or(own.calibration),
        bound: asked.bound,
    };
    let options = ScreenOptions {
        library: library.options.clone(),
        stop: Some(stop.clone()),
        uncertainty,
        ..options.clone()
    };
    let result = crate::screen::screen(
        &library.path,
        predictor.scorer(),
        out,
        &options,
        &predictor.device,
        &mut |p| {
            if progress(p).is_break() {
                stop.stop();
            }
        },
    );
    match result {
        Err(ScreenError::Stopped { .. }) => Err(ApiError::Interrupted),
        other => Ok(other?),
    }
}

/// How to train a model; the defaults are `moltx train`'s.
#[derive(Debug, Clone)]
pub struct TrainSettings {
    /// The SMILES and target columns (default: the first column named like `smiles`, and
    /// every numeric column) and the size limit of the molecules.
    pub table: TableOptions,
    /// The architecture (D-MPNN, hidden 300, depth 3, …); its task count is set from the
    /// table and its `descriptors` are the features generator (`rdkit_2d`).
    pub model: ModelConfig,
    /// Regression or classification (`None`: classification when every label is 0 or 1).
    pub task_type: Option<TaskType>,
    /// The split (random, 0.8/0.1/0.1).
    pub split: SplitPlan,
    /// Seed of the split, the initialization and the shuffling (member `i` of an ensemble
    /// uses `seed + i`).
    pub seed: u64,
    /// Ensemble size.
    pub ensemble: usize,
    /// Epochs, batch size, patience, selection (the validation loss, as `moltx train`), …;
    /// its `seed` and `checkpoint_dir` are set by [`train`] (`seed` and `OUT/resume`).
    pub options: TrainOptions,
}

impl Default for TrainSettings {
    fn default() -> Self {
        TrainSettings {
            table: TableOptions::default(),
            model: ModelConfig::defaults(ModelKind::Dmpnn, 0),
            task_type: None,
            split: SplitPlan::Random([0.8, 0.1, 0.1]),
            seed: 0,
            ensemble: 1,
            options: TrainOptions {
                selection: Selection::Loss,
                ..TrainOptions::default()
            },
        }
    }
}

/// What [`train`] did.
#[derive(Debug, Clone)]
pub struct Trained {
    /// The report written to `OUT/metrics.json`.
    pub report: TrainReport,
    /// Table rows left out (RDKit rejected the SMILES, or the row is malformed).
    pub skipped: Vec<RowFailure>,
}

/// Trains a model (or an ensemble) on a labelled CSV/TSV as `moltx train` does, writing the
/// model files, `metrics.json`, `split.csv`, `epochs.csv`, plots and resume checkpoints
/// (`OUT/resume`) into `out`. `progress(member, epoch)` is called after every epoch; when it
/// returns `Break` the job stops there with [`ApiError::Interrupted`], and a later call with
/// `options.resume` continues from the last completed epoch.
pub fn train(
    data: &Path,
    out: &Path,
    settings: &TrainSettings,
    device: &Device,
    progress: &mut dyn FnMut(usize, &EpochRecord) -> ControlFlow<()>,
) -> Result<Trained, ApiError> {
    if settings.model.kind == ModelKind::FeaturesOnly && settings.model.descriptors.is_none() {
        return Err(ApiError::Invalid(
            "a features-only model needs a features generator (rdkit_2d)".into(),
        ));
    }
    let table = MoleculeTable::read(data, &settings.table)?;
    let job = TrainJob {
        model: settings.model.clone(),
        task_type: settings.task_type,
        split: settings.split.clone(),
        seed: settings.seed,
        ensemble: settings.ensemble,
        options: TrainOptions {
            seed: settings.seed,
            checkpoint_dir: Some(out.join("resume")),
            ..settings.options.clone()
        },
        out: out.to_path_buf(),
    };
    let stop = job.options.stop.clone().unwrap_or_default();
    let job = TrainJob {
        options: TrainOptions {
            stop: Some(stop.clone()),
            ..job.options
        },
        ..job
    };
    let result = run_train(&table, &job, device, &mut |member, record| {
        if progress(member, record).is_break() {
            stop.stop();
        }
    });
    let report = match result {
        Err(JobError::Train(TrainError::Stopped { .. })) => return Err(ApiError::Interrupted),
        other => other?,
    };
    Ok(Trained {
        report,
        skipped: table.failures,
    })
}
