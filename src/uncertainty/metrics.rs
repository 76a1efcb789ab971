//! Metrics of uncertainty quality (pure f64): interval coverage and width, miscalibration
//! area, expected calibration error, rank correlation between uncertainty and error, Gaussian
//! negative log-likelihood; and the inverse normal CDF they rest on.

use super::{
    CalibrationError, check_binary, check_bounds, check_finite, check_len, check_nonempty,
    check_regression,
};

/// The default number of expected proportions in [`miscalibration_area`].
pub const DEFAULT_GRID_POINTS: usize = 100;

/// The default number of bins in [`expected_calibration_error`].
pub const DEFAULT_ECE_BINS: usize = 10;

/// Evaluates `c₀ + c₁ r + … + c₇ r⁷` by Horner's rule.
fn poly(c: &[f64; 8], r: f64) -> f64 {
    c.iter().rev().fold(0.0, |acc, &ci| acc * r + ci)
}

/// The standard normal quantile `Φ⁻¹(p)`, the `z` with `P(Z ≤ z) = p` for `Z ~ N(0, 1)`, by
/// Wichura's algorithm AS 241 (PPND16, Applied Statistics 37(3), 1988), accurate to about
/// 1 part in 10¹⁶.
///
/// For `|p − ½| ≤ 0.425` it is `q · A(r)/B(r)` with `q = p − ½`, `r = 0.180625 − q²`;
/// otherwise, with `r = √(−ln min(p, 1 − p))`, `±C(r − 1.6)/D(r − 1.6)` for `r ≤ 5` and
/// `±E(r − 5)/F(r − 5)` beyond, the sign of `q`; `A … F` are degree-7 polynomials.
/// `Φ⁻¹(0) = −∞`, `Φ⁻¹(1) = +∞`; NaN for `p` outside `[0, 1]` or NaN.
// The coefficients are Wichura's published 20-digit values (trailing zeros dropped).
#[allow(clippy::excessive_precision)]
pub fn inverse_normal_cdf(p: f64) -> f64 {
    #[rustfmt::skip]
    const A: [f64; 8] = [
        3.387132872796366608, 1.3314166789178437745e2, 1.9715909503065514427e3,
        1.3731693765509461125e4, 4.5921953931549871457e4, 6.7265770927008700853e4,
        3.3430575583588128105e4, 2.5090809287301226727e3,
    ];
    #[rustfmt::skip]
    const B: [f64; 8] = [
        1.0, 4.2313330701600911252e1, 6.871870074920579083e2,
        5.3941960214247511077e3, 2.1213794301586595867e4, 3.930789580009271061e4,
        2.8729085735721942674e4, 5.226495278852854561e3,
    ];
    #[rustfmt::skip]
    const C: [f64; 8] = [
        1.42343711074968357734, 4.6303378461565452959, 5.7694972214606914055,
        3.64784832476320460504, 1.27045825245236838258, 2.4178072517745061177e-1,
        2.27238449892691845833e-2, 7.7454501427834140764e-4,
    ];
    #[rustfmt::skip]
    const D: [f64; 8] = [
        1.0, 2.05319162663775882187, 1.6763848301838038494,
        6.8976733498510000455e-1, 1.4810397642748007459e-1, 1.51986665636164571966e-2,
        5.475938084995344946e-4, 1.05075007164441684324e-9,
    ];
    #[rustfmt::skip]
    const E: [f64; 8] = [
        6.6579046435011037772, 5.4637849111641143699, 1.7848265399172913358,
        2.9656057182850489123e-1, 2.6532189526576123093e-2, 1.2426609473880784386e-3,
        2.71155556874348757815e-5, 2.01033439929228813265e-7,
    ];
    #[rustfmt::skip]
    const F: [f64; 8] = [
        1.0, 5.9983220655588793769e-1, 1.3692988092273580531e-1,
        1.48753612908506148525e-2, 7.868691311456132591e-4, 1.8463183175100546818e-5,
        1.4215117583164458887e-7, 2.04426310338993978564e-15,
    ];
    if !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180_625 - q * q;
        return q * poly(&A, r) / poly(&B, r);
    }
    let r = (-(if q < 0.0 { p } else { 1.0 - p }).ln()).sqrt();
    let z = if r <= 5.0 {
        poly(&C, r - 1.6) / poly(&D, r - 1.6)
    } else {
        poly(&E, r - 5.0) / poly(&F, r - 5.0)
    };
    if q < 0.0 { -z } else { z }
}

/// Interval coverage, the fraction of rows whose truth lies in its closed interval:
/// `(1/n) Σᵢ 𝟙[loᵢ ≤ yᵢ ≤ hiᵢ]`.
///
/// Bounds may be infinite but not NaN; truths must be finite.
pub fn interval_coverage(lo: &[f64], hi: &[f64], truths: &[f64]) -> Result<f64, CalibrationError> {
    check_bounds(lo, hi)?;
    check_len("truths", lo.len(), truths.len())?;
    check_finite("truths", truths)?;
    let hits = (lo.iter().zip(hi).zip(truths))
        .filter(|((l, h), y)| l <= y && y <= h)
        .count();
    Ok(hits as f64 / lo.len() as f64)
}

/// Mean interval width `(1/n) Σᵢ (hiᵢ − loᵢ)` (`+∞` when any interval is unbounded).
pub fn mean_interval_width(lo: &[f64], hi: &[f64]) -> Result<f64, CalibrationError> {
    check_bounds(lo, hi)?;
    Ok(lo.iter().zip(hi).map(|(l, h)| h - l).sum::<f64>() / lo.len() as f64)
}

/// Miscalibration area of Gaussian regression uncertainty (Tran et al. 2020; chemprop's and
/// the Uncertainty Toolbox's calibration curve).
///
/// For `m = grid_points` expected proportions `pₖ = k/(m−1)`, `k = 0 … m−1`, the observed
/// proportion is the fraction of rows inside the central `pₖ`-interval of `N(ŷᵢ, σᵢ²)`,
/// `p̂ₖ = (1/n) Σᵢ 𝟙[|yᵢ − ŷᵢ| ≤ Φ⁻¹((1 + pₖ)/2) · σᵢ]`, and the area is
/// `(1/m) Σₖ |p̂ₖ − pₖ|` (0 for perfect calibration, up to ½). `σ` is a standard deviation
/// (chemprop passes variances and takes `0.01 Σ` over 101 points instead of the mean).
///
/// Errors on empty or mismatched inputs, non-finite values, `σ ≤ 0` and `grid_points < 2`.
pub fn miscalibration_area(
    preds: &[f64],
    truths: &[f64],
    sds: &[f64],
    grid_points: usize,
) -> Result<f64, CalibrationError> {
    check_regression(preds, truths, Some(sds))?;
    if grid_points < 2 {
        return Err(CalibrationError::TooFewBins {
            what: "grid points",
            min: 2,
            found: grid_points,
        });
    }
    let mut z: Vec<f64> = (preds.iter().zip(truths).zip(sds))
        .map(|((p, y), s)| (y - p).abs() / s)
        .collect();
    z.sort_by(f64::total_cmp);
    let n = z.len() as f64;
    let last = (grid_points - 1) as f64;
    let total: f64 = (0..grid_points)
        .map(|k| {
            let expected = k as f64 / last;
            let bound = inverse_normal_cdf(0.5 + expected / 2.0);
            let observed = z.partition_point(|&v| v <= bound) as f64 / n;
            (observed - expected).abs()
        })
        .sum();
    Ok(total / grid_points as f64)
}

/// Expected calibration error of binary probabilities over `bins` equal-width bins of
/// `[0, 1]` (`p` goes to bin `min(⌊p · bins⌋, bins − 1)`):
/// `ECE = Σ_b (n_b / n) · |ȳ_b − p̄_b|`, with `ȳ_b` the fraction of positives and `p̄_b` the
/// mean probability in bin `b` (empty bins count nothing).
///
/// Errors on empty or mismatched inputs, probabilities outside `[0, 1]` and `bins == 0`.
pub fn expected_calibration_error(
    probs: &[f64],
    labels: &[bool],
    bins: usize,
) -> Result<f64, CalibrationError> {
    check_binary(probs, labels)?;
    if bins == 0 {
        return Err(CalibrationError::TooFewBins {
            what: "bins",
            min: 1,
            found: 0,
        });
    }
    // Per bin: count, Σ p, Σ y.
    let mut acc = vec![(0usize, 0.0, 0.0); bins];
    for (&p, &y) in probs.iter().zip(labels) {
        let b = ((p * bins as f64) as usize).min(bins - 1);
        acc[b].0 += 1;
        acc[b].1 += p;
        acc[b].2 += f64::from(u8::from(y));
    }
    // Σ_b (n_b/n)|ȳ_b − p̄_b| = (1/n) Σ_b |Σy − Σp|.
    let total: f64 = acc.iter().map(|(_, sp, sy)| (sy - sp).abs()).sum();
    Ok(total / probs.len() as f64)
}

/// Ranks `1 … n` ascending, tied values sharing the average of their ranks.
fn average_ranks(xs: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..xs.len()).collect();
    order.sort_by(|&a, &b| xs[a].total_cmp(&xs[b]));
    let mut ranks = vec![0.0; xs.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i + 1;
        while j < order.len() && xs[order[j]] == xs[order[i]] {
            j += 1;
        }
        // Positions i … j−1 hold ranks i+1 … j; their mean is (i + j + 1)/2.
        let mid = (i + j + 1) as f64 / 2.0;
        for &k in &order[i..j] {
            ranks[k] = mid;
        }
        i = j;
    }
    ranks
}

/// Spearman's rank correlation: the Pearson correlation of the average ranks,
/// `ρ = Σᵢ (Rᵢ − R̄)(Sᵢ − S̄) / √(Σᵢ (Rᵢ − R̄)² · Σᵢ (Sᵢ − S̄)²)`, with `R`, `S` the ranks of `x`
/// and `y` (ties get the mean of the ranks they span).
///
/// Errors on empty, mismatched or non-finite inputs and when either input is constant.
pub fn spearman_correlation(x: &[f64], y: &[f64]) -> Result<f64, CalibrationError> {
    check_nonempty("x", x.len())?;
    check_len("y", x.len(), y.len())?;
    check_finite("x", x)?;
    check_finite("y", y)?;
    let (rx, ry) = (average_ranks(x), average_ranks(y));
    let mean = (x.len() as f64 + 1.0) / 2.0;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in rx.iter().zip(&ry) {
        let (da, db) = (a - mean, b - mean);
        sxy += da * db;
        sxx += da * da;
        syy += db * db;
    }
    if sxx == 0.0 {
        return Err(CalibrationError::Constant { what: "x" });
    }
    if syy == 0.0 {
        return Err(CalibrationError::Constant { what: "y" });
    }
    Ok(sxy / (sxx * syy).sqrt())
}

/// Spearman's rank correlation (see [`spearman_correlation`]) between the uncertainties `uᵢ`
/// (standard deviations, variances, or any score where larger means less sure) and the
/// absolute errors `|yᵢ − ŷᵢ|`; 1 when the uncertainty orders the errors perfectly.
pub fn uncertainty_error_spearman(
    preds: &[f64],
    truths: &[f64],
    uncertainties: &[f64],
) -> Result<f64, CalibrationError> {
    check_regression(preds, truths, None)?;
    check_len("uncertainties", preds.len(), uncertainties.len())?;
    let errors: Vec<f64> = preds
        .iter()
        .zip(truths)
        .map(|(p, y)| (y - p).abs())
        .collect();
    spearman_correlation(uncertainties, &errors)
}

/// Mean Gaussian negative log-likelihood of the truths under `N(ŷᵢ, σᵢ²)`:
/// `(1/n) Σᵢ [½ ln(2π σᵢ²) + (yᵢ − ŷᵢ)² / (2 σᵢ²)]`.
///
/// Errors on empty or mismatched inputs, non-finite values and `σ ≤ 0`.
pub fn gaussian_nll(preds: &[f64], truths: &[f64], sds: &[f64]) -> Result<f64, CalibrationError> {
    check_regression(preds, truths, Some(sds))?;
    let total: f64 = (preds.iter().zip(truths).zip(sds))
        .map(|((p, y), s)| {
            let var = s * s;
            0.5 * (std::f64::consts::TAU * var).ln() + (y - p).powi(2) / (2.0 * var)
        })
        .sum();
    Ok(total / preds.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{gaussian, rng};
    use super::*;
    use rand::Rng;

    /// Asserts that `$e` is `Err(CalibrationError::$v { .. })`.
    macro_rules! assert_err {
        ($e:expr, $v:ident) => {{
            let r = $e;
            assert!(matches!(r, Err(CalibrationError::$v { .. })), "{r:?}");
        }};
    }

    #[test]
    fn inverse_normal_matches_reference_values() {
        // References from mpmath at 50 digits.
        let cases = [
            (0.975, 1.959_963_984_540_054_2),
            (0.95, 1.644_853_626_951_472_7),
            (0.6, 0.253_347_103_135_799_8),
            (0.3, -0.524_400_512_708_040_8),
            (0.02, -2.053_748_910_631_823),
            (0.99, 2.326_347_874_040_841),
            (0.999, 3.090_232_306_167_813_5),
            (1e-10, -6.361_340_902_404_056),
            (1e-20, -9.262_340_089_798_408),
            (1e-300, -37.047_096_299_361_2),
        ];
        for (p, z) in cases {
            let got = inverse_normal_cdf(p);
            assert!(
                (got - z).abs() <= 1e-13 * z.abs().max(1.0),
                "Φ⁻¹({p}) = {got}, not {z}"
            );
        }
        assert_eq!(inverse_normal_cdf(0.5), 0.0);
        assert_eq!(inverse_normal_cdf(0.0), f64::NEG_INFINITY);
        assert_eq!(inverse_normal_cdf(1.0), f64::INFINITY);
        for bad in [-0.1, 1.1, f64::NAN] {
            assert!(inverse_normal_cdf(bad).is_nan());
        }
        assert_eq!(inverse_normal_cdf(0.25), -inverse_normal_cdf(0.75));
    }

    #[test]
    fn coverage_and_width_by_hand() {
        let (lo, hi) = ([0.0, 1.0, -1.0, 2.0], [1.0, 3.0, 1.0, 2.5]);
        // Truths on a bound count as covered; 4.0 is outside.
        let c = interval_coverage(&lo, &hi, &[1.0, 1.0, 0.0, 4.0]).unwrap();
        assert_eq!(c, 0.75);
        assert_eq!(mean_interval_width(&lo, &hi).unwrap(), 5.5 / 4.0);
        let inf = mean_interval_width(&[f64::NEG_INFINITY], &[f64::INFINITY]).unwrap();
        assert_eq!(inf, f64::INFINITY);
        assert_err!(interval_coverage(&lo, &hi, &[1.0]), LengthMismatch);
        assert_err!(mean_interval_width(&[], &[]), Empty);
        assert_err!(mean_interval_width(&[0.0], &[f64::NAN]), NonFinite);
    }

    #[test]
    fn miscalibration_area_by_hand() {
        // Grid 0, ½, 1; |z| = 0.1, 0.2: observed 0, 1, 1 (both inside ±0.674): area 0.5/3.
        let area = miscalibration_area(&[0.0, 0.0], &[0.1, -0.2], &[1.0, 1.0], 3).unwrap();
        assert!((area - 0.5 / 3.0).abs() < 1e-15);
        // |z| = 0.5, 2: observed 0, ½, 1: area 0.
        let area = miscalibration_area(&[0.0, 0.0], &[0.5, 2.0], &[1.0, 1.0], 3).unwrap();
        assert_eq!(area, 0.0);
        assert_err!(miscalibration_area(&[0.0], &[0.0], &[1.0], 1), TooFewBins);
    }

    #[test]
    fn miscalibration_area_separates_good_and_bad_sigma() {
        let mut rng = rng(21);
        let (mut preds, mut truths, mut sds) = (vec![], vec![], vec![]);
        for _ in 0..10_000 {
            let (pred, sd) = (rng.random::<f64>(), 0.1 + rng.random::<f64>());
            preds.push(pred);
            truths.push(pred + sd * gaussian(&mut rng));
            sds.push(sd);
        }
        let area = |k: f64| {
            let scaled: Vec<f64> = sds.iter().map(|s| k * s).collect();
            miscalibration_area(&preds, &truths, &scaled, DEFAULT_GRID_POINTS).unwrap()
        };
        assert!(area(1.0) < 0.03, "correct σ: {}", area(1.0));
        assert!(area(3.0) > 0.1, "σ × 3: {}", area(3.0));
        assert!(area(1.0 / 3.0) > 0.1, "σ / 3: {}", area(1.0 / 3.0));
    }

    #[test]
    fn ece_by_hand_and_on_generated_probabilities() {
        // Bin [0, ½): p̄ = 0.2, ȳ = ½; bin [½, 1]: p̄ = 0.75, ȳ = 1: ½·0.3 + ½·0.25.
        let ece = expected_calibration_error(&[0.1, 0.3, 0.6, 0.9], &[false, true, true, true], 2)
            .unwrap();
        assert!((ece - 0.275).abs() < 1e-12, "{ece}");
        let mut rng = rng(17);
        let probs: Vec<f64> = (0..20_000).map(|_| rng.random::<f64>()).collect();
        let calibrated: Vec<bool> = probs.iter().map(|&p| rng.random::<f64>() < p).collect();
        let squared: Vec<bool> = probs.iter().map(|&p| rng.random::<f64>() < p * p).collect();
        let good = expected_calibration_error(&probs, &calibrated, DEFAULT_ECE_BINS).unwrap();
        let bad = expected_calibration_error(&probs, &squared, DEFAULT_ECE_BINS).unwrap();
        assert!(good < 0.02, "calibrated: {good}");
        // E|p − p²| = 1/6.
        assert!(bad > 0.1 && bad > 5.0 * good, "p² miscalibrated: {bad}");
        assert_err!(expected_calibration_error(&[0.5], &[true], 0), TooFewBins);
        assert_err!(
            expected_calibration_error(&[0.5], &[true, false], 10),
            LengthMismatch
        );
    }

    #[test]
    fn spearman_ranks_and_ties() {
        let x: Vec<f64> = (0..50).map(|i| f64::from(i) * 0.37 - 3.0).collect();
        let monotone: Vec<f64> = x.iter().map(|v| v.exp()).collect();
        let reversed: Vec<f64> = x.iter().map(|v| -v * v * v).collect();
        assert!((spearman_correlation(&x, &monotone).unwrap() - 1.0).abs() < 1e-12);
        assert!((spearman_correlation(&x, &reversed).unwrap() + 1.0).abs() < 1e-12);
        assert_eq!(
            average_ranks(&[1.0, 1.0, 2.0, 3.0, 3.0]),
            [1.5, 1.5, 3.0, 4.5, 4.5]
        );
        // Values with ties, from an independent rank-then-Pearson computation in Python.
        let r = spearman_correlation(&[1.0, 2.0, 2.0, 3.0], &[1.0, 2.0, 3.0, 4.0]).unwrap();
        assert!((r - 0.948_683_298_050_513_8).abs() < 1e-12, "{r}");
        let r =
            spearman_correlation(&[1.0, 1.0, 2.0, 3.0, 3.0], &[2.0, 1.0, 3.0, 3.0, 5.0]).unwrap();
        assert!((r - 0.892_217_816_219_193_9).abs() < 1e-12, "{r}");
        assert_eq!(
            spearman_correlation(&[1.0, 1.0], &[1.0, 2.0]),
            Err(CalibrationError::Constant { what: "x" })
        );
        // Uncertainty that orders the errors.
        let r = uncertainty_error_spearman(&[0.0; 3], &[0.1, -2.0, 0.5], &[1.0, 9.0, 2.0]).unwrap();
        assert!((r - 1.0).abs() < 1e-12);
        assert_err!(
            uncertainty_error_spearman(&[0.0; 3], &[0.0; 3], &[1.0]),
            LengthMismatch
        );
    }

    #[test]
    fn gaussian_nll_by_hand() {
        // Row 1: ½ ln 2π + ½; row 2: ½ ln(8π) + 0.
        let nll = gaussian_nll(&[0.0, 1.0], &[1.0, 1.0], &[1.0, 2.0]).unwrap();
        assert!((nll - 1.515_512_123_484_645_4).abs() < 1e-14, "{nll}");
        assert_err!(gaussian_nll(&[0.0], &[0.0], &[0.0]), NonPositiveSd);
        assert_err!(gaussian_nll(&[], &[], &[]), Empty);
    }
}
