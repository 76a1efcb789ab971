//! Uncertainty flags shared by `predict`, `screen`, `evaluate` and `calibrate`: the estimator
//! (`--uncertainty ensemble|dropout`, `--samples`, `--seed`), the calibration
//! (`--calibration FILE`, `--no-calibration`) and the confidence-bound ranking (`--bound`,
//! `--kappa`); and setting a model up as they ask.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use burn::tensor::Device;

use crate::model::calibration::Calibration;
use crate::model::mc_dropout::{DropoutRate, McDropout};
use crate::model::uncertainty::{
    CalibrationChoice, UncertainModel, UncertaintyRequest, UncertaintySource,
};
use crate::model::{Ensemble, Scorer, Scores};
use crate::screen::{BoundSide, ConfidenceBound, UncertaintyOptions};

/// The estimators `--uncertainty` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EstimatorKind {
    /// The model's own spread: the standard deviation over an ensemble's members (a folder
    /// of models), and a variance head's predicted σ (`--loss mve`/`evidential`), combined
    /// by the law of total variance.
    Ensemble,
    /// MC dropout: `--samples` forward passes with dropout on (a model trained with dropout).
    Dropout,
}

/// `--uncertainty`, `--samples`, `--seed`.
#[derive(Debug, Clone, clap::Args)]
pub struct EstimatorArgs {
    /// Uncertainty per prediction (written as `<task>_unc`, a standard deviation in the
    /// task's units): `ensemble` (the model's own spread: over an ensemble's members, and a
    /// variance head's predicted σ) or `dropout`. Default: an ensemble's spread as
    /// `<task>_std`, the estimator the calibration was fitted with, or for a model trained
    /// with `--loss mve`/`evidential` its own σ as `<task>_unc`.
    #[arg(long, value_enum)]
    pub uncertainty: Option<EstimatorKind>,
    /// MC-dropout forward passes per model (default 30).
    #[arg(long)]
    pub samples: Option<usize>,
    /// Seed of the MC-dropout masks (default 0): the same seed gives the same numbers.
    #[arg(long)]
    pub seed: Option<u64>,
    /// MC dropout at this probability in every dropout layer instead of the model's own, so
    /// that a model trained without dropout can be sampled too (its D-MPNN then drops its
    /// messages, as chemprop's `--uncertainty-dropout-p` does).
    #[arg(long)]
    pub dropout_p: Option<f64>,
}

/// `--calibration`, `--no-calibration`.
#[derive(Debug, Clone, clap::Args)]
pub struct CalibrationArgs {
    /// Calibration to apply (from `moltx calibrate`); default: the model's own,
    /// `MODEL/calibration.json` or `<model>.calibration.json`, when it exists.
    #[arg(long, conflicts_with = "no_calibration")]
    pub calibration: Option<PathBuf>,
    /// Ignore the model's calibration file.
    #[arg(long)]
    pub no_calibration: bool,
}

/// `--bound`, `--kappa`.
#[derive(Debug, Clone, clap::Args)]
pub struct BoundArgs {
    /// Rank --top-k by a confidence bound of --by: `lcb` = value − κ·unc, `ucb` = value +
    /// κ·unc (needs an uncertainty).
    #[arg(long, value_enum, requires = "top_k")]
    pub bound: Option<BoundSide>,
    /// κ of --bound: standard deviations below or above the value.
    #[arg(long, default_value_t = 1.0, requires = "bound")]
    pub kappa: f64,
}

/// Every uncertainty flag of a streaming command.
#[derive(Debug, Clone, clap::Args)]
pub struct UncertaintyArgs {
    /// The estimator.
    #[command(flatten)]
    pub estimator: EstimatorArgs,
    /// The calibration.
    #[command(flatten)]
    pub calibration: CalibrationArgs,
    /// The ranking.
    #[command(flatten)]
    pub bound: BoundArgs,
}

impl EstimatorArgs {
    /// The estimator asked for, if any.
    pub fn source(&self) -> anyhow::Result<Option<UncertaintySource>> {
        match self.uncertainty {
            Some(EstimatorKind::Dropout) => {
                let mut mc = McDropout::new(
                    self.samples.unwrap_or(McDropout::DEFAULT_SAMPLES),
                    self.seed.unwrap_or(0),
                )?;
                if let Some(p) = self.dropout_p {
                    mc = mc.with_rate(DropoutRate::new(p).context("--dropout-p")?);
                }
                Ok(Some(UncertaintySource::Dropout(mc)))
            }
            other => {
                anyhow::ensure!(
                    self.samples.is_none() && self.seed.is_none() && self.dropout_p.is_none(),
                    "--samples, --seed and --dropout-p go with --uncertainty dropout"
                );
                Ok(other.map(|_| UncertaintySource::Spread))
            }
        }
    }
}

impl CalibrationArgs {
    /// The calibration asked for.
    pub fn choice(&self) -> CalibrationChoice {
        match (&self.calibration, self.no_calibration) {
            (Some(path), _) => CalibrationChoice::File(path.clone()),
            (None, true) => CalibrationChoice::Off,
            (None, false) => CalibrationChoice::Auto,
        }
    }
}

impl UncertaintyArgs {
    /// True when no uncertainty flag was given.
    pub fn is_empty(&self) -> bool {
        self.estimator.uncertainty.is_none()
            && self.estimator.samples.is_none()
            && self.estimator.seed.is_none()
            && self.estimator.dropout_p.is_none()
            && self.calibration.calibration.is_none()
            && !self.calibration.no_calibration
            && self.bound.bound.is_none()
    }

    /// The confidence bound asked for.
    pub fn bound(&self) -> Option<ConfidenceBound> {
        self.bound.bound.map(|side| ConfidenceBound {
            side,
            kappa: self.bound.kappa,
        })
    }
}

/// Sets `ensemble` (from `path`, `None` for the bundled model) up as the flags ask, and says
/// so on stderr.
pub fn prepare(
    ensemble: Ensemble,
    path: Option<&Path>,
    estimator: &EstimatorArgs,
    calibration: &CalibrationArgs,
) -> anyhow::Result<UncertainModel> {
    let request = UncertaintyRequest {
        estimator: estimator.source()?,
        calibration: calibration.choice(),
    };
    let name = path.map_or("the bundled model".into(), |p| p.display().to_string());
    let model = UncertainModel::prepare(ensemble, path, &request).map_err(|e| {
        let hint = match &e {
            crate::model::uncertainty::UncertaintyError::Mismatch { .. } => {
                " (--no-calibration predicts without it)"
            }
            _ => "",
        };
        anyhow::anyhow!("{name}: {e}{hint}")
    })?;
    if let Some(source @ UncertaintySource::Dropout(_)) = model.estimator
        && estimator.uncertainty.is_none()
    {
        eprintln!("uncertainty: {source}, as the calibration was fitted");
    }
    if let Some((file, c)) = &model.calibration {
        eprintln!("calibration: {} ({})", file.display(), describe(c));
    }
    Ok(model)
}

/// `conformal, 90% coverage`, `platt`, …
pub fn describe(c: &Calibration) -> String {
    match c.coverage {
        Some(cov) => format!("{}, {:.0}% coverage", c.method.name(), 100.0 * cov),
        None => c.method.name().to_string(),
    }
}

/// The pipeline's uncertainty options for a prepared model.
pub fn stream_options(model: &UncertainModel, args: &UncertaintyArgs) -> UncertaintyOptions {
    UncertaintyOptions {
        columns: model.estimator.is_some(),
        calibration: model.calibration.as_ref().map(|(_, c)| Arc::clone(c)),
        bound: args.bound(),
    }
}

/// Loads a model file or folder as a network ensemble of `batch_size`, or explains why the
/// uncertainty flags do not apply to it (a fusion folder or neighbour model).
pub fn load_network(path: &Path, batch_size: usize, device: &Device) -> anyhow::Result<Ensemble> {
    anyhow::ensure!(
        !crate::link::FusionModel::is_fusion_folder(path)
            && !crate::link::neighbor_file::is_neighbor_file(path),
        "{}: uncertainty estimates and calibrations apply to moltx network models (a model \
         file or a folder of them), not to fusion or neighbour models",
        path.display()
    );
    Ok(Ensemble::load(path, device)
        .with_context(|| format!("loading {}", path.display()))?
        .with_batch_size(batch_size))
}

/// The rows of `scores` calibrated in place: values and spreads, and each row's intervals
/// (`lo`, `hi`) or sets, row-major like the values.
pub struct CalibratedScores {
    /// Lower bounds (empty without intervals).
    pub lower: Vec<f64>,
    /// Upper bounds (empty without intervals).
    pub upper: Vec<f64>,
    /// Prediction sets (empty without sets).
    pub sets: Vec<(bool, bool)>,
}

/// Applies `calibration` to every row of `scores` (`t` tasks).
pub fn calibrate_scores(
    scores: &mut Scores,
    t: usize,
    calibration: &Calibration,
) -> CalibratedScores {
    let mut out = CalibratedScores {
        lower: Vec::new(),
        upper: Vec::new(),
        sets: Vec::new(),
    };
    for i in 0..scores.n {
        let values = &mut scores.values[i * t..(i + 1) * t];
        let sds = scores.spread.as_mut().map(|s| &mut s[i * t..(i + 1) * t]);
        let row = calibration.apply(values, sds);
        out.lower.extend(row.lower);
        out.upper.extend(row.upper);
        out.sets.extend(row.sets);
    }
    out
}

/// The scorer a streaming command runs: `path`'s model (the bundled one for `None`), set up
/// for uncertainty when a flag asks or a calibration file exists; any other model as
/// `fallback` loads it, when no uncertainty flag is given. `signatures`: the command was given
/// measured signatures (read by fusion models only).
pub fn load_streaming(
    path: Option<&Path>,
    args: &UncertaintyArgs,
    (batch_size, signatures): (usize, bool),
    device: &Device,
    fallback: impl FnOnce() -> anyhow::Result<Box<dyn Scorer>>,
) -> anyhow::Result<(Box<dyn Scorer>, UncertaintyOptions)> {
    let network = path.is_none_or(|p| {
        !crate::link::FusionModel::is_fusion_folder(p)
            && !crate::link::neighbor_file::is_neighbor_file(p)
    });
    let own_file =
        path.is_some_and(|p| crate::model::calibration::default_calibration_path(p).is_file());
    // `--no-calibration` alone asks for nothing a fusion or neighbour model lacks.
    let asks = !UncertaintyArgs {
        calibration: CalibrationArgs {
            no_calibration: false,
            ..args.calibration.clone()
        },
        ..args.clone()
    }
    .is_empty();
    // A model with a variance head reports its own σ as `<task>_unc` without being asked.
    let variance_head = network
        && path
            .and_then(|p| crate::model::ensemble::model_files(p).ok())
            .and_then(|files| files.first().cloned())
            .and_then(|file| crate::model::CheckpointHeader::read(&file).ok())
            .is_some_and(|h| h.model.head.has_variance());
    if !network || (args.is_empty() && !own_file && !variance_head) {
        if !network && asks {
            // Explains why the flags do not apply.
            load_network(path.unwrap_or(Path::new("")), batch_size, device)?;
        }
        return Ok((fallback()?, UncertaintyOptions::default()));
    }
    anyhow::ensure!(
        !signatures,
        "--signatures is read by fusion models (moltx train-fusion); {} is not one",
        path.map_or("the bundled model".into(), |p| p.display().to_string())
    );
    let ensemble = match path {
        Some(p) => load_network(p, batch_size, device)?,
        None => {
            let model = crate::model::bundled::bundled_tox21(device)?;
            Ensemble::new(
                vec![model],
                Path::new(crate::model::bundled::BUNDLED_MODEL_PATH),
            )?
        }
    };
    let model = prepare(ensemble, path, &args.estimator, &args.calibration)?;
    let options = stream_options(&model, args);
    Ok((Box::new(model.ensemble), options))
}
