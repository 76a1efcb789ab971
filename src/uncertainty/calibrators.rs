//! Post-hoc recalibration fitted on a held-out calibration set: Platt scaling and isotonic
//! regression for binary probabilities, z-scaling for regression standard deviations.

use serde::{Deserialize, Serialize};

use super::{CalibrationError, check_binary, check_finite, check_len, check_nonempty};

/// Probabilities are clamped to `[ε, 1 − ε]` with this `ε` before taking logits, so that
/// `p = 0` and `p = 1` map to `∓27.6` instead of infinities.
pub const LOGIT_EPS: f64 = 1e-12;

/// `logit(p) = ln(p / (1 − p))` of `p` clamped to `[LOGIT_EPS, 1 − LOGIT_EPS]`.
fn logit(p: f64) -> f64 {
    let p = p.clamp(LOGIT_EPS, 1.0 - LOGIT_EPS);
    (p / (1.0 - p)).ln()
}

/// `σ(z) = 1 / (1 + e^{−z})`.
fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// `ln(1 + e^z)` without overflow.
fn log1p_exp(z: f64) -> f64 {
    if z > 0.0 {
        z + (-z).exp().ln_1p()
    } else {
        z.exp().ln_1p()
    }
}

/// Platt scaling (Platt 1999) of binary probabilities:
/// `p' = σ(a · logit(p) + b)`.
///
/// `a` and `b` minimize the log-loss on the calibration set,
/// `L(a, b) = Σᵢ [ln(1 + e^{zᵢ}) − tᵢ zᵢ]`, `zᵢ = a · logit(pᵢ) + b`, against Platt's smoothed
/// targets `tᵢ = (N₊ + 1)/(N₊ + 2)` for positives and `tᵢ = 1/(N₋ + 2)` for negatives, by
/// Newton's method with a backtracking line search (Lin, Lin & Weng 2007). The loss is
/// convex; the identity calibrator is `a = 1, b = 0`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PlattScaler {
    /// The slope on the logit of the input probability.
    pub a: f64,
    /// The intercept.
    pub b: f64,
}

impl PlattScaler {
    /// Fits `a` and `b` on predicted probabilities `p = P(class 1)` and the true labels.
    ///
    /// Starts at `a = 0, b = ln((N₊ + 1)/(N₋ + 1))` and stops when both gradient components are
    /// below `1e-10 · n`, after 100 Newton steps, or when the line search cannot decrease the
    /// loss any more. Errors on empty or mismatched inputs and probabilities outside `[0, 1]`.
    pub fn fit(probs: &[f64], labels: &[bool]) -> Result<Self, CalibrationError> {
        check_binary(probs, labels)?;
        let n_pos = labels.iter().filter(|&&y| y).count() as f64;
        let n_neg = labels.len() as f64 - n_pos;
        let (t_pos, t_neg) = ((n_pos + 1.0) / (n_pos + 2.0), 1.0 / (n_neg + 2.0));
        let xs: Vec<f64> = probs.iter().map(|&p| logit(p)).collect();
        let ts: Vec<f64> = labels
            .iter()
            .map(|&y| if y { t_pos } else { t_neg })
            .collect();
        let loss = |a: f64, b: f64| -> f64 {
            xs.iter()
                .zip(&ts)
                .map(|(x, t)| {
                    let z = a * x + b;
                    log1p_exp(z) - t * z
                })
                .sum()
        };
        let (mut a, mut b) = (0.0, ((n_pos + 1.0) / (n_neg + 1.0)).ln());
        let mut current = loss(a, b);
        let tolerance = 1e-10 * xs.len() as f64;
        for _ in 0..100 {
            // Gradient and Hessian (plus a 1e-12 ridge, as in Lin et al.).
            let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (0.0, 0.0, 1e-12, 0.0, 1e-12);
            for (x, t) in xs.iter().zip(&ts) {
                let s = sigmoid(a * x + b);
                let w = s * (1.0 - s);
                ga += (s - t) * x;
                gb += s - t;
                haa += w * x * x;
                hab += w * x;
                hbb += w;
            }
            if ga.abs() < tolerance && gb.abs() < tolerance {
                break;
            }
            let det = haa * hbb - hab * hab;
            let (da, db) = (-(hbb * ga - hab * gb) / det, -(haa * gb - hab * ga) / det);
            let slope = ga * da + gb * db;
            let mut step = 1.0;
            let mut accepted = false;
            while step >= 1e-10 {
                let (na, nb) = (a + step * da, b + step * db);
                let next = loss(na, nb);
                if next.is_finite() && next <= current + 1e-4 * step * slope {
                    (a, b, current) = (na, nb, next);
                    accepted = true;
                    break;
                }
                step /= 2.0;
            }
            if !accepted {
                break;
            }
        }
        Ok(Self { a, b })
    }

    /// The recalibrated probability `σ(a · logit(p) + b)` (`p` clamped as for [`LOGIT_EPS`]).
    pub fn apply(&self, p: f64) -> f64 {
        sigmoid(self.a * logit(p) + self.b)
    }
}

/// Isotonic regression (pool adjacent violators, PAV) of outcomes on scores, as a
/// non-decreasing, piecewise-linear calibration map.
///
/// PAV finds the non-decreasing `f` minimizing `Σᵢ wᵢ (yᵢ − f(xᵢ))²`: rows with equal `x` are
/// first pooled into one point (their mean `y`, weight = count), then adjacent blocks whose
/// means decrease are merged (a block's value is its weighted mean) until the means increase
/// strictly. The fitted map keeps each block's first and last `x` with the block's value,
/// interpolates linearly between these points and clamps to the end values outside them (as
/// scikit-learn's `IsotonicRegression(out_of_bounds="clip")`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IsotonicCalibrator {
    /// The points' `x`, strictly increasing.
    xs: Vec<f64>,
    /// The fitted values at `xs`, non-decreasing.
    ys: Vec<f64>,
}

/// One PAV block: the weighted sum of its outcomes, its weight and its `x` range.
struct Block {
    sum: f64,
    weight: f64,
    first: f64,
    last: f64,
}

impl IsotonicCalibrator {
    /// Fits the map from predicted probabilities `p = P(class 1)` to the labels (as 0/1), so
    /// that the fitted value is the calibrated probability.
    ///
    /// Errors on empty or mismatched inputs and probabilities outside `[0, 1]`.
    pub fn fit(probs: &[f64], labels: &[bool]) -> Result<Self, CalibrationError> {
        check_binary(probs, labels)?;
        let ys: Vec<f64> = labels.iter().map(|&y| f64::from(u8::from(y))).collect();
        Self::fit_values(probs, &ys)
    }

    /// Fits the non-decreasing map from any finite scores `x` to finite outcomes `y`.
    ///
    /// Errors on empty, mismatched or non-finite inputs.
    pub fn fit_values(x: &[f64], y: &[f64]) -> Result<Self, CalibrationError> {
        check_nonempty("scores", x.len())?;
        check_len("outcomes", x.len(), y.len())?;
        check_finite("scores", x)?;
        check_finite("outcomes", y)?;
        let mut order: Vec<usize> = (0..x.len()).collect();
        order.sort_by(|&i, &j| x[i].total_cmp(&x[j]));
        let mut blocks: Vec<Block> = Vec::new();
        let mut i = 0;
        while i < order.len() {
            // Pool the ties at this x.
            let xi = x[order[i]];
            let mut next = Block {
                sum: 0.0,
                weight: 0.0,
                first: xi,
                last: xi,
            };
            while i < order.len() && x[order[i]] == xi {
                next.sum += y[order[i]];
                next.weight += 1.0;
                i += 1;
            }
            // Merge backwards while the previous block's mean is not below the new one's.
            while let Some(prev) = blocks.pop() {
                if prev.sum / prev.weight < next.sum / next.weight {
                    blocks.push(prev);
                    break;
                }
                next = Block {
                    sum: prev.sum + next.sum,
                    weight: prev.weight + next.weight,
                    first: prev.first,
                    last: next.last,
                };
            }
            blocks.push(next);
        }
        let (mut xs, mut ys) = (Vec::new(), Vec::new());
        for block in &blocks {
            let value = block.sum / block.weight;
            xs.push(block.first);
            ys.push(value);
            if block.last > block.first {
                xs.push(block.last);
                ys.push(value);
            }
        }
        Ok(Self { xs, ys })
    }

    /// The fitted points `(x, f(x))` the map interpolates between.
    pub fn points(&self) -> (&[f64], &[f64]) {
        (&self.xs, &self.ys)
    }

    /// The calibrated value `f(p)`: the end values below the first point and above the last,
    /// linear interpolation `yⱼ + (p − xⱼ)(yⱼ₊₁ − yⱼ)/(xⱼ₊₁ − xⱼ)` between points `j` and `j+1`
    /// otherwise. NaN for a NaN `p` (or a calibrator without points).
    pub fn apply(&self, p: f64) -> f64 {
        let n = self.xs.len().min(self.ys.len());
        if n == 0 || p.is_nan() {
            return f64::NAN;
        }
        let (xs, ys) = (&self.xs[..n], &self.ys[..n]);
        if p <= xs[0] {
            return ys[0];
        }
        if p >= xs[n - 1] {
            return ys[n - 1];
        }
        // xs[j-1] <= p < xs[j], 1 <= j <= n-1.
        let j = xs.partition_point(|&x| x <= p);
        let (x0, x1, y0, y1) = (xs[j - 1], xs[j], ys[j - 1], ys[j]);
        y0 + (p - x0) * (y1 - y0) / (x1 - x0)
    }
}

/// z-scaling (variance scaling) of regression standard deviations: `σ' = s · σ`.
///
/// The scalar `s` minimizes the Gaussian negative log-likelihood of the calibration residuals
/// `rᵢ = yᵢ − ŷᵢ`, `Σᵢ [ln(s σᵢ) + rᵢ² / (2 s² σᵢ²)] + const`; setting its derivative to zero
/// gives the closed form `s² = (1/n) Σᵢ rᵢ² / σᵢ²`, i.e. the z-scores `rᵢ/(s σᵢ)` get unit
/// mean square (Levi et al. 2022).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ZScaler {
    /// The factor on every standard deviation.
    pub s: f64,
}

impl ZScaler {
    /// Fits `s = √((1/n) Σᵢ (yᵢ − ŷᵢ)² / σᵢ²)` on predictions, truths and standard deviations.
    ///
    /// `s = 0` when every prediction is exact. Errors on empty or mismatched inputs,
    /// non-finite values and `σ ≤ 0`.
    pub fn fit(preds: &[f64], truths: &[f64], sds: &[f64]) -> Result<Self, CalibrationError> {
        super::check_regression(preds, truths, Some(sds))?;
        let mean_sq = (preds.iter().zip(truths).zip(sds))
            .map(|((p, y), s)| ((y - p) / s).powi(2))
            .sum::<f64>()
            / preds.len() as f64;
        Ok(Self { s: mean_sq.sqrt() })
    }

    /// The recalibrated standard deviation `s · sd`.
    pub fn apply(&self, sd: f64) -> f64 {
        self.s * sd
    }
}

#[cfg(test)]
mod tests {
    use super::super::metrics::gaussian_nll;
    use super::super::testing::{gaussian, rng};
    use super::*;
    use rand::Rng;

    #[test]
    fn platt_recovers_known_parameters() {
        let (a, b) = (1.7, -0.4);
        let mut rng = rng(5);
        let (mut probs, mut labels) = (vec![], vec![]);
        for _ in 0..20_000 {
            let x = 1.5 * gaussian(&mut rng);
            probs.push(sigmoid(x));
            labels.push(rng.random::<f64>() < sigmoid(a * x + b));
        }
        let fit = PlattScaler::fit(&probs, &labels).unwrap();
        assert!((fit.a - a).abs() < 0.1, "a = {}", fit.a);
        assert!((fit.b - b).abs() < 0.1, "b = {}", fit.b);
        let p = 0.3;
        assert!((fit.apply(p) - sigmoid(fit.a * logit(p) + fit.b)).abs() < 1e-15);
        // Already calibrated probabilities stay (nearly) as they are.
        let calibrated: Vec<bool> = probs.iter().map(|&p| rng.random::<f64>() < p).collect();
        let id = PlattScaler::fit(&probs, &calibrated).unwrap();
        assert!((id.a - 1.0).abs() < 0.1 && id.b.abs() < 0.1, "{id:?}");
    }

    #[test]
    fn platt_handles_degenerate_inputs() {
        // One score for every row: the calibrated value is the smoothed base rate.
        let fit = PlattScaler::fit(&[0.5; 4], &[true, false, false, false]).unwrap();
        let base = (2.0 / 3.0 + 3.0 * (1.0 / 5.0)) / 4.0; // targets 2/3 and 1/5
        assert!((fit.apply(0.5) - base).abs() < 1e-6, "{}", fit.apply(0.5));
        // Perfectly separated, with probabilities 0 and 1: finite parameters.
        let fit = PlattScaler::fit(&[0.0, 1.0, 0.0, 1.0], &[false, true, false, true]).unwrap();
        assert!(fit.a.is_finite() && fit.b.is_finite());
        assert!(fit.apply(1.0) > 0.6 && fit.apply(0.0) < 0.4);
        assert!(matches!(
            PlattScaler::fit(&[], &[]),
            Err(CalibrationError::Empty { .. })
        ));
    }

    #[test]
    fn pav_matches_hand_examples() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let iso = IsotonicCalibrator::fit_values(&x, &[1.0, 3.0, 2.0, 4.0, 3.5, 5.0]).unwrap();
        let (px, py) = iso.points();
        assert_eq!(px, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(py, &[1.0, 2.5, 2.5, 3.75, 3.75, 5.0]);
        assert_eq!(iso.apply(3.5), 3.125);
        assert_eq!(iso.apply(5.5), 4.375);
        assert_eq!(iso.apply(-1.0), 1.0);
        assert_eq!(iso.apply(10.0), 5.0);
        assert!(iso.apply(f64::NAN).is_nan());
        // A violation that cascades back: 3, 4, 0 → 3, 2, 2 → 7/3 everywhere.
        let iso = IsotonicCalibrator::fit_values(&[1.0, 2.0, 3.0], &[3.0, 4.0, 0.0]).unwrap();
        assert_eq!(iso.points(), (&[1.0, 3.0][..], &[7.0 / 3.0, 7.0 / 3.0][..]));
        // Unsorted input with ties in p: (0.2: 1, 0), (0.5: 0, 0), (0.8: 1).
        let iso = IsotonicCalibrator::fit(
            &[0.5, 0.8, 0.2, 0.5, 0.2],
            &[false, true, true, false, false],
        )
        .unwrap();
        assert_eq!(iso.points(), (&[0.2, 0.5, 0.8][..], &[0.25, 0.25, 1.0][..]));
        assert!((iso.apply(0.65) - 0.625).abs() < 1e-12);
    }

    #[test]
    fn pav_is_monotone_and_keeps_the_mean() {
        let mut rng = rng(9);
        let (mut probs, mut labels) = (vec![], vec![]);
        for _ in 0..2_000 {
            // Rounded scores give many ties.
            let p = (rng.random::<f64>() * 50.0).round() / 50.0;
            probs.push(p);
            labels.push(rng.random::<f64>() < p * p);
        }
        let iso = IsotonicCalibrator::fit(&probs, &labels).unwrap();
        let (px, py) = iso.points();
        assert!(px.windows(2).all(|w| w[0] < w[1]));
        assert!(py.windows(2).all(|w| w[0] <= w[1]));
        let grid: Vec<f64> = (0..=1000).map(|i| f64::from(i) / 1000.0).collect();
        assert!(grid.windows(2).all(|w| iso.apply(w[0]) <= iso.apply(w[1])));
        // Isotonic regression preserves the total: Σ f(pᵢ) = Σ yᵢ.
        let fitted: f64 = probs.iter().map(|&p| iso.apply(p)).sum();
        let positives = labels.iter().filter(|&&y| y).count() as f64;
        assert!((fitted - positives).abs() < 1e-6, "{fitted} vs {positives}");
        // And it undoes the p² miscalibration.
        assert!((iso.apply(0.5) - 0.25).abs() < 0.1, "{}", iso.apply(0.5));
        assert!(matches!(
            IsotonicCalibrator::fit_values(&[1.0], &[1.0, 2.0]),
            Err(CalibrationError::LengthMismatch { .. })
        ));
    }

    #[test]
    fn z_scaling_closed_form_and_recovery() {
        // z-scores (y − ŷ)/σ = 1, −1, 0: s² = (1 + 1 + 0) / 3.
        let fit = ZScaler::fit(&[0.0, 0.0, 0.0], &[1.0, -4.0, 0.0], &[1.0, 4.0, 1.0]).unwrap();
        assert!((fit.s - (2.0f64 / 3.0).sqrt()).abs() < 1e-15);
        assert_eq!(fit.apply(3.0), 3.0 * fit.s);
        // Reported σ half the true noise: s ≈ 2, and s minimizes the NLL.
        let mut rng = rng(13);
        let (mut preds, mut truths, mut sds) = (vec![], vec![], vec![]);
        for _ in 0..10_000 {
            let sd = 0.5 + rng.random::<f64>();
            preds.push(0.0);
            truths.push(2.0 * sd * gaussian(&mut rng));
            sds.push(sd);
        }
        let fit = ZScaler::fit(&preds, &truths, &sds).unwrap();
        assert!((fit.s - 2.0).abs() < 0.05, "s = {}", fit.s);
        let nll = |k: f64| {
            let scaled: Vec<f64> = sds.iter().map(|&sd| k * fit.apply(sd)).collect();
            gaussian_nll(&preds, &truths, &scaled).unwrap()
        };
        assert!(nll(1.0) < nll(0.95) && nll(1.0) < nll(1.05));
        assert!(matches!(
            ZScaler::fit(&[0.0], &[1.0], &[-1.0]),
            Err(CalibrationError::NonPositiveSd { .. })
        ));
    }

    #[test]
    fn json_round_trip() {
        let iso = IsotonicCalibrator::fit_values(&[1.0, 2.0, 3.0], &[0.0, 1.0, 1.0]).unwrap();
        let json = serde_json::to_string(&iso).unwrap();
        assert_eq!(
            serde_json::from_str::<IsotonicCalibrator>(&json).unwrap(),
            iso
        );
        let platt = PlattScaler { a: 1.5, b: -0.25 };
        let json = serde_json::to_string(&platt).unwrap();
        assert_eq!(serde_json::from_str::<PlattScaler>(&json).unwrap(), platt);
    }
}
