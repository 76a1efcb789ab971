//! Ensembles of model files: loading a model directory, mean ± standard deviation of the
//! members' predictions, and [`Ensemble`], the [`Scorer`] of one model or several (optionally
//! with MC dropout, [`Ensemble::with_mc_dropout`]).

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use rayon::prelude::*;

use super::input_spec::InputSpec;
use super::mc_dropout::{McDropout, mc_dropout_predict};
use super::scorer::{ScoreError, Scorer, Scores, check_inputs, checksum_identity};
use super::uncertainty::UncertaintyError;
use super::{Checkpoint, CheckpointError, MoleculeInput};
use crate::kernel::KernelError;

/// Model files of a path: the file itself, or every `*.moltx` in a directory (sorted).
pub fn model_files(path: &Path) -> Result<Vec<PathBuf>, CheckpointError> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let io = |source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(io)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "moltx"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(CheckpointError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no *.moltx model files in this directory",
            ),
        });
    }
    Ok(files)
}

/// Loads every member of an ensemble and checks they predict the same tasks.
pub fn load_ensemble(path: &Path, device: &Device) -> Result<Vec<Checkpoint>, CheckpointError> {
    let members: Vec<Checkpoint> = model_files(path)?
        .iter()
        .map(|f| Checkpoint::load(f, device))
        .collect::<Result<_, _>>()?;
    if let Some(first) = members.first() {
        for m in &members[1..] {
            if m.header.tasks != first.header.tasks || m.header.model != first.header.model {
                return Err(CheckpointError::BadHeader {
                    path: path.to_path_buf(),
                    reason: "ensemble members differ in tasks or architecture".into(),
                });
            }
        }
    }
    Ok(members)
}

/// Mean and standard deviation over members (`len × n_tasks` each): the members' mean
/// prediction `ŷ̄ = (1/K) Σₖ ŷₖ` and, by the law of total variance,
/// `σ² = (1/K) Σₖ (vₖ + ŷₖ²) − ŷ̄² = (1/K) Σₖ vₖ + (1/K) Σₖ (ŷₖ − ŷ̄)²`, where `vₖ` is member
/// `k`'s own predicted variance (a variance head, [`super::head`]) and 0 for a point head:
/// for plain members the population standard deviation of their predictions, for one
/// mean–variance model its predicted `σ`.
pub fn ensemble_predict(
    members: &[Checkpoint],
    inputs: &[&MoleculeInput],
    batch_size: usize,
    device: &Device,
) -> Result<(Vec<f64>, Vec<f64>), KernelError> {
    // Batches run side by side (one per thread): small batches stay in cache, and no thread
    // waits at the barriers of a parallel matrix product.
    let preds: Vec<(Vec<f64>, Option<Vec<f64>>)> = members
        .iter()
        .map(|m| {
            let parts: Vec<(Vec<f64>, Option<Vec<f64>>)> = inputs
                .par_chunks(batch_size.max(1))
                .map(|batch| m.predict_with_variance(batch, batch_size, device))
                .collect::<Result<_, _>>()?;
            let mut values = Vec::new();
            let mut vars: Option<Vec<f64>> = None;
            for (v, var) in parts {
                values.extend(v);
                if let Some(var) = var {
                    vars.get_or_insert_with(Vec::new).extend(var);
                }
            }
            Ok((values, vars))
        })
        .collect::<Result<_, KernelError>>()?;
    let n = preds.first().map_or(0, |p| p.0.len());
    let k = preds.len().max(1) as f64;
    let mean: Vec<f64> = (0..n)
        .map(|i| preds.iter().map(|p| p.0[i]).sum::<f64>() / k)
        .collect();
    let sd: Vec<f64> = (0..n)
        .map(|i| {
            let spread = preds
                .iter()
                .map(|p| (p.0[i] - mean[i]).powi(2))
                .sum::<f64>()
                / k;
            let own = preds
                .iter()
                .filter_map(|p| p.1.as_ref().map(|v| v[i]))
                .reduce(|a, b| a + b);
            match own {
                Some(total) => (total / k + spread).sqrt(),
                None => spread.sqrt(),
            }
        })
        .collect();
    Ok((mean, sd))
}

/// Uncertainty metrics of an ensemble on a labelled set (row-major `targets` and `mask`, as
/// a table stores them), for a training report: the expected calibration error of a
/// classifier's probabilities and, with two or more members or a variance head, the metrics
/// of the ensemble's `σ` ([`ensemble_predict`]; Spearman between `σ` and `|y − ŷ|`; for regression also the miscalibration
/// area and the Gaussian NLL; see [`crate::uncertainty::report`]). `None` when there is
/// nothing to report (one point-head regression model, or no labels).
pub fn ensemble_uncertainty_metrics(
    members: &[Checkpoint],
    inputs: &[&MoleculeInput],
    targets: &[f32],
    mask: &[bool],
    device: &Device,
) -> Result<Option<crate::uncertainty::UncertaintyMetrics>, KernelError> {
    let Some(first) = members.first() else {
        return Ok(None);
    };
    let header = &first.header;
    let classification = header.task_type == super::config::TaskType::Classification;
    let spread = members.len() > 1 || header.model.head.has_variance();
    if (!classification && !spread) || !mask.iter().any(|&m| m) {
        return Ok(None);
    }
    let (mean, sd) = ensemble_predict(members, inputs, Ensemble::DEFAULT_BATCH_SIZE, device)?;
    let truths: Vec<f64> = targets.iter().map(|&y| f64::from(y)).collect();
    Ok(Some(crate::uncertainty::UncertaintyMetrics::compute(
        &crate::uncertainty::LabelledPredictions {
            classification,
            tasks: &header.tasks,
            preds: &mean,
            truths: &truths,
            mask,
            sds: spread.then_some(sd.as_slice()),
            intervals: None,
            sets: None,
        },
    )))
}

/// One model or an ensemble of models of the same architecture and tasks: the prediction is
/// the members' mean, and the spread their population standard deviation (with two or
/// more), or for members with a variance head their total predicted `σ` ([`ensemble_predict`]).
/// With MC dropout ([`Ensemble::with_mc_dropout`]) the prediction is the mean of every
/// member's sampled predictions and the spread their standard deviation
/// ([`super::mc_dropout`]), for one model too.
#[derive(Debug, Clone)]
pub struct Ensemble {
    members: Vec<Checkpoint>,
    batch_size: usize,
    mc: Option<McDropout>,
}

impl Ensemble {
    /// Molecules per forward pass unless [`Ensemble::with_batch_size`] says otherwise.
    pub const DEFAULT_BATCH_SIZE: usize = 128;

    /// An ensemble of checked members (at least one, all with the same tasks and
    /// architecture).
    pub fn new(members: Vec<Checkpoint>, source: &Path) -> Result<Self, CheckpointError> {
        let Some(first) = members.first() else {
            return Err(CheckpointError::BadHeader {
                path: source.to_path_buf(),
                reason: "an ensemble needs at least one model".into(),
            });
        };
        if members
            .iter()
            .any(|m| m.header.tasks != first.header.tasks || m.header.model != first.header.model)
        {
            return Err(CheckpointError::BadHeader {
                path: source.to_path_buf(),
                reason: "ensemble members differ in tasks or architecture".into(),
            });
        }
        Ok(Ensemble {
            members,
            batch_size: Self::DEFAULT_BATCH_SIZE,
            mc: None,
        })
    }

    /// Loads a model file, or every `*.moltx` of a folder.
    pub fn load(path: &Path, device: &Device) -> Result<Self, CheckpointError> {
        Self::new(load_ensemble(path, device)?, path)
    }

    /// The same ensemble running `batch_size` molecules per forward pass.
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    /// The same ensemble scoring by MC dropout with `mc`; refused when a member was trained
    /// without dropout and `mc` sets no probability ([`McDropout::check_members`]).
    pub fn with_mc_dropout(mut self, mc: McDropout) -> Result<Self, UncertaintyError> {
        mc.check_members(&self.members)?;
        self.mc = Some(mc);
        Ok(self)
    }

    /// The MC-dropout settings, when it scores by MC dropout.
    pub fn mc_dropout(&self) -> Option<McDropout> {
        self.mc
    }

    /// The identity of the members' bytes alone ([`Scorer::identity`] without the MC-dropout
    /// settings): what a calibration file names as the model it was fitted for.
    pub fn model_identity(&self) -> Result<String, String> {
        let bytes: Vec<Vec<u8>> = self
            .members
            .iter()
            .map(Checkpoint::to_bytes)
            .collect::<Result<_, _>>()?;
        Ok(checksum_identity(&bytes))
    }

    /// The members, in file order.
    pub fn members(&self) -> &[Checkpoint] {
        &self.members
    }

    /// True when the members predict their own variance ([`super::head`]): the spread is
    /// then theirs (combined over members by the law of total variance), one model too.
    pub fn has_variance_head(&self) -> bool {
        self.first().header.model.head.has_variance()
    }

    /// The first member (whose header describes them all).
    pub fn first(&self) -> &Checkpoint {
        &self.members[0]
    }
}

impl Scorer for Ensemble {
    fn input_spec(&self) -> InputSpec {
        self.first().header.input_spec()
    }

    fn tasks(&self) -> &[String] {
        &self.first().header.tasks
    }

    fn has_spread(&self) -> bool {
        self.members.len() > 1 || self.mc.is_some() || self.has_variance_head()
    }

    fn prepare(
        &self,
        mol: &crate::chem::Molecule,
        _id: &str,
    ) -> Result<MoleculeInput, crate::model::InputError> {
        self.first().header.prepare(mol, None)
    }

    fn score(&self, inputs: &[&MoleculeInput], device: &Device) -> Result<Scores, ScoreError> {
        check_inputs(&self.input_spec(), inputs)?;
        let (mean, sd) = match self.mc {
            Some(mc) => mc_dropout_predict(&self.members, inputs, self.batch_size, mc, device)?,
            None => ensemble_predict(&self.members, inputs, self.batch_size, device)?,
        };
        Ok(Scores {
            n: inputs.len(),
            values: mean,
            spread: self.has_spread().then_some(sd),
            notes: Vec::new(),
        })
    }

    fn identity(&self) -> Result<String, String> {
        let models = self.model_identity()?;
        Ok(match self.mc {
            Some(McDropout {
                samples,
                seed,
                p: None,
            }) => format!("{models}+mc-dropout:{samples}:{seed}"),
            Some(McDropout {
                samples,
                seed,
                p: Some(p),
            }) => format!("{models}+mc-dropout:{samples}:{seed}:p={}", p.get()),
            None => models,
        })
    }
}
