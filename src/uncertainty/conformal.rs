//! Split conformal prediction (Vovk et al. 2005; Lei et al. 2018; Angelopoulos & Bates 2021).
//!
//! Fit on a held-out calibration set of `n` rows exchangeable with the rows to be predicted:
//! compute a nonconformity score `sᵢ` per row and take
//!
//! `q̂ = s₍ₖ₎`, the `k`-th smallest score, with `k = ⌈(n+1)(1−α)⌉`.
//!
//! Then a new row's true value (or class) lies in the set `{y : s(x, y) ≤ q̂}` with
//! probability at least `1 − α` (and, without ties among the scores, at most
//! `1 − α + 1/(n+1)`). When `k > n` (too few rows for the level: `n < 1/α − 1`), `q̂ = +∞`
//! and every set is the whole space.

use serde::{Deserialize, Serialize};

use super::{CalibrationError, check_alpha, check_binary, check_nonempty, check_regression};

/// The split conformal quantile `q̂ = s₍ₖ₎`, the `k`-th smallest of the `n` scores with
/// `k = ⌈(n+1)(1−α)⌉`; `+∞` when `k > n`.
///
/// `(n+1)(1−α)` is rounded up with a relative tolerance of 1e-12, so that a product that is an
/// integer in exact arithmetic (e.g. `(19+1)(1−0.1) = 18`) is not pushed to the next rank by
/// floating-point error. Errors on empty or non-finite scores and on `α ∉ (0, 1)`.
pub fn conformal_quantile(scores: &[f64], alpha: f64) -> Result<f64, CalibrationError> {
    check_alpha(alpha)?;
    check_nonempty("scores", scores.len())?;
    super::check_finite("scores", scores)?;
    let n = scores.len();
    let level = (n + 1) as f64 * (1.0 - alpha);
    let k = (level * (1.0 - 1e-12)).ceil().max(1.0) as usize;
    if k > n {
        return Ok(f64::INFINITY);
    }
    let mut sorted = scores.to_vec();
    let (_, kth, _) = sorted.select_nth_unstable_by(k - 1, f64::total_cmp);
    Ok(*kth)
}

/// Split conformal intervals for regression.
///
/// Scores on the calibration set: `sᵢ = |yᵢ − ŷᵢ|`, or, when a standard deviation `σᵢ` is
/// given per row ("normalized" conformal), `sᵢ = |yᵢ − ŷᵢ| / σᵢ`. The interval for a new
/// prediction is `ŷ ± q̂` (or `ŷ ± q̂·σ`), which covers the truth with probability `≥ 1 − α`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ConformalRegressor {
    /// The miscoverage level `α`; the target coverage is `1 − α`.
    pub alpha: f64,
    /// The conformal quantile of the scores (see [`conformal_quantile`]); `+∞` when the
    /// calibration set is too small for `α` (stored as `null` in JSON).
    #[serde(with = "q_hat_serde")]
    pub q_hat: f64,
    /// Whether the scores were divided by the standard deviations (`|y − ŷ|/σ`).
    pub normalized: bool,
}

impl ConformalRegressor {
    /// Fits `q̂` on a calibration set: predictions `ŷ`, truths `y` and optionally one standard
    /// deviation `σ > 0` per row (which makes the regressor normalized).
    ///
    /// Errors on empty or mismatched inputs, non-finite values, `σ ≤ 0` and `α ∉ (0, 1)`.
    pub fn fit(
        preds: &[f64],
        truths: &[f64],
        sds: Option<&[f64]>,
        alpha: f64,
    ) -> Result<Self, CalibrationError> {
        check_alpha(alpha)?;
        check_regression(preds, truths, sds)?;
        let scores: Vec<f64> = match sds {
            Some(sds) => (preds.iter().zip(truths).zip(sds))
                .map(|((p, y), s)| (y - p).abs() / s)
                .collect(),
            None => preds
                .iter()
                .zip(truths)
                .map(|(p, y)| (y - p).abs())
                .collect(),
        };
        Ok(Self {
            alpha,
            q_hat: conformal_quantile(&scores, alpha)?,
            normalized: sds.is_some(),
        })
    }

    /// The interval `(lo, hi)`: `ŷ ∓ q̂`, or `ŷ ∓ q̂·σ` when normalized.
    ///
    /// An unnormalized regressor ignores `sd`. A normalized one given no `sd` has no scale,
    /// so it answers the whole line `(−∞, +∞)` (conservative, never under-covering); so does
    /// any regressor with `q̂ = +∞`. A NaN `sd` gives NaN bounds.
    pub fn interval(&self, pred: f64, sd: Option<f64>) -> (f64, f64) {
        if self.q_hat.is_infinite() {
            return (f64::NEG_INFINITY, f64::INFINITY);
        }
        let half = match (self.normalized, sd) {
            (false, _) => self.q_hat,
            (true, Some(sd)) => self.q_hat * sd,
            (true, None) => f64::INFINITY,
        };
        (pred - half, pred + half)
    }
}

/// Split conformal prediction sets for one binary task (fit one per task).
///
/// With `p = P(class 1)`, the score of a calibration row with true class `c` is
/// `s = 1 − p(c)`: `1 − p` for a positive, `p` for a negative. A new row's set holds every
/// class `c` with `1 − p(c) ≤ q̂`; it contains the true class with probability `≥ 1 − α`.
/// A set may hold both classes (uncertain) or neither (an unusual row).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ConformalClassifier {
    /// The miscoverage level `α`; the target coverage is `1 − α`.
    pub alpha: f64,
    /// The conformal quantile of the scores (see [`conformal_quantile`]); `+∞` when the
    /// calibration set is too small for `α` (stored as `null` in JSON).
    #[serde(with = "q_hat_serde")]
    pub q_hat: f64,
}

impl ConformalClassifier {
    /// Fits `q̂` on a calibration set: predicted probabilities `p = P(class 1)` and the true
    /// labels (`true` = class 1).
    ///
    /// Errors on empty or mismatched inputs, probabilities outside `[0, 1]` and `α ∉ (0, 1)`.
    pub fn fit(probs: &[f64], labels: &[bool], alpha: f64) -> Result<Self, CalibrationError> {
        check_alpha(alpha)?;
        check_binary(probs, labels)?;
        let scores: Vec<f64> = probs
            .iter()
            .zip(labels)
            .map(|(&p, &y)| if y { 1.0 - p } else { p })
            .collect();
        Ok(Self {
            alpha,
            q_hat: conformal_quantile(&scores, alpha)?,
        })
    }

    /// The prediction set for `p = P(class 1)` as `(contains_0, contains_1)`:
    /// `contains_0 = p ≤ q̂`, `contains_1 = 1 − p ≤ q̂`. A NaN `p` gives the empty set.
    pub fn prediction_set(&self, p: f64) -> (bool, bool) {
        (p <= self.q_hat, 1.0 - p <= self.q_hat)
    }
}

/// JSON has no infinity: `q̂ = +∞` is written as `null` and read back as `+∞`.
mod q_hat_serde {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(q: &f64, s: S) -> Result<S::Ok, S::Error> {
        if q.is_finite() {
            s.serialize_some(q)
        } else {
            s.serialize_none()
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::INFINITY))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{gaussian, rng};
    use super::*;
    use rand::Rng;

    #[test]
    fn quantile_takes_the_conformal_rank() {
        let scores = [7.0, 3.0, 10.0, 1.0, 5.0, 9.0, 2.0, 8.0, 4.0, 6.0];
        // n = 10, α = 0.2: k = ⌈11·0.8⌉ = ⌈8.8⌉ = 9.
        assert_eq!(conformal_quantile(&scores, 0.2).unwrap(), 9.0);
        // α = 0.5: k = ⌈5.5⌉ = 6.
        assert_eq!(conformal_quantile(&scores, 0.5).unwrap(), 6.0);
        // α = 0.05: k = ⌈10.45⌉ = 11 > n, so q̂ = +∞.
        assert_eq!(conformal_quantile(&scores, 0.05).unwrap(), f64::INFINITY);
        // n = 19, α = 0.1: (n+1)(1−α) = 18 exactly; rank 18, not 19.
        let nineteen: Vec<f64> = (1..=19).rev().map(f64::from).collect();
        assert_eq!(conformal_quantile(&nineteen, 0.1).unwrap(), 18.0);
    }

    /// `n` rows `ŷ = 3x`, `y = ŷ + σ·z` with `σ = 0.2 + 2u` (`u` uniform), `z` standard normal.
    fn heteroscedastic(seed: u64, n: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let mut rng = rng(seed);
        let (mut preds, mut truths, mut sds) = (vec![], vec![], vec![]);
        for _ in 0..n {
            let pred = 3.0 * rng.random::<f64>();
            let sd = 0.2 + 2.0 * rng.random::<f64>();
            preds.push(pred);
            truths.push(pred + sd * gaussian(&mut rng));
            sds.push(sd);
        }
        (preds, truths, sds)
    }

    fn coverage(model: &ConformalRegressor, preds: &[f64], truths: &[f64], sds: &[f64]) -> f64 {
        let hits = (preds.iter().zip(truths).zip(sds))
            .filter(|((p, y), s)| {
                let (lo, hi) = model.interval(**p, Some(**s));
                lo <= **y && **y <= hi
            })
            .count();
        hits as f64 / preds.len() as f64
    }

    #[test]
    fn intervals_reach_nominal_coverage() {
        // 20,000 exchangeable rows: 10,000 to calibrate, 10,000 to test. The test coverage
        // varies by about ±0.4% (one sd) between seeds, so ±1.5% is a ~3.5 sd band.
        let (preds, truths, sds) = heteroscedastic(1, 20_000);
        let (cal, test) = (0..10_000, 10_000..20_000);
        for normalized in [false, true] {
            let cal_sds = normalized.then(|| &sds[cal.clone()]);
            let model =
                ConformalRegressor::fit(&preds[cal.clone()], &truths[cal.clone()], cal_sds, 0.1)
                    .unwrap();
            assert_eq!(model.normalized, normalized);
            let c = coverage(
                &model,
                &preds[test.clone()],
                &truths[test.clone()],
                &sds[test.clone()],
            );
            assert!(
                (c - 0.9).abs() < 0.015,
                "normalized {normalized}: coverage {c}"
            );
        }
    }

    #[test]
    fn normalized_intervals_follow_the_noise() {
        let (preds, truths, sds) = heteroscedastic(11, 20_000);
        let plain = ConformalRegressor::fit(&preds, &truths, None, 0.1).unwrap();
        let scaled = ConformalRegressor::fit(&preds, &truths, Some(&sds), 0.1).unwrap();
        let width = |m: &ConformalRegressor, sd: f64| {
            let (lo, hi) = m.interval(1.0, Some(sd));
            hi - lo
        };
        assert!(width(&scaled, 0.3) < 0.5 * width(&plain, 0.3));
        assert!(width(&scaled, 2.1) > width(&plain, 2.1));
        // On the quietest rows the plain intervals over-cover, the normalized ones do not.
        let quiet: Vec<usize> = (0..sds.len()).filter(|&i| sds[i] < 0.5).collect();
        let pick = |v: &[f64]| quiet.iter().map(|&i| v[i]).collect::<Vec<_>>();
        let (qp, qt, qs) = (pick(&preds), pick(&truths), pick(&sds));
        assert!(coverage(&plain, &qp, &qt, &qs) > 0.99);
        assert!((coverage(&scaled, &qp, &qt, &qs) - 0.9).abs() < 0.03);
    }

    #[test]
    fn interval_edge_cases() {
        let m = ConformalRegressor::fit(&[0.0, 0.0, 0.0], &[1.0, -2.0, 0.5], None, 0.5).unwrap();
        // Scores 1, 2, 0.5; k = ⌈4·0.5⌉ = 2: q̂ = 1.
        assert_eq!(m.q_hat, 1.0);
        assert_eq!(m.interval(5.0, Some(100.0)), (4.0, 6.0));
        let n = ConformalRegressor {
            normalized: true,
            ..m
        };
        assert_eq!(n.interval(5.0, Some(2.0)), (3.0, 7.0));
        assert_eq!(n.interval(5.0, None), (f64::NEG_INFINITY, f64::INFINITY));
        let small = ConformalRegressor::fit(&[0.0], &[1.0], None, 0.1).unwrap();
        assert_eq!(small.q_hat, f64::INFINITY);
        assert_eq!(
            small.interval(0.0, None),
            (f64::NEG_INFINITY, f64::INFINITY)
        );
    }

    #[test]
    fn classifier_sets_hand_example() {
        // Scores: 1−0.9, 0.2, 0.6, 1−0.7 = 0.1, 0.2, 0.6, 0.3; k = ⌈5·0.6⌉ = 3: q̂ = 0.3.
        let m = ConformalClassifier::fit(&[0.9, 0.2, 0.6, 0.7], &[true, false, false, true], 0.4)
            .unwrap();
        assert!((m.q_hat - 0.3).abs() < 1e-12);
        assert_eq!(m.prediction_set(0.8), (false, true));
        assert_eq!(m.prediction_set(0.1), (true, false));
        assert_eq!(m.prediction_set(0.5), (false, false));
        let wide = ConformalClassifier { q_hat: 0.6, ..m };
        assert_eq!(wide.prediction_set(0.5), (true, true));
    }

    #[test]
    fn classifier_reaches_nominal_coverage() {
        let mut rng = rng(3);
        let draw = |rng: &mut rand_chacha::ChaCha8Rng| {
            let p: f64 = rng.random();
            (p, rng.random::<f64>() < p)
        };
        let (cal_p, cal_y): (Vec<f64>, Vec<bool>) = (0..10_000).map(|_| draw(&mut rng)).unzip();
        let m = ConformalClassifier::fit(&cal_p, &cal_y, 0.1).unwrap();
        let hits = (0..10_000)
            .filter(|_| {
                let (p, y) = draw(&mut rng);
                let (c0, c1) = m.prediction_set(p);
                if y { c1 } else { c0 }
            })
            .count();
        let c = hits as f64 / 10_000.0;
        assert!((c - 0.9).abs() < 0.015, "coverage {c}");
    }

    #[test]
    fn bad_input_is_an_error() {
        use CalibrationError as E;
        assert_eq!(
            ConformalRegressor::fit(&[], &[], None, 0.1),
            Err(E::Empty {
                what: "predictions"
            })
        );
        assert!(matches!(
            ConformalRegressor::fit(&[1.0], &[1.0, 2.0], None, 0.1),
            Err(E::LengthMismatch { .. })
        ));
        assert!(matches!(
            ConformalRegressor::fit(&[1.0], &[1.0], Some(&[]), 0.1),
            Err(E::LengthMismatch { .. })
        ));
        assert!(matches!(
            ConformalRegressor::fit(&[1.0], &[1.0], None, 1.0),
            Err(E::CoverageOutOfRange { .. })
        ));
        assert!(matches!(
            ConformalClassifier::fit(&[0.5], &[true, false], 0.1),
            Err(E::LengthMismatch { .. })
        ));
        assert!(matches!(
            ConformalClassifier::fit(&[-0.5], &[true], 0.1),
            Err(E::NotAProbability { .. })
        ));
        assert!(matches!(
            conformal_quantile(&[f64::NAN], 0.1),
            Err(E::NonFinite { .. })
        ));
    }

    #[test]
    fn json_round_trip_keeps_infinite_q_hat() {
        for q_hat in [1.25, f64::INFINITY] {
            let m = ConformalRegressor {
                alpha: 0.1,
                q_hat,
                normalized: true,
            };
            let json = serde_json::to_string(&m).unwrap();
            assert_eq!(
                serde_json::from_str::<ConformalRegressor>(&json).unwrap(),
                m
            );
            let c = ConformalClassifier { alpha: 0.1, q_hat };
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(
                serde_json::from_str::<ConformalClassifier>(&json).unwrap(),
                c
            );
        }
    }
}
