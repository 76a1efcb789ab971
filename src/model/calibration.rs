//! Calibration files: a model's uncertainty recalibrated on held-out data, stored beside the
//! model and applied to every prediction it makes.
//!
//! One method per file, fitted per task on the labelled rows of a calibration set
//! ([`crate::uncertainty`] has the math):
//!
//! | method | task type | what it does to a prediction `ŷ` (uncertainty `σ`) |
//! |---|---|---|
//! | `conformal` | regression | an interval `ŷ ± q̂` (`ŷ ± q̂σ` when normalized by `σ`) |
//! | `conformal` | classification | a prediction set `{c : 1 − p(c) ≤ q̂}` ⊆ {0, 1} |
//! | `platt` | classification | `p' = σ(a · logit p + b)` |
//! | `isotonic` | classification | `p' = f(p)`, `f` non-decreasing (PAV) |
//! | `zscale` | regression | `σ' = s · σ` |
//!
//! The file (JSON, [`CALIBRATION_FORMAT`] version [`CALIBRATION_VERSION`]) holds the fitted
//! [`Calibration`] and the CRC-32 of its compact JSON, so a damaged file is refused; the
//! calibration names the model it was fitted for by [`ModelIdentity::identity`] (the
//! checksum of the members' bytes, [`super::Ensemble::model_identity`]) and the estimator of
//! the uncertainty it rests on, so it is never applied to another model or estimator.
//! A model folder's calibration is `<folder>/calibration.json`; a model file's is
//! `<stem>.calibration.json` beside it ([`default_calibration_path`]).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::config::TaskType;
use super::uncertainty::{UncertaintyError, UncertaintySource};
use crate::uncertainty::{
    ConformalClassifier, ConformalRegressor, IsotonicCalibrator, LabelledPredictions, PlattScaler,
    ZScaler,
};

/// The `format` field of every calibration file.
pub const CALIBRATION_FORMAT: &str = "moltx-calibration";
/// The format version this build writes.
pub const CALIBRATION_VERSION: u32 = 1;
/// Format versions this build reads.
pub const READABLE_CALIBRATION_VERSIONS: &[u32] = &[1];

/// How to recalibrate (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "snake_case")]
pub enum CalibrationMethod {
    /// Split conformal intervals (regression) or prediction sets (classification).
    Conformal,
    /// Platt scaling of probabilities.
    Platt,
    /// Isotonic regression of probabilities.
    Isotonic,
    /// z-scaling of standard deviations.
    Zscale,
}

impl CalibrationMethod {
    /// The method's name in files and flags.
    pub fn name(self) -> &'static str {
        match self {
            CalibrationMethod::Conformal => "conformal",
            CalibrationMethod::Platt => "platt",
            CalibrationMethod::Isotonic => "isotonic",
            CalibrationMethod::Zscale => "zscale",
        }
    }
}

/// One task's fitted calibrator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TaskCalibrator {
    /// Conformal intervals of a regression task.
    Interval(ConformalRegressor),
    /// Conformal prediction sets of a binary task.
    Set(ConformalClassifier),
    /// Platt scaling of a binary task's probability.
    Platt(PlattScaler),
    /// Isotonic recalibration of a binary task's probability.
    Isotonic(IsotonicCalibrator),
    /// z-scaling of a regression task's standard deviation.
    Zscale(ZScaler),
}

/// One task's calibration: the calibrator and the labelled rows it was fitted on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskCalibration {
    /// The task.
    pub task: String,
    /// Labelled calibration rows of the task.
    pub rows: usize,
    /// The fitted calibrator.
    pub calibrator: TaskCalibrator,
}

/// The model a calibration was fitted for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelIdentity {
    /// [`super::Ensemble::model_identity`]: `<members>:<crc32>` of the model files' bytes.
    pub identity: String,
    /// Regression or classification.
    pub task_type: TaskType,
    /// The model's tasks, in order.
    pub tasks: Vec<String>,
}

impl ModelIdentity {
    /// The identity of an ensemble's members (its MC-dropout settings aside).
    pub fn of(ensemble: &super::Ensemble) -> Result<Self, UncertaintyError> {
        let header = &ensemble.first().header;
        Ok(ModelIdentity {
            identity: ensemble
                .model_identity()
                .map_err(|e| UncertaintyError::Unsupported(format!("encoding the model: {e}")))?,
            task_type: header.task_type,
            tasks: header.tasks.clone(),
        })
    }
}

/// A fitted calibration of one model (see the module documentation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// The method.
    pub method: CalibrationMethod,
    /// The target coverage `1 − α` of conformal intervals and sets (`None` otherwise).
    pub coverage: Option<f64>,
    /// The model it was fitted for.
    pub model: ModelIdentity,
    /// The uncertainty estimator its predictions came from: MC dropout (whose predictions
    /// are sample means, so predictions must use the same settings), or the model's own spread
    /// when the calibration uses it (normalized intervals, z-scaling); `None` when it rests on
    /// the plain predictions alone.
    pub uncertainty: Option<UncertaintySource>,
    /// What it was fitted on (the calibration data's file name).
    pub data: String,
    /// moltx version that fitted it.
    pub moltx_version: String,
    /// One calibration per task of the model, in order.
    pub tasks: Vec<TaskCalibration>,
}

/// A calibration file: the calibration and the checksum of its compact JSON.
#[derive(Debug, Serialize, Deserialize)]
struct CalibrationFile {
    format: String,
    version: u32,
    checksum: String,
    calibration: Calibration,
}

/// The format fields of a file, read before the rest.
#[derive(Deserialize)]
struct FormatFields {
    format: Option<String>,
    version: Option<u32>,
}

/// What a calibration adds to one row of predictions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RowCalibration {
    /// Conformal lower bounds, one per task (empty unless the calibration makes intervals).
    pub lower: Vec<f64>,
    /// Conformal upper bounds, one per task.
    pub upper: Vec<f64>,
    /// Conformal sets `(contains 0, contains 1)`, one per task (empty unless it makes sets).
    pub sets: Vec<(bool, bool)>,
}

/// The calibration file a model is calibrated by, unless another is named: a folder's
/// `calibration.json`, or `<stem>.calibration.json` beside a model file.
pub fn default_calibration_path(model: &Path) -> PathBuf {
    if model.is_dir() {
        model.join("calibration.json")
    } else {
        model.with_extension("calibration.json")
    }
}

/// A prediction set as text: `"0"`, `"1"`, `"0,1"`, or `""` (empty).
pub fn set_label((zero, one): (bool, bool)) -> &'static str {
    match (zero, one) {
        (true, true) => "0,1",
        (true, false) => "0",
        (false, true) => "1",
        (false, false) => "",
    }
}

/// CRC-32 of bytes as 8 hex digits.
fn crc_hex(bytes: &[u8]) -> String {
    format!("{:08x}", crc32fast::hash(bytes))
}

impl Calibration {
    /// Fits `method` on every task of `data` (its labelled rows; `data.sds` normalizes
    /// conformal intervals and is what z-scaling scales). `coverage` is the target `1 − α`
    /// of conformal methods. `uncertainty` is the estimator that produced `data.sds` (or the
    /// MC-dropout predictions); it is recorded when the calibration depends on it.
    ///
    /// Errors: a method that does not fit the task type, z-scaling without an uncertainty,
    /// a task without labelled rows, and whatever the calibrator's fit refuses (named by task).
    pub fn fit(
        method: CalibrationMethod,
        coverage: f64,
        model: ModelIdentity,
        uncertainty: Option<UncertaintySource>,
        data: &LabelledPredictions<'_>,
        source: &str,
    ) -> Result<Self, UncertaintyError> {
        let classification = model.task_type == TaskType::Classification;
        let unsupported = |why: &str| Err(UncertaintyError::Unsupported(why.to_string()));
        match (method, classification) {
            (CalibrationMethod::Platt | CalibrationMethod::Isotonic, false) => {
                return unsupported(
                    "platt and isotonic calibrate probabilities: they need a classification \
                     model (use conformal or zscale for regression)",
                );
            }
            (CalibrationMethod::Zscale, true) => {
                return unsupported(
                    "zscale scales regression standard deviations: use conformal, platt or \
                     isotonic for classification",
                );
            }
            (CalibrationMethod::Zscale, false) if data.sds.is_none() => {
                return unsupported(
                    "zscale scales an uncertainty, and the model has none: use an ensemble or \
                     MC dropout",
                );
            }
            _ => {}
        }
        let alpha = 1.0 - coverage;
        let t = model.tasks.len();
        let len = data.preds.len();
        let sds_len = data.sds.map_or(len, <[f64]>::len);
        if data.truths.len() != len || data.mask.len() != len || sds_len != len || t == 0 {
            return unsupported(
                "the calibration data's predictions, truths, mask and uncertainties must have \
                 one entry per molecule and task",
            );
        }
        let n = len / t;
        let mut tasks = Vec::with_capacity(t);
        for (j, task) in model.tasks.iter().enumerate() {
            let rows: Vec<usize> = (0..n).filter(|&i| data.mask[i * t + j]).collect();
            if rows.is_empty() {
                return Err(UncertaintyError::NoLabels { task: task.clone() });
            }
            let pick = |v: &[f64]| rows.iter().map(|&i| v[i * t + j]).collect::<Vec<f64>>();
            let (p, y) = (pick(data.preds), pick(data.truths));
            let s = data.sds.map(pick);
            let labels: Vec<bool> = y.iter().map(|&v| v >= 0.5).collect();
            let fit_error = |source| UncertaintyError::Fit {
                task: task.clone(),
                source,
            };
            let calibrator = match (method, classification) {
                (CalibrationMethod::Conformal, false) => TaskCalibrator::Interval(
                    ConformalRegressor::fit(&p, &y, s.as_deref(), alpha).map_err(fit_error)?,
                ),
                (CalibrationMethod::Conformal, true) => TaskCalibrator::Set(
                    ConformalClassifier::fit(&p, &labels, alpha).map_err(fit_error)?,
                ),
                (CalibrationMethod::Platt, _) => {
                    TaskCalibrator::Platt(PlattScaler::fit(&p, &labels).map_err(fit_error)?)
                }
                (CalibrationMethod::Isotonic, _) => TaskCalibrator::Isotonic(
                    IsotonicCalibrator::fit(&p, &labels).map_err(fit_error)?,
                ),
                (CalibrationMethod::Zscale, _) => TaskCalibrator::Zscale(
                    ZScaler::fit(&p, &y, s.as_deref().unwrap_or(&[])).map_err(fit_error)?,
                ),
            };
            tasks.push(TaskCalibration {
                task: task.clone(),
                rows: rows.len(),
                calibrator,
            });
        }
        let uses_spread = data.sds.is_some()
            && (method == CalibrationMethod::Zscale
                || (method == CalibrationMethod::Conformal && !classification));
        let uncertainty = match uncertainty {
            Some(UncertaintySource::Dropout(mc)) => Some(UncertaintySource::Dropout(mc)),
            other => other.filter(|_| uses_spread),
        };
        Ok(Calibration {
            method,
            coverage: (method == CalibrationMethod::Conformal).then_some(coverage),
            model,
            uncertainty,
            data: source.to_string(),
            moltx_version: env!("CARGO_PKG_VERSION").to_string(),
            tasks,
        })
    }

    /// The CRC-32 (8 hex digits) of the calibration's compact JSON.
    pub fn checksum(&self) -> Result<String, UncertaintyError> {
        let bytes = serde_json::to_vec(self)
            .map_err(|e| UncertaintyError::Unsupported(format!("encoding a calibration: {e}")))?;
        Ok(crc_hex(&bytes))
    }

    /// Writes the calibration file (through a temporary file renamed into place).
    pub fn write(&self, path: &Path) -> Result<(), UncertaintyError> {
        let file = CalibrationFile {
            format: CALIBRATION_FORMAT.to_string(),
            version: CALIBRATION_VERSION,
            checksum: self.checksum()?,
            calibration: self.clone(),
        };
        let mut text = serde_json::to_string_pretty(&file)
            .map_err(|e| UncertaintyError::Unsupported(format!("encoding a calibration: {e}")))?;
        text.push('\n');
        let io = |source| UncertaintyError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// Reads and checks a calibration file: its format and version, checksum, and that every
    /// task has one calibrator of the method and task type.
    pub fn read(path: &Path) -> Result<Self, UncertaintyError> {
        let corrupt = |reason: String| UncertaintyError::Corrupt {
            path: path.to_path_buf(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|source| UncertaintyError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let head: FormatFields =
            serde_json::from_str(&text).map_err(|e| corrupt(format!("not JSON ({e})")))?;
        if head.format.as_deref() != Some(CALIBRATION_FORMAT) {
            return Err(corrupt(format!(
                "not a moltx calibration file (no \"format\": \"{CALIBRATION_FORMAT}\")"
            )));
        }
        let version = head.version.unwrap_or(0);
        if !READABLE_CALIBRATION_VERSIONS.contains(&version) {
            return Err(UncertaintyError::Version {
                path: path.to_path_buf(),
                found: version,
                supported: READABLE_CALIBRATION_VERSIONS.to_vec(),
            });
        }
        let file: CalibrationFile =
            serde_json::from_str(&text).map_err(|e| corrupt(e.to_string()))?;
        let found = file.calibration.checksum()?;
        if found != file.checksum {
            return Err(corrupt(format!(
                "checksum {found} does not match the recorded {}: the file was changed after \
                 it was written",
                file.checksum
            )));
        }
        file.calibration.validate().map_err(corrupt)?;
        Ok(file.calibration)
    }

    /// Checks the calibration's own consistency: one calibrator per task, of the method and
    /// task type, with sane numbers.
    fn validate(&self) -> Result<(), String> {
        let names: Vec<&String> = self.tasks.iter().map(|t| &t.task).collect();
        if names != self.model.tasks.iter().collect::<Vec<_>>() {
            return Err("its tasks do not match the model's it names".into());
        }
        if let Some(c) = self.coverage
            && !(c > 0.0 && c < 1.0)
        {
            return Err(format!("coverage {c} is not in (0, 1)"));
        }
        let classification = self.model.task_type == TaskType::Classification;
        for t in &self.tasks {
            let ok = match (&t.calibrator, self.method) {
                (TaskCalibrator::Interval(r), CalibrationMethod::Conformal) => {
                    !classification && !r.q_hat.is_nan() && r.q_hat >= 0.0
                }
                (TaskCalibrator::Set(c), CalibrationMethod::Conformal) => {
                    classification && !c.q_hat.is_nan()
                }
                (TaskCalibrator::Platt(p), CalibrationMethod::Platt) => {
                    classification && p.a.is_finite() && p.b.is_finite()
                }
                (TaskCalibrator::Isotonic(i), CalibrationMethod::Isotonic) => {
                    let (xs, ys) = i.points();
                    classification
                        && !xs.is_empty()
                        && xs.len() == ys.len()
                        && xs.windows(2).all(|w| w[0] < w[1])
                        && ys.iter().all(|y| (0.0..=1.0).contains(y))
                }
                (TaskCalibrator::Zscale(z), CalibrationMethod::Zscale) => {
                    !classification && z.s.is_finite() && z.s >= 0.0
                }
                _ => false,
            };
            if !ok {
                return Err(format!(
                    "task {:?}: its calibrator does not fit a {} calibration of a {} model",
                    t.task,
                    self.method.name(),
                    if classification {
                        "classification"
                    } else {
                        "regression"
                    }
                ));
            }
        }
        Ok(())
    }

    /// Checks that this calibration (read from `path`) was fitted for `model`.
    pub fn check_model(&self, path: &Path, model: &ModelIdentity) -> Result<(), UncertaintyError> {
        if self.model.identity != model.identity {
            return Err(UncertaintyError::ModelMismatch {
                path: path.to_path_buf(),
                expected: self.model.identity.clone(),
                found: model.identity.clone(),
            });
        }
        if self.model != *model {
            return Err(UncertaintyError::Mismatch {
                path: path.to_path_buf(),
                reason: "its tasks or task type differ from the model's".into(),
            });
        }
        Ok(())
    }

    /// True when it makes conformal intervals (`<task>_lo`, `<task>_hi`).
    pub fn has_intervals(&self) -> bool {
        matches!(
            self.tasks.first().map(|t| &t.calibrator),
            Some(TaskCalibrator::Interval(_))
        )
    }

    /// True when it makes conformal prediction sets (`<task>_set`).
    pub fn has_sets(&self) -> bool {
        matches!(
            self.tasks.first().map(|t| &t.calibrator),
            Some(TaskCalibrator::Set(_))
        )
    }

    /// True when applying it needs a standard deviation per value (normalized intervals,
    /// z-scaling).
    pub fn needs_spread(&self) -> bool {
        self.tasks.iter().any(|t| match &t.calibrator {
            TaskCalibrator::Interval(r) => r.normalized,
            TaskCalibrator::Zscale(_) => true,
            _ => false,
        })
    }

    /// Calibrates one row in place: probabilities (Platt, isotonic) in `values`, standard
    /// deviations (z-scaling) in `sds`; returns the row's intervals or sets. Tasks beyond the
    /// calibration's are left alone. A normalized interval without a standard deviation is
    /// the whole line (never under-covering).
    pub fn apply(&self, values: &mut [f64], mut sds: Option<&mut [f64]>) -> RowCalibration {
        let mut out = RowCalibration::default();
        for (j, t) in self.tasks.iter().enumerate() {
            let Some(value) = values.get_mut(j) else {
                break;
            };
            let sd = sds.as_deref_mut().and_then(|s| s.get_mut(j));
            match &t.calibrator {
                TaskCalibrator::Interval(r) => {
                    let (lo, hi) = r.interval(*value, sd.map(|s| *s));
                    out.lower.push(lo);
                    out.upper.push(hi);
                }
                TaskCalibrator::Set(c) => out.sets.push(c.prediction_set(*value)),
                TaskCalibrator::Platt(p) => *value = p.apply(*value),
                TaskCalibrator::Isotonic(i) => *value = i.apply(*value),
                TaskCalibrator::Zscale(z) => {
                    if let Some(s) = sd {
                        *s = z.apply(*s);
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
#[path = "calibration_tests.rs"]
mod tests;
