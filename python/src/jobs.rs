//! The long jobs: `screen` (a library file through a model into an output file) and
//! `train` (a model from a labelled table), both interruptible.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use moltx::api::{ApiError, Device, Library, TrainSettings, screen_with, train};
use moltx::data::LibraryOptions;
use moltx::model::ModelKind;
use moltx::model::descriptors::DescriptorFeatures;
use moltx::screen::{ScreenOptions, ScreenSummary, Shard, TopKOption};
use moltx::train::job::{SplitPlan, load_starting_weights};
use moltx::train::loss::RegressionLoss;
use moltx::train::metrics::TaskType;
use moltx::train::trainer::Selection;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use serde_json::{Value, json};

use crate::error::api_error;
use crate::model::Model;
use crate::run::{Outcome, run};

/// The result of an interruptible facade call: its value, or the exception to raise (the
/// `KeyboardInterrupt` that stopped it, or the facade's error as a `MoltxError`).
fn finish<T>(outcome: Outcome<Result<T, ApiError>>) -> PyResult<T> {
    match outcome {
        Outcome::Done(r) => r.map_err(|e| api_error(&e)),
        // Stopped on the flag (`Interrupted`) or finished anyway: the signal wins.
        Outcome::Interrupted(signal, _) => Err(signal),
    }
}

/// Streams a library file through a model into `out` (CSV, TSV or Parquet) and returns the
/// run's summary as JSON.
#[pyfunction]
#[pyo3(signature = (
    library, model, out, *, top_k = None, by = None, ascending = false, shard = None,
    resume = false, smiles_column = None, id_column = None, chunk_size = None,
    batch_size = None, max_atoms = None, threads = None
))]
#[allow(clippy::too_many_arguments)]
pub fn screen(
    py: Python<'_>,
    library: PathBuf,
    model: &Bound<'_, Model>,
    out: PathBuf,
    top_k: Option<usize>,
    by: Option<String>,
    ascending: bool,
    shard: Option<(u64, u64)>,
    resume: bool,
    smiles_column: Option<String>,
    id_column: Option<String>,
    chunk_size: Option<usize>,
    batch_size: Option<usize>,
    max_atoms: Option<usize>,
    threads: Option<usize>,
) -> PyResult<String> {
    let model = model.get();
    let top_k = match (top_k, by) {
        (Some(k), Some(task)) => Some(TopKOption { k, task, ascending }),
        (None, None) => None,
        _ => return Err(PyValueError::new_err("top_k and by go together")),
    };
    let shard = match shard {
        Some((index, count)) if count > 0 && index < count => Some(Shard { index, count }),
        Some((index, count)) => {
            return Err(PyValueError::new_err(format!(
                "shard ({index}, {count}): need 0 <= index < count"
            )));
        }
        None => None,
    };
    let defaults = ScreenOptions::default();
    let options = ScreenOptions {
        chunk_size: chunk_size.unwrap_or(defaults.chunk_size),
        batch_size: batch_size.unwrap_or(defaults.batch_size),
        shard,
        top_k,
        resume,
        max_heavy_atoms: max_atoms.unwrap_or(model.predictor().max_heavy_atoms()),
        ..defaults
    };
    let columns = LibraryOptions {
        smiles_column,
        id_column,
    };
    let outcome = run(py, threads.or(model.threads()), |stop| {
        let library = Library::with_options(&library, columns)?;
        screen_with(&library, model.predictor(), &out, &options, &mut |_| {
            if stop.requested() {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
    })?;
    let summary = finish(outcome)?;
    Ok(summary_json(&summary, &out).to_string())
}

/// A screen's summary as the dict `moltx.screen` returns.
fn summary_json(s: &ScreenSummary, out: &Path) -> Value {
    let best: serde_json::Map<String, Value> = s
        .best_per_task
        .iter()
        .map(|(task, rows)| {
            let rows: Vec<Value> = rows
                .iter()
                .map(|r| {
                    json!({
                        "row": r.row,
                        "id": r.id,
                        "smiles": r.smiles,
                        "values": r.values,
                        "stds": r.stds,
                    })
                })
                .collect();
            (task.clone(), Value::Array(rows))
        })
        .collect();
    json!({
        "out": out.display().to_string(),
        "rows_read": s.rows_read,
        "rows_in_shard": s.rows_in_shard,
        "scored": s.scored,
        "failed": s.failed,
        "resumed_from": s.resumed_from,
        "seconds": s.seconds,
        "rows_this_run": s.rows_this_run,
        "stages": {
            "read_wait": s.stages.read_wait,
            "featurize": s.stages.featurize,
            "model": s.stages.model,
            "write": s.stages.write,
        },
        "best_per_task": best,
    })
}

/// A name of the command line's (`ffn-morgan`, `ffn_morgan`) as a serde enum value.
fn parse_name<T: serde::de::DeserializeOwned>(what: &str, name: &str, known: &str) -> PyResult<T> {
    serde_json::from_value(Value::String(name.trim().to_lowercase().replace('_', "-")))
        .or_else(|_| {
            serde_json::from_value(Value::String(name.trim().to_lowercase().replace('-', "_")))
        })
        .map_err(|_| PyValueError::new_err(format!("unknown {what} {name:?} (known: {known})")))
}

/// A table row training left out: `(row, line, smiles, reason)`.
type Skipped = (usize, u64, String, String);

/// Trains a model as `moltx train` does; returns `(metrics.json's content, skipped rows)`.
#[pyfunction]
#[pyo3(signature = (
    data, out, *, targets = None, smiles_column = None, task = None, split = "random",
    split_sizes = (0.8, 0.1, 0.1), split_file = None, folds = 5, fold = 0, seed = 0,
    epochs = 100, batch_size = 64, ensemble = 1, model = "dmpnn", hidden = 300, depth = 3,
    dropout = 0.0, aggregation = "norm", ffn_hidden = 300, ffn_layers = 1,
    features_generator = None, patience = None, data_parallel = 0, selection = "loss",
    grad_clip = None, resume = false, max_atoms = None, threads = None, shuffle_seed = None,
    init_from = None, weight_average = None, log_steps = false, loss = None
))]
#[allow(clippy::too_many_arguments)]
pub fn train_model(
    py: Python<'_>,
    data: PathBuf,
    out: PathBuf,
    targets: Option<Vec<String>>,
    smiles_column: Option<String>,
    task: Option<&str>,
    split: &str,
    split_sizes: (f64, f64, f64),
    split_file: Option<PathBuf>,
    folds: usize,
    fold: usize,
    seed: u64,
    epochs: usize,
    batch_size: usize,
    ensemble: usize,
    model: &str,
    hidden: usize,
    depth: usize,
    dropout: f64,
    aggregation: &str,
    ffn_hidden: usize,
    ffn_layers: usize,
    features_generator: Option<&str>,
    patience: Option<usize>,
    data_parallel: usize,
    selection: &str,
    grad_clip: Option<f32>,
    resume: bool,
    max_atoms: Option<usize>,
    threads: Option<usize>,
    shuffle_seed: Option<u64>,
    init_from: Option<PathBuf>,
    weight_average: Option<f64>,
    log_steps: bool,
    loss: Option<&str>,
) -> PyResult<(String, Vec<Skipped>)> {
    let mut settings = TrainSettings::default();
    settings.table.smiles_column = smiles_column;
    settings.table.target_columns = targets;
    if let Some(n) = max_atoms {
        settings.table.max_heavy_atoms = n;
    }
    settings.task_type = task
        .map(|t| parse_name::<TaskType>("task", t, "regression, classification"))
        .transpose()?;
    let sizes = [split_sizes.0, split_sizes.1, split_sizes.2];
    settings.split = match (split_file, split) {
        (Some(file), _) => SplitPlan::File(file),
        (None, "random") => SplitPlan::Random(sizes),
        (None, "scaffold") => SplitPlan::Scaffold(sizes),
        (None, "kfold") => SplitPlan::KFold { k: folds, fold },
        (None, "scaffold-kfold" | "scaffold_kfold") => SplitPlan::ScaffoldKFold { k: folds, fold },
        (None, other) => {
            return Err(PyValueError::new_err(format!(
                "unknown split {other:?} (known: random, scaffold, kfold, scaffold-kfold)"
            )));
        }
    };
    settings.seed = seed;
    settings.ensemble = ensemble;
    let kind: ModelKind = parse_name("model", model, "dmpnn, ffn-morgan, features-only")?;
    let m = &mut settings.model;
    *m = moltx::model::ModelConfig::defaults(kind, 0);
    (m.hidden, m.depth) = (hidden, depth);
    m.set_dropout(dropout);
    (m.ffn_hidden, m.ffn_layers) = (ffn_hidden, ffn_layers);
    m.aggregation = parse_name("aggregation", aggregation, "mean, sum, norm")?;
    m.descriptors = features_generator
        .map(DescriptorFeatures::by_name)
        .transpose()
        .map_err(PyValueError::new_err)?;
    let parsed = loss
        .map(|l| parse_name::<RegressionLoss>("loss", l, "mse, mve, evidential"))
        .transpose()?;
    if let Some(p) = parsed {
        m.head = p.head();
    }
    let o = &mut settings.options;
    (o.epochs, o.batch_size, o.patience) = (epochs, batch_size, patience);
    (o.data_parallel, o.grad_clip, o.resume) = (data_parallel, grad_clip, resume);
    (o.shuffle_seed, o.weight_average, o.record_steps) = (shuffle_seed, weight_average, log_steps);
    if let Some(path) = &init_from {
        let start = load_starting_weights(path, &Device::flex())
            .map_err(|e| api_error(&ApiError::Train(e)))?;
        if let (Some(p), Some(name)) = (parsed, loss)
            && start.header.model.head != p.head()
        {
            return Err(PyValueError::new_err(format!(
                "loss={name:?} does not train the init_from model's {} head (its architecture \
                 is kept: leave loss out to train it as it is)",
                start.header.model.head.name()
            )));
        }
        o.initial_weights = Some(start);
    }
    o.selection = match selection {
        "loss" => Selection::Loss,
        "metric" => Selection::Metric,
        other => {
            return Err(PyValueError::new_err(format!(
                "unknown selection {other:?} (known: loss, metric)"
            )));
        }
    };
    let outcome = run(py, threads, |stop| {
        train(&data, &out, &settings, &Device::flex(), &mut |_, _| {
            if stop.requested() {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
    })?;
    let trained = finish(outcome)?;
    let report =
        serde_json::to_string(&trained.report).map_err(|e| PyValueError::new_err(e.to_string()))?;
    let skipped = trained
        .skipped
        .iter()
        .map(|f| (f.row, f.line, f.smiles.clone(), f.error.to_string()))
        .collect();
    Ok((report, skipped))
}
