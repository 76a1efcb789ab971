//! The `moltx train` job: read a table, split it, train one model or an ensemble, evaluate on
//! validation and test, and write the model files, `metrics.json`, `split.csv` and per-epoch logs.

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use serde::Serialize;

pub use super::error::JobError;
use super::error::ensure;
use super::metrics::{SplitMetrics, TaskType};
use super::plots;
use super::resume::{
    Fingerprint, ResumeFile, check_settings, fingerprint, fnv_hex, load_complete, mark_complete,
    write_atomic,
};
use super::trainer::{EpochRecord, Labelled, TrainOptions, fit_resumable};
use crate::data::split::{
    kfold_split, random_split, scaffold_kfold_split, scaffold_split, split_from_file,
};
use crate::data::summary::scaffolds_of;
use crate::data::{MoleculeTable, Split};
use crate::model::ensemble::ensemble_predict;
use rayon::prelude::*;

use crate::chem::Molecule;
use crate::model::{
    Checkpoint, ModelConfig, ModelKind, MoleculeInput, featurize_all, raw_descriptors,
};

/// How to split the table.
#[derive(Debug, Clone)]
pub enum SplitPlan {
    /// Seeded random split with these fractions.
    Random([f64; 3]),
    /// Scaffold-balanced split with these fractions.
    Scaffold([f64; 3]),
    /// Fold `fold` of a seeded `k`-fold partition.
    KFold {
        /// Number of folds.
        k: usize,
        /// Test fold.
        fold: usize,
    },
    /// Fold `fold` of a scaffold-grouped `k`-fold partition.
    ScaffoldKFold {
        /// Number of folds.
        k: usize,
        /// Test fold.
        fold: usize,
    },
    /// A split file (`index,split` or `smiles,split`).
    File(PathBuf),
}

/// Everything `moltx train` needs.
#[derive(Debug, Clone)]
pub struct TrainJob {
    /// Architecture (its `n_tasks` is set from the table).
    pub model: ModelConfig,
    /// Regression or classification (`None`: classification when every label is 0/1).
    pub task_type: Option<TaskType>,
    /// Split.
    pub split: SplitPlan,
    /// Seed of the split and of the first ensemble member (member `i` uses `seed + i`).
    pub seed: u64,
    /// Ensemble size.
    pub ensemble: usize,
    /// Training settings.
    pub options: TrainOptions,
    /// Output directory.
    pub out: PathBuf,
}

/// Sizes of the three parts.
#[derive(Debug, Clone, Serialize)]
pub struct SplitSizes {
    /// Training molecules.
    pub train: usize,
    /// Validation molecules.
    pub val: usize,
    /// Test molecules.
    pub test: usize,
}

/// What `metrics.json` holds.
#[derive(Debug, Clone, Serialize)]
pub struct TrainReport {
    /// `"regression"` or `"classification"`.
    pub task_type: TaskType,
    /// Task names.
    pub tasks: Vec<String>,
    /// Split sizes.
    pub splits: SplitSizes,
    /// Validation metrics of the ensemble.
    pub val: SplitMetrics,
    /// Test metrics of the ensemble.
    pub test: SplitMetrics,
    /// Best epoch of each member (the first member's is `best_epoch`).
    pub best_epoch: usize,
    /// Best epoch of each member.
    pub best_epochs: Vec<usize>,
    /// Epochs requested.
    pub epochs: usize,
    /// Seconds in training steps, all members.
    pub train_seconds: f64,
    /// Training molecules per second.
    pub train_molecules_per_second: f64,
    /// Ensemble size.
    pub ensemble: usize,
    /// Model files written.
    pub model_files: Vec<String>,
    /// PNG plots written (learning curve; test parity or ROC per task).
    pub plots: Vec<String>,
    /// Plots that could not be drawn, and why (e.g. no font installed).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub plot_problems: Vec<String>,
    /// Uncertainty metrics of the test split: ECE (classification) and, for an ensemble, those
    /// of its spread ([`crate::model::ensemble::ensemble_uncertainty_metrics`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uncertainty: Option<crate::uncertainty::UncertaintyMetrics>,
}

/// Classification when every label is 0 or 1, else regression.
pub fn infer_task_type(table: &MoleculeTable) -> TaskType {
    let binary = table
        .targets
        .iter()
        .zip(&table.mask)
        .filter(|(_, m)| **m)
        .all(|(v, _)| *v == 0.0 || *v == 1.0);
    if binary && table.mask.iter().any(|&m| m) {
        TaskType::Classification
    } else {
        TaskType::Regression
    }
}

/// FNV-1a (64-bit) of the SMILES, targets and mask, as hex.
pub fn data_hash(table: &MoleculeTable) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x100000001b3);
        }
    };
    for s in &table.smiles {
        eat(s.as_bytes());
        eat(b"\n");
    }
    for (v, m) in table.targets.iter().zip(&table.mask) {
        eat(&v.to_le_bytes());
        eat(&[u8::from(*m)]);
    }
    format!("fnv1a64:{h:016x}")
}

/// The scaffold of every entry (the SMILES itself where RDKit gives none).
fn table_scaffolds(table: &MoleculeTable) -> Vec<String> {
    scaffolds_of(&table.smiles)
        .into_iter()
        .zip(&table.smiles)
        .map(|(s, smiles)| s.unwrap_or_else(|_| smiles.clone()))
        .collect()
}

/// Makes the split of a table.
pub fn make_split(table: &MoleculeTable, plan: &SplitPlan, seed: u64) -> Result<Split, JobError> {
    Ok(match plan {
        SplitPlan::Random(sizes) => random_split(table.len(), *sizes, seed)?,
        SplitPlan::Scaffold(sizes) => scaffold_split(&table_scaffolds(table), *sizes, seed)?,
        SplitPlan::ScaffoldKFold { k, fold } => {
            scaffold_kfold_split(&table_scaffolds(table), *k, *fold, seed)?
        }
        SplitPlan::KFold { k, fold } => kfold_split(table.len(), *k, *fold, seed)?,
        SplitPlan::File(path) => split_from_file(path, &table.rows, &table.smiles)?.split,
    })
}

/// Model inputs of every table entry (graphs, or fingerprints for `ffn-morgan`).
pub fn table_inputs(
    table: &MoleculeTable,
    model: &ModelConfig,
) -> Result<Vec<MoleculeInput>, JobError> {
    let mut inputs: Vec<MoleculeInput> = match model.kind {
        ModelKind::Dmpnn => table
            .graphs
            .iter()
            .cloned()
            .map(MoleculeInput::graph)
            .collect(),
        ModelKind::FfnMorgan | ModelKind::FeaturesOnly => {
            let plain = ModelConfig {
                descriptors: None,
                ..model.clone()
            };
            featurize_all(&plain, &table.smiles)
                .into_iter()
                .zip(&table.rows)
                .map(|(r, &row)| r.map_err(|source| JobError::Row { row, source }))
                .collect::<Result<_, _>>()?
        }
    };
    if model.descriptors.is_some() {
        let raw: Vec<Vec<f32>> = table
            .smiles
            .par_iter()
            .zip(&table.rows)
            .map(|(s, &row)| {
                Molecule::from_smiles(s)
                    .and_then(|m| raw_descriptors(&m))
                    .map_err(|source| JobError::Descriptors { row, source })
            })
            .collect::<Result<_, _>>()?;
        for (input, d) in inputs.iter_mut().zip(raw) {
            input.descriptors = d;
        }
    }
    Ok(inputs)
}

struct Part {
    inputs: Vec<usize>,
    targets: Vec<f32>,
    mask: Vec<bool>,
}

fn part(table: &MoleculeTable, ids: &[usize]) -> Part {
    let t = table.n_tasks();
    Part {
        inputs: ids.to_vec(),
        targets: ids
            .iter()
            .flat_map(|&i| table.targets[i * t..(i + 1) * t].iter().copied())
            .collect(),
        mask: ids
            .iter()
            .flat_map(|&i| table.mask[i * t..(i + 1) * t].iter().copied())
            .collect(),
    }
}

fn ensemble_metrics(
    members: &[Checkpoint],
    inputs: &[&MoleculeInput],
    p: &Part,
    task_type: TaskType,
    tasks: &[String],
    device: &Device,
) -> Result<SplitMetrics, JobError> {
    Ok(ensemble_metrics_and_predictions(members, inputs, p, task_type, tasks, device)?.0)
}

fn ensemble_metrics_and_predictions(
    members: &[Checkpoint],
    inputs: &[&MoleculeInput],
    p: &Part,
    task_type: TaskType,
    tasks: &[String],
    device: &Device,
) -> Result<(SplitMetrics, Vec<f64>), JobError> {
    let (mean, _) = ensemble_predict(members, inputs, 256, device)?;
    let truth: Vec<f64> = p.targets.iter().map(|&v| f64::from(v)).collect();
    let metrics = SplitMetrics::compute(task_type, tasks, &mean, &truth, &p.mask);
    Ok((metrics, mean))
}

/// Runs the job on `device` (training on `device.autodiff()`); `progress(member,
/// epoch_record)` is called after every epoch.
pub fn run_train(
    table: &MoleculeTable,
    job: &TrainJob,
    device: &Device,
    progress: &mut dyn FnMut(usize, &EpochRecord),
) -> Result<TrainReport, JobError> {
    ensure(!table.is_empty(), "no valid molecules to train on")?;
    ensure(table.n_tasks() > 0, "no target columns")?;
    std::fs::create_dir_all(&job.out).map_err(JobError::io("creating", &job.out))?;
    // Held until the job returns: a second run into the same folder is refused.
    let _lock = crate::data::OutputLock::acquire(&job.out)?;
    let task_type = job.task_type.unwrap_or_else(|| infer_task_type(table));
    let mut model = job.model.clone();
    model.n_tasks = table.n_tasks();
    // Fine-tuning trains the starting model's architecture (its descriptor scaling included).
    let start = job.options.initial_weights.as_ref();
    if let Some(start) = start {
        ensure(
            start.header.model.n_tasks == table.n_tasks(),
            format!(
                "the starting model has {} output(s); the data has {} target column(s)",
                start.header.model.n_tasks,
                table.n_tasks()
            ),
        )?;
        ensure(
            start.header.model.descriptors.is_some() == model.descriptors.is_some(),
            "the starting model and the settings disagree on molecule-level descriptors \
             (give the same features generator)",
        )?;
        model = start.header.model.clone();
    }
    let split = make_split(table, &job.split, job.seed)?;
    ensure(
        !split.train.is_empty(),
        "the split leaves no training molecules",
    )?;

    let inputs = table_inputs(table, &model)?;
    if let (Some(features), None) = (&mut model.descriptors, start) {
        features.fit(
            split
                .train
                .iter()
                .map(|&i| inputs[i].descriptors.as_slice()),
        );
    }
    let (train, val, test) = (
        part(table, &split.train),
        part(table, &split.val),
        part(table, &split.test),
    );
    let refs = |p: &Part| -> Vec<&MoleculeInput> { p.inputs.iter().map(|&i| &inputs[i]).collect() };
    let tasks = table.task_names.as_slice();
    let (train_in, val_in, test_in) = (refs(&train), refs(&val), refs(&test));
    let hash = data_hash(table);

    let mut members = Vec::new();
    let mut best_epochs = Vec::new();
    let mut model_files = Vec::new();
    let (mut seconds, mut seen) = (0.0, 0.0);
    let mut curves = Vec::new();
    let checkpoints = prepare_checkpoints(&job.options)?;
    // What a resume must not change besides each model's own settings.
    let context: Fingerprint = [
        ("split".to_string(), split_hash(&split)),
        ("ensemble".to_string(), job.ensemble.max(1).to_string()),
    ]
    .into_iter()
    .collect();
    let (train_l, val_l) = (
        Labelled {
            inputs: &train_in,
            targets: &train.targets,
            mask: &train.mask,
        },
        Labelled {
            inputs: &val_in,
            targets: &val.targets,
            mask: &val.mask,
        },
    );
    // Each member's options, model file, and checkpoint with the settings it must carry.
    let plans: Vec<(TrainOptions, PathBuf, Option<Checkpointed>)> = (0..job.ensemble.max(1))
        .map(|member| {
            let mut options = job.options.clone();
            options.seed = job.seed + member as u64;
            let file = job.out.join(format!("model_{member}.moltx"));
            let state = checkpoints.as_ref().map(|dir| {
                let (tasks, context) = (&table.task_names, context.clone());
                let f = fingerprint(
                    &model, task_type, tasks, &train_l, &val_l, &options, &hash, &context,
                );
                let path = dir.join(format!("model_{member}.state"));
                let resume = job.options.resume;
                let file = ResumeFile {
                    path,
                    resume,
                    context,
                };
                (file, f)
            });
            (options, file, state)
        })
        .collect();
    // A resume with other settings is refused before anything is written.
    for (s, f) in plans.iter().filter_map(|p| p.2.as_ref()) {
        if s.resume {
            check_settings(&s.path, f)?;
        }
    }
    write_split_csv(&job.out.join("split.csv"), table, &split)?;
    let log_path = job.out.join("epochs.csv");
    let mut log = String::from(
        "model,epoch,train_loss,val_metric,val_loss,lr,seconds,molecules_per_second\n",
    );
    write_atomic(&log_path, log.as_bytes())?;
    for (member, (options, file, print)) in plans.into_iter().enumerate() {
        let state = print.as_ref().map(|(s, _)| s);
        // A model an earlier run finished: loaded, not retrained.
        let finished = match &print {
            Some((s, f)) if s.resume => load_complete(&s.path, f, &file, device)?,
            _ => None,
        };
        let (trained, loaded) = match finished {
            Some(t) => {
                t.epochs.iter().for_each(|r| progress(member, r));
                (t, true)
            }
            None => {
                let trained = fit_resumable(
                    &model,
                    task_type,
                    &table.task_names,
                    &train_l,
                    &val_l,
                    &options,
                    hash.clone(),
                    state,
                    device,
                    &mut |r| progress(member, r),
                )?;
                (trained, false)
            }
        };
        for r in &trained.epochs {
            let val = r.val_metric.map_or(String::new(), |v| format!("{v}"));
            let val_loss = r.val_loss.map_or(String::new(), |v| format!("{v}"));
            log.push_str(&format!(
                "{member},{},{},{val},{val_loss},{},{},{}\n",
                r.epoch, r.train_loss, r.lr, r.seconds, r.molecules_per_second
            ));
        }
        if job.options.record_steps {
            write_steps_csv(&job.out, member, &trained.steps, &split.train, table)?;
        }
        curves.push(trained.epochs.clone());
        seconds += trained.train_seconds;
        seen += trained.molecules_per_second * trained.train_seconds;
        best_epochs.push(trained.best_epoch);
        let mut checkpoint = trained.checkpoint.clone();
        if !loaded {
            let m1 = [checkpoint.clone()];
            let val_m = ensemble_metrics(&m1, &val_in, &val, task_type, tasks, device)?;
            let test_m = ensemble_metrics(&m1, &test_in, &test, task_type, tasks, device)?;
            checkpoint.header.metrics = serde_json::json!({
                "best_epoch": trained.best_epoch, "val": val_m, "test": test_m
            });
            let bytes = checkpoint.to_bytes().map_err(|reason| JobError::Encode {
                path: file.clone(),
                reason,
            })?;
            write_atomic(&file, &bytes)?;
            if let Some((s, f)) = &print {
                mark_complete(&s.path, f, &trained, &file, &bytes)?;
            }
        }
        write_atomic(&log_path, log.as_bytes())?;
        model_files.push(file.display().to_string());
        members.push(checkpoint);
    }
    let (test_metrics, test_pred) =
        ensemble_metrics_and_predictions(&members, &test_in, &test, task_type, tasks, device)?;
    let (plots, plot_problems) = plots::write_train_plots(
        &job.out,
        &curves,
        task_type,
        tasks,
        (&test.targets, &test.mask),
        &test_pred,
        &test_metrics,
    );
    let report = TrainReport {
        task_type,
        tasks: table.task_names.clone(),
        splits: SplitSizes {
            train: split.train.len(),
            val: split.val.len(),
            test: split.test.len(),
        },
        val: ensemble_metrics(&members, &val_in, &val, task_type, tasks, device)?,
        test: test_metrics,
        best_epoch: best_epochs[0],
        best_epochs,
        epochs: job.options.epochs,
        train_seconds: seconds,
        train_molecules_per_second: seen / f64::max(seconds, 1e-9),
        ensemble: members.len(),
        model_files,
        plots: plots.iter().map(|p| p.display().to_string()).collect(),
        plot_problems,
        uncertainty: crate::model::ensemble::ensemble_uncertainty_metrics(
            &members,
            &test_in,
            &test.targets,
            &test.mask,
            device,
        )?,
    };
    write_atomic(
        &job.out.join("metrics.json"),
        serde_json::to_string_pretty(&report)?.as_bytes(),
    )?;
    Ok(report)
}

/// A member's resume checkpoint and the settings fingerprint it must carry.
type Checkpointed = (ResumeFile, Fingerprint);

/// The checkpoint folder of a job, created; old checkpoints are removed unless resuming.
fn prepare_checkpoints(options: &TrainOptions) -> Result<Option<PathBuf>, JobError> {
    let Some(dir) = &options.checkpoint_dir else {
        return Ok(None);
    };
    if !options.resume && dir.exists() {
        std::fs::remove_dir_all(dir).map_err(JobError::io("removing", dir))?;
    }
    std::fs::create_dir_all(dir).map_err(JobError::io("creating", dir))?;
    Ok(Some(dir.clone()))
}

/// FNV-1a of the three index lists of a split.
fn split_hash(split: &Split) -> String {
    let bytes =
        |ids: &[usize]| -> Vec<u8> { ids.iter().flat_map(|&i| (i as u64).to_le_bytes()).collect() };
    let (a, b, c) = (bytes(&split.train), bytes(&split.val), bytes(&split.test));
    fnv_hex([&a[..], b"|", &b[..], b"|", &c[..]])
}

/// Starting weights for fine-tuning ([`TrainOptions::initial_weights`]): a moltx model file,
/// or a chemprop v2 `.pt`/`.ckpt` imported as [`import_chemprop`] does.
///
/// [`import_chemprop`]: crate::model::chemprop::import_chemprop
pub fn load_starting_weights(path: &Path, device: &Device) -> Result<Checkpoint, JobError> {
    let is_chemprop = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("pt") || e.eq_ignore_ascii_case("ckpt"));
    if is_chemprop {
        let options = crate::model::chemprop::ImportOptions::default();
        crate::model::chemprop::import_chemprop(path, &options, device)
            .map_err(|e| JobError::Invalid(e.to_string()))
    } else {
        Ok(Checkpoint::load(path, device)?)
    }
}

/// `steps_<member>.csv`: every optimizer step (epoch, step, learning rate, batch loss) and its
/// batch as input-file row numbers (0-based data rows, as `split.csv`'s `index`), in order.
fn write_steps_csv(
    out: &Path,
    member: usize,
    steps: &[super::trainer::StepRecord],
    train_rows: &[usize],
    table: &MoleculeTable,
) -> Result<(), JobError> {
    let mut text = String::from("epoch,step,lr,loss,rows\n");
    for s in steps {
        let rows: Vec<String> = s
            .batch
            .iter()
            .map(|&p| table.rows[train_rows[p]].to_string())
            .collect();
        text.push_str(&format!(
            "{},{},{},{},{}\n",
            s.epoch,
            s.step,
            s.lr,
            s.loss,
            rows.join(" ")
        ));
    }
    write_atomic(&out.join(format!("steps_{member}.csv")), text.as_bytes())?;
    Ok(())
}

fn write_split_csv(path: &Path, table: &MoleculeTable, split: &Split) -> Result<(), JobError> {
    let csv_error = |source| JobError::Csv {
        path: path.to_path_buf(),
        source,
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["index", "smiles", "split"])
        .map_err(csv_error)?;
    let parts = split.part_of(table.len());
    for (i, part) in parts.iter().enumerate() {
        if let Some(p) = part {
            w.write_record([
                table.rows[i].to_string().as_str(),
                table.smiles[i].as_str(),
                p,
            ])
            .map_err(csv_error)?;
        }
    }
    let bytes = w
        .into_inner()
        .map_err(|e| JobError::io("writing", path)(e.into_error()))?;
    write_atomic(path, &bytes)?;
    Ok(())
}
