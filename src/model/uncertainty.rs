//! Where a prediction's uncertainty comes from, and what it means.
//!
//! Every estimator reports its uncertainty the same way: [`super::Scores::spread`], one
//! standard deviation `σ` per predicted value, in the units of the value (the task's units for
//! regression, probability for classification), with [`super::Scorer::has_spread`] true. The
//! pipeline writes it as `<task>_unc` (or, for a plain ensemble run, as the older `<task>_std`),
//! ranks by confidence bounds `ŷ ∓ κσ` with it, normalizes conformal intervals by it and
//! z-scales it. The estimators:
//!
//! - [`UncertaintySource::Spread`], the scorer's own: an ensemble of `K` members reports the
//!   population standard deviation of the members' predictions,
//!   `σ = √((1/K) Σₖ (ŷₖ − ŷ̄)²)` with `ŷ̄ = (1/K) Σₖ ŷₖ` the prediction. A network with a
//!   variance head ([`super::head`]: mean–variance or evidential) reports its predicted
//!   `σ = √v̂` here too, so it needs no other path, and an ensemble of such models combines
//!   them as `σ² = (1/K) Σₖ (v̂ₖ + ŷₖ²) − ŷ̄²` ([`super::ensemble::ensemble_predict`]). For
//!   these models it is the estimator by default: a run that asks for none gets it.
//! - [`UncertaintySource::Dropout`], MC dropout ([`super::mc_dropout`]): `S` forward passes
//!   with dropout on; the prediction is the mean of the `K·S` sampled predictions and `σ` their
//!   population standard deviation.
//!
//! [`UncertainModel::prepare`] sets an ensemble up as a run asks ([`UncertaintyRequest`]): the
//! estimator, and the calibration file beside the model ([`super::calibration`]), checked to
//! be this model's and applied with the estimator it was fitted with.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::calibration::{Calibration, ModelIdentity, default_calibration_path};
use super::ensemble::Ensemble;
use super::mc_dropout::McDropout;
use super::scorer::Scorer;
use crate::uncertainty::CalibrationError;

/// The estimator of a prediction's uncertainty (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum UncertaintySource {
    /// The scorer's own spread: an ensemble's standard deviation over members, a variance
    /// head's predicted `σ` (combined over members by the law of total variance).
    Spread,
    /// MC dropout with these settings.
    Dropout(McDropout),
}

impl std::fmt::Display for UncertaintySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UncertaintySource::Spread => write!(
                f,
                "the model's own spread (an ensemble's, or a variance head's predicted σ)"
            ),
            UncertaintySource::Dropout(mc) => match mc.p {
                None => write!(f, "MC dropout ({} samples, seed {})", mc.samples, mc.seed),
                Some(p) => write!(
                    f,
                    "MC dropout ({} samples, seed {}, p = {})",
                    mc.samples,
                    mc.seed,
                    p.get()
                ),
            },
        }
    }
}

/// Why an uncertainty could not be estimated, or a calibration fitted, read or applied.
#[derive(Debug, thiserror::Error)]
pub enum UncertaintyError {
    /// MC dropout with fewer than two samples has no spread.
    #[error("MC dropout needs at least 2 samples, got {samples}")]
    TooFewSamples {
        /// The samples asked for.
        samples: usize,
    },
    /// A network without dropout has nothing to sample.
    #[error(
        "the model{} was trained with dropout 0: it has no dropout to sample \
         (train it with a dropout probability above 0, or use an ensemble)",
        member_of(*member, *members)
    )]
    NoDropout {
        /// The member without dropout.
        member: usize,
        /// Members of the ensemble.
        members: usize,
    },
    /// A dropout probability outside `(0, 1)`.
    #[error("the model{} has dropout probability {p}, which is not in (0, 1)", member_of(*member, *members))]
    BadDropout {
        /// The member.
        member: usize,
        /// Members of the ensemble.
        members: usize,
        /// Its probability.
        p: f64,
    },
    /// What was asked for does not work with this model or run.
    #[error("{0}")]
    Unsupported(String),
    /// A calibration file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A calibration file is not valid: not JSON, not a calibration, a wrong checksum.
    #[error("{path}: corrupt calibration file: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A calibration file of an unknown format version.
    #[error(
        "{path}: calibration format version {found} is not supported (this moltx reads {supported:?})"
    )]
    Version {
        /// The file.
        path: PathBuf,
        /// Its version.
        found: u32,
        /// Versions this build reads.
        supported: Vec<u32>,
    },
    /// A calibration fitted for another model.
    #[error(
        "{path} was fitted for another model (model identity {expected}; this model is \
         {found}): calibrate this model afresh"
    )]
    ModelMismatch {
        /// The file.
        path: PathBuf,
        /// The identity in the file.
        expected: String,
        /// This model's identity.
        found: String,
    },
    /// A calibration that does not fit this model or run (tasks, task type, estimator).
    #[error("{path}: {reason}")]
    Mismatch {
        /// The file.
        path: PathBuf,
        /// What differs.
        reason: String,
    },
    /// A task has no labelled rows to calibrate on.
    #[error("task {task:?} has no labelled rows in the calibration data")]
    NoLabels {
        /// The task.
        task: String,
    },
    /// A calibrator could not be fitted on a task.
    #[error("task {task:?}: {source}")]
    Fit {
        /// The task.
        task: String,
        /// Why.
        source: CalibrationError,
    },
}

/// Which calibration a run applies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CalibrationChoice {
    /// The model's own calibration file, when there is one ([`default_calibration_path`]).
    #[default]
    Auto,
    /// This file (it must exist).
    File(PathBuf),
    /// None.
    Off,
}

/// What a run asks for: an estimator, and a calibration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UncertaintyRequest {
    /// The estimator; `None`: the one the calibration was fitted with (MC dropout), or for a
    /// model with a variance head its own spread, or none.
    pub estimator: Option<UncertaintySource>,
    /// The calibration.
    pub calibration: CalibrationChoice,
}

/// An ensemble set up for a run: MC dropout on when asked (or when its calibration was fitted
/// with it), and its calibration read and checked.
#[derive(Debug, Clone)]
pub struct UncertainModel {
    /// The ensemble (scoring by MC dropout when the estimator is dropout).
    pub ensemble: Ensemble,
    /// The estimator in effect.
    pub estimator: Option<UncertaintySource>,
    /// The calibration applied, and the file it came from.
    pub calibration: Option<(PathBuf, Arc<Calibration>)>,
}

impl UncertainModel {
    /// Sets `ensemble` (read from `model_path`, if it came from a file or folder) up as
    /// `request` asks.
    ///
    /// A calibration fitted on MC-dropout predictions turns MC dropout on with its settings;
    /// asking for other settings, or for MC dropout with a calibration fitted without it, is a
    /// [`UncertaintyError::Mismatch`] (MC dropout changes the predictions themselves). The
    /// ensemble's own spread needs two or more members.
    pub fn prepare(
        mut ensemble: Ensemble,
        model_path: Option<&Path>,
        request: &UncertaintyRequest,
    ) -> Result<Self, UncertaintyError> {
        let path = match &request.calibration {
            CalibrationChoice::Auto => model_path
                .map(default_calibration_path)
                .filter(|p| p.is_file()),
            CalibrationChoice::File(p) => Some(p.clone()),
            CalibrationChoice::Off => None,
        };
        let calibration = match path {
            Some(path) => {
                let c = Calibration::read(&path)?;
                c.check_model(&path, &ModelIdentity::of(&ensemble)?)?;
                Some((path, Arc::new(c)))
            }
            None => None,
        };
        let fitted = calibration.as_ref().and_then(|(_, c)| match c.uncertainty {
            Some(UncertaintySource::Dropout(mc)) => Some(mc),
            _ => None,
        });
        let fitted_on = calibration.as_ref().map(|(p, _)| p.clone());
        let estimator = match (request.estimator, fitted, fitted_on) {
            (None, Some(mc), _) => Some(UncertaintySource::Dropout(mc)),
            (Some(asked), Some(mc), Some(path)) if asked != UncertaintySource::Dropout(mc) => {
                return Err(UncertaintyError::Mismatch {
                    path,
                    reason: format!(
                        "it was fitted on predictions by {}; this run asks for {asked} (use the \
                         calibration's settings, or predict without it)",
                        UncertaintySource::Dropout(mc)
                    ),
                });
            }
            (Some(UncertaintySource::Dropout(_)), None, Some(path)) => {
                return Err(UncertaintyError::Mismatch {
                    path,
                    reason: "it was fitted on the model's plain predictions, and MC dropout \
                             changes them (fit a calibration with MC dropout, or predict \
                             without it)"
                        .into(),
                });
            }
            (asked, _, _) => asked,
        };
        // A variance head's own σ is what such a model predicts: the default estimator.
        let estimator = estimator.or(ensemble
            .has_variance_head()
            .then_some(UncertaintySource::Spread));
        match estimator {
            Some(UncertaintySource::Dropout(mc)) => ensemble = ensemble.with_mc_dropout(mc)?,
            Some(UncertaintySource::Spread) if !ensemble.has_spread() => {
                return Err(UncertaintyError::Unsupported(
                    "the model is a single network, with no spread of its own: use an \
                     ensemble (a folder of models), MC dropout, or a model with a variance \
                     head (mean-variance or evidential)"
                        .into(),
                ));
            }
            _ => {}
        }
        if let Some((path, c)) = &calibration
            && c.needs_spread()
            && !ensemble.has_spread()
        {
            return Err(UncertaintyError::Mismatch {
                path: path.clone(),
                reason: "it scales an uncertainty, and this model reports none".into(),
            });
        }
        Ok(UncertainModel {
            ensemble,
            estimator,
            calibration,
        })
    }
}

/// `" (member i of n)"` for ensembles, nothing for one model.
fn member_of(member: usize, members: usize) -> String {
    if members > 1 {
        format!(" (member {} of {members})", member + 1)
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_member_and_the_fix() {
        let one = UncertaintyError::NoDropout {
            member: 0,
            members: 1,
        }
        .to_string();
        assert!(
            one.starts_with("the model was trained with dropout 0"),
            "{one}"
        );
        let two = UncertaintyError::NoDropout {
            member: 1,
            members: 3,
        }
        .to_string();
        assert!(two.contains("(member 2 of 3)"), "{two}");
        let mc = McDropout::new(5, 7).unwrap();
        let json = serde_json::to_string(&UncertaintySource::Dropout(mc)).unwrap();
        assert_eq!(json, r#"{"kind":"dropout","samples":5,"seed":7}"#);
        let back: UncertaintySource = serde_json::from_str(&json).unwrap();
        assert_eq!(back.to_string(), "MC dropout (5 samples, seed 7)");
        let rated = mc.with_rate(crate::model::mc_dropout::DropoutRate::new(0.25).unwrap());
        let json = serde_json::to_string(&UncertaintySource::Dropout(rated)).unwrap();
        assert_eq!(json, r#"{"kind":"dropout","samples":5,"seed":7,"p":0.25}"#);
        let back: UncertaintySource = serde_json::from_str(&json).unwrap();
        assert_eq!(back, UncertaintySource::Dropout(rated));
        assert_eq!(back.to_string(), "MC dropout (5 samples, seed 7, p = 0.25)");
        let bad = r#"{"kind":"dropout","samples":5,"seed":7,"p":1.5}"#;
        assert!(serde_json::from_str::<UncertaintySource>(bad).is_err());
    }
}
