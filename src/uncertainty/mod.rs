//! Uncertainty calibration and its metrics (pure f64: slices in, plain structs out).
//!
//! - [`conformal`]: split conformal prediction. [`ConformalRegressor`] turns point
//!   predictions (optionally with a standard deviation each) into intervals with a
//!   finite-sample coverage guarantee; [`ConformalClassifier`] turns a binary task's
//!   probabilities into prediction sets.
//! - [`calibrators`]: post-hoc recalibration fitted on a held-out calibration set:
//!   [`PlattScaler`] and [`IsotonicCalibrator`] for binary probabilities, [`ZScaler`] for
//!   regression standard deviations.
//! - [`metrics`]: interval coverage and width, miscalibration area, expected calibration
//!   error, Spearman correlation between uncertainty and error, Gaussian negative
//!   log-likelihood, and the inverse normal CDF they rest on.
//! - [`report`]: those metrics per task of a labelled multitask set, and their mean
//!   ([`UncertaintyMetrics`]), for `moltx evaluate` and training reports.
//!
//! Every fitted struct derives `Serialize`/`Deserialize`, so it can be stored beside a model.
//! Nothing here panics on user data: bad input is a [`CalibrationError`].

pub mod calibrators;
pub mod conformal;
pub mod metrics;
pub mod report;

pub use calibrators::{IsotonicCalibrator, PlattScaler, ZScaler};
pub use conformal::{ConformalClassifier, ConformalRegressor};
pub use report::{LabelledPredictions, UncertaintyMetrics};

/// Why a calibrator could not be fitted or a metric computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CalibrationError {
    /// An input slice had no rows.
    #[error("{what} is empty: at least one row is needed")]
    Empty {
        /// Which input.
        what: &'static str,
    },
    /// Two inputs that pair up row by row have different lengths.
    #[error("{what} has {found} rows but {expected} were expected (one per prediction)")]
    LengthMismatch {
        /// Which input.
        what: &'static str,
        /// The length of the first input (the predictions).
        expected: usize,
        /// The length of this input.
        found: usize,
    },
    /// The miscoverage level `α` is not strictly between 0 and 1 (the target coverage is
    /// `1 − α`).
    #[error("miscoverage alpha = {alpha} must lie strictly between 0 and 1 (coverage 1 - alpha)")]
    CoverageOutOfRange {
        /// The offending `α`.
        alpha: f64,
    },
    /// A value is NaN or infinite.
    #[error("{what}[{index}] = {value} is not finite")]
    NonFinite {
        /// Which input.
        what: &'static str,
        /// The row.
        index: usize,
        /// The value.
        value: f64,
    },
    /// A standard deviation is zero or negative.
    #[error("{what}[{index}] = {value} is not a positive standard deviation")]
    NonPositiveSd {
        /// Which input.
        what: &'static str,
        /// The row.
        index: usize,
        /// The value.
        value: f64,
    },
    /// A probability lies outside `[0, 1]`.
    #[error("{what}[{index}] = {value} is not a probability in [0, 1]")]
    NotAProbability {
        /// Which input.
        what: &'static str,
        /// The row.
        index: usize,
        /// The value.
        value: f64,
    },
    /// A bin or grid count is too small.
    #[error("{what} = {found} is too small: at least {min} is needed")]
    TooFewBins {
        /// Which count.
        what: &'static str,
        /// The least allowed value.
        min: usize,
        /// The value given.
        found: usize,
    },
    /// An input is constant, so a correlation with it is undefined.
    #[error("{what} is constant: its rank correlation is undefined")]
    Constant {
        /// Which input.
        what: &'static str,
    },
}

/// `Err(Empty)` when `len == 0`.
fn check_nonempty(what: &'static str, len: usize) -> Result<(), CalibrationError> {
    if len == 0 {
        return Err(CalibrationError::Empty { what });
    }
    Ok(())
}

/// `Err(LengthMismatch)` when `found != expected`.
fn check_len(what: &'static str, expected: usize, found: usize) -> Result<(), CalibrationError> {
    if found != expected {
        return Err(CalibrationError::LengthMismatch {
            what,
            expected,
            found,
        });
    }
    Ok(())
}

/// `Err(NonFinite)` at the first NaN or infinite value.
fn check_finite(what: &'static str, xs: &[f64]) -> Result<(), CalibrationError> {
    match xs.iter().position(|x| !x.is_finite()) {
        Some(index) => Err(CalibrationError::NonFinite {
            what,
            index,
            value: xs[index],
        }),
        None => Ok(()),
    }
}

/// `Err` at the first standard deviation that is not finite and positive.
fn check_sds(what: &'static str, sds: &[f64]) -> Result<(), CalibrationError> {
    check_finite(what, sds)?;
    match sds.iter().position(|&s| s <= 0.0) {
        Some(index) => Err(CalibrationError::NonPositiveSd {
            what,
            index,
            value: sds[index],
        }),
        None => Ok(()),
    }
}

/// `Err` at the first value that is not a finite probability in `[0, 1]`.
fn check_probs(what: &'static str, ps: &[f64]) -> Result<(), CalibrationError> {
    check_finite(what, ps)?;
    match ps.iter().position(|p| !(0.0..=1.0).contains(p)) {
        Some(index) => Err(CalibrationError::NotAProbability {
            what,
            index,
            value: ps[index],
        }),
        None => Ok(()),
    }
}

/// `Err(CoverageOutOfRange)` unless `0 < α < 1`.
fn check_alpha(alpha: f64) -> Result<(), CalibrationError> {
    if !(alpha > 0.0 && alpha < 1.0) {
        return Err(CalibrationError::CoverageOutOfRange { alpha });
    }
    Ok(())
}

/// Validates a regression calibration set: non-empty, finite predictions and truths of one
/// length, and (when given) one finite positive standard deviation per row.
fn check_regression(
    preds: &[f64],
    truths: &[f64],
    sds: Option<&[f64]>,
) -> Result<(), CalibrationError> {
    check_nonempty("predictions", preds.len())?;
    check_len("truths", preds.len(), truths.len())?;
    check_finite("predictions", preds)?;
    check_finite("truths", truths)?;
    if let Some(sds) = sds {
        check_len("standard deviations", preds.len(), sds.len())?;
        check_sds("standard deviations", sds)?;
    }
    Ok(())
}

/// Validates a binary calibration set: non-empty probabilities in `[0, 1]` and one label
/// per row.
fn check_binary(probs: &[f64], labels: &[bool]) -> Result<(), CalibrationError> {
    check_nonempty("probabilities", probs.len())?;
    check_len("labels", probs.len(), labels.len())?;
    check_probs("probabilities", probs)
}

/// Checks interval bounds: non-empty, one length, no NaN (infinite bounds are allowed).
fn check_bounds(lo: &[f64], hi: &[f64]) -> Result<(), CalibrationError> {
    check_nonempty("lower bounds", lo.len())?;
    check_len("upper bounds", lo.len(), hi.len())?;
    for (what, xs) in [("lower bounds", lo), ("upper bounds", hi)] {
        if let Some(index) = xs.iter().position(|x| x.is_nan()) {
            return Err(CalibrationError::NonFinite {
                what,
                index,
                value: f64::NAN,
            });
        }
    }
    Ok(())
}

/// Seeded random draws shared by the tests of this module.
#[cfg(test)]
mod testing {
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// A seeded generator.
    pub(crate) fn rng(seed: u64) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(seed)
    }

    /// One standard normal draw by Box–Muller: `√(−2 ln u₁) cos(2π u₂)`, `u₁ ∈ (0, 1]`.
    pub(crate) fn gaussian(rng: &mut impl Rng) -> f64 {
        let u1 = 1.0 - rng.random::<f64>();
        let u2 = rng.random::<f64>();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_the_problem() {
        assert_eq!(
            check_regression(&[], &[], None),
            Err(CalibrationError::Empty {
                what: "predictions"
            })
        );
        assert_eq!(
            check_regression(&[1.0, 2.0], &[1.0], None),
            Err(CalibrationError::LengthMismatch {
                what: "truths",
                expected: 2,
                found: 1
            })
        );
        assert!(matches!(
            check_regression(&[1.0], &[f64::NAN], None),
            Err(CalibrationError::NonFinite {
                what: "truths",
                index: 0,
                ..
            })
        ));
        assert!(matches!(
            check_regression(&[1.0, 2.0], &[1.0, 2.0], Some(&[1.0, 0.0])),
            Err(CalibrationError::NonPositiveSd { index: 1, .. })
        ));
        assert!(matches!(
            check_binary(&[0.5, 1.5], &[true, false]),
            Err(CalibrationError::NotAProbability { index: 1, .. })
        ));
        for alpha in [0.0, 1.0, -0.1, f64::NAN] {
            assert!(check_alpha(alpha).is_err(), "{alpha}");
        }
        assert!(check_alpha(0.1).is_ok());
        let msg = CalibrationError::CoverageOutOfRange { alpha: 1.5 }.to_string();
        assert!(
            msg.contains("1.5") && msg.contains("between 0 and 1"),
            "{msg}"
        );
    }
}
