//! Masked multitask losses: missing labels contribute nothing, to the value or the gradient.
//!
//! With per-element loss `ℓᵢⱼ`, mask `mᵢⱼ ∈ {0, 1}`: `L = Σᵢⱼ mᵢⱼ ℓᵢⱼ / max(1, Σᵢⱼ mᵢⱼ)`.

use burn::tensor::Tensor;
use burn::tensor::activation::softplus;

use super::metrics::TaskType;
use crate::model::HeadKind;
use crate::model::head::{Evidence, block, softplus as softplus_f64};

/// The regression loss of `moltx train --loss`, and with it the head it trains
/// ([`RegressionLoss::head`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "snake_case")]
pub enum RegressionLoss {
    /// Mean squared error of one value per task ([`squared_error`]).
    #[default]
    Mse,
    /// The Gaussian negative log-likelihood of a mean–variance head ([`gaussian_nll`]).
    Mve,
    /// The evidential loss of a Normal-Inverse-Gamma head ([`evidential_loss`]).
    Evidential,
}

impl RegressionLoss {
    /// The head this loss trains.
    pub fn head(self) -> HeadKind {
        match self {
            RegressionLoss::Mse => HeadKind::Point,
            RegressionLoss::Mve => HeadKind::MeanVariance,
            RegressionLoss::Evidential => HeadKind::Evidential,
        }
    }

    /// The loss a head is trained by (a point head: MSE, or BCE for a classifier).
    pub fn of_head(head: HeadKind) -> Self {
        match head {
            HeadKind::Point => RegressionLoss::Mse,
            HeadKind::MeanVariance => RegressionLoss::Mve,
            HeadKind::Evidential => RegressionLoss::Evidential,
        }
    }
}

/// `λ` of the evidential regularizer (chemprop 2.3.1's `EvidentialLoss(v_kl=0.2)`).
pub const EVIDENTIAL_LAMBDA: f64 = 0.2;
/// The `ε` chemprop's `EvidentialLoss` subtracts from the regularizer (`eps=1e-8`; a constant,
/// kept so the loss values are chemprop's).
pub const EVIDENTIAL_EPSILON: f64 = 1e-8;

/// The Gaussian negative log-likelihood of a mean–variance head (chemprop's `MVELoss`):
/// `ℓ = (μ − z)²/(2v) + ½ ln(2πv)` with `v = softplus(s)`, for the raw mean `μ` and variance
/// output `s` against the standardized target `z`. Its gradients,
/// `∂ℓ/∂μ = (μ − z)/v` and `∂ℓ/∂v = (v − (μ − z)²)/(2v²)`, move the mean towards the target
/// and the variance towards the squared residual.
pub fn gaussian_nll(mean: Tensor<2>, s: Tensor<2>, target: Tensor<2>) -> Tensor<2> {
    let var = softplus(s, 1.0);
    let diff = mean - target;
    (diff.clone() * diff) / var.clone().mul_scalar(2.0)
        + var.mul_scalar(std::f64::consts::TAU).log().mul_scalar(0.5)
}

/// `ln Γ(x)` for `x > 0`: Stirling's series at `x + 6`, shifted back by
/// `ln Γ(x) = ln Γ(x + 6) − Σ_{i<6} ln(x + i)`, with
/// `ln Γ(z) ≈ (z − ½) ln z − z + ½ ln 2π + 1/(12z) − 1/(360z³) + 1/(1260z⁵) − 1/(1680z⁷)`
/// (error below `1/(1188 z⁹) < 10⁻⁹` for `z ≥ 6`). Differentiable, for the evidential loss.
pub fn ln_gamma(x: Tensor<2>) -> Tensor<2> {
    let z = x.clone().add_scalar(6.0);
    let inv = z.clone().recip();
    let inv2 = inv.clone() * inv.clone();
    let inv5 = inv.clone() * inv2.clone() * inv2.clone();
    let series = inv.clone().mul_scalar(1.0 / 12.0) - (inv * inv2.clone()).mul_scalar(1.0 / 360.0)
        + inv5.clone().mul_scalar(1.0 / 1260.0)
        - (inv5 * inv2).mul_scalar(1.0 / 1680.0);
    let stirling = z.clone().add_scalar(-0.5) * z.clone().log() - z
        + series.add_scalar(0.5 * std::f64::consts::TAU.ln());
    let shift = (1..6).fold(x.clone().log(), |acc, i| {
        acc + x.clone().add_scalar(i as f64).log()
    });
    stirling - shift
}

/// [`ln_gamma`] in f64 (the same series).
pub fn ln_gamma_f64(x: f64) -> f64 {
    let z = x + 6.0;
    let inv = 1.0 / z;
    let inv2 = inv * inv;
    let inv5 = inv * inv2 * inv2;
    let series = inv / 12.0 - inv * inv2 / 360.0 + inv5 / 1260.0 - inv5 * inv2 / 1680.0;
    let stirling = (z - 0.5) * z.ln() - z + 0.5 * std::f64::consts::TAU.ln() + series;
    stirling - (0..6).map(|i| (x + f64::from(i)).ln()).sum::<f64>()
}

/// The evidential loss of a Normal-Inverse-Gamma head (Amini et al. 2020, eqs. 8–10, as
/// chemprop 2.3.1's `EvidentialLoss` computes it), for raw outputs `γ, n, a, b` against the
/// standardized target `z`, with `ν = softplus(n)`, `α = softplus(a) + 1`, `β = softplus(b)`,
/// `r = z − γ` and `Ω = 2β(1 + ν)`:
///
/// `ℓ = ½ ln(π/ν) − α ln Ω + (α + ½) ln(ν r² + Ω) + ln Γ(α) − ln Γ(α + ½)
///      + λ((2ν + α)|r| − ε)`,
///
/// the negative log-likelihood of the Student-t predictive distribution plus the evidence
/// regularizer, which penalizes evidence `2ν + α` on wrong predictions (`λ` =
/// [`EVIDENTIAL_LAMBDA`], `ε` = [`EVIDENTIAL_EPSILON`]).
pub fn evidential_loss(
    gamma: Tensor<2>,
    n: Tensor<2>,
    a: Tensor<2>,
    b: Tensor<2>,
    target: Tensor<2>,
) -> Tensor<2> {
    let nu = softplus(n, 1.0);
    let alpha = softplus(a, 1.0).add_scalar(1.0);
    let beta = softplus(b, 1.0);
    let r = target - gamma;
    let omega = beta * nu.clone().add_scalar(1.0).mul_scalar(2.0);
    let nll = nu
        .clone()
        .recip()
        .mul_scalar(std::f64::consts::PI)
        .log()
        .mul_scalar(0.5)
        - alpha.clone() * omega.clone().log()
        + alpha.clone().add_scalar(0.5) * (nu.clone() * r.clone() * r.clone() + omega).log()
        + ln_gamma(alpha.clone())
        - ln_gamma(alpha.clone().add_scalar(0.5));
    let reg = (nu.mul_scalar(2.0) + alpha) * r.abs();
    nll + reg
        .add_scalar(-EVIDENTIAL_EPSILON)
        .mul_scalar(EVIDENTIAL_LAMBDA)
}

/// The per-element loss (`M × T`) of a variance head's raw outputs (`M × k·T`, in blocks of
/// `T`, [`crate::model::head`]) against standardized targets: [`gaussian_nll`] or
/// [`evidential_loss`]; a point head's squared error.
pub fn variance_head_loss(head: HeadKind, out: Tensor<2>, target: Tensor<2>) -> Tensor<2> {
    let [_, t] = target.dims();
    let part = |k: usize| block(out.clone(), k, t);
    match head {
        HeadKind::Point => squared_error(out, target),
        HeadKind::MeanVariance => gaussian_nll(part(0), part(1), target),
        HeadKind::Evidential => evidential_loss(part(0), part(1), part(2), part(3), target),
    }
}

/// The masked mean loss of a head's raw outputs ([`masked_loss`] for a point head, exactly;
/// [`variance_head_loss`] masked and averaged over labelled entries otherwise). With
/// `batch_count`, the sum over this part of a batch divided by the whole batch's labelled
/// count, as [`masked_loss_part`].
pub fn masked_head_loss(
    task_type: TaskType,
    head: HeadKind,
    out: Tensor<2>,
    target: Tensor<2>,
    mask: Tensor<2>,
    batch_count: Option<f32>,
) -> Tensor<1> {
    if head.is_point() {
        return match batch_count {
            Some(count) => masked_loss_part(task_type, out, target, mask, count),
            None => masked_loss(task_type, out, target, mask),
        };
    }
    let per_element = variance_head_loss(head, out, target) * mask.clone();
    match batch_count {
        Some(count) => per_element.sum().div_scalar(count.max(1.0)),
        None => per_element.sum() / mask.sum().clamp_min(1.0),
    }
}

/// [`gaussian_nll`] of one entry in f64.
pub fn gaussian_nll_f64(mean: f64, s: f64, z: f64) -> f64 {
    let v = softplus_f64(s);
    (mean - z).powi(2) / (2.0 * v) + 0.5 * (std::f64::consts::TAU * v).ln()
}

/// [`evidential_loss`] of one entry in f64.
pub fn evidential_loss_f64(e: &Evidence, z: f64) -> f64 {
    let r = z - e.gamma;
    let omega = 2.0 * e.beta * (1.0 + e.nu);
    let nll = 0.5 * (std::f64::consts::PI / e.nu).ln() - e.alpha * omega.ln()
        + (e.alpha + 0.5) * (e.nu * r * r + omega).ln()
        + ln_gamma_f64(e.alpha)
        - ln_gamma_f64(e.alpha + 0.5);
    nll + EVIDENTIAL_LAMBDA * ((2.0 * e.nu + e.alpha) * r.abs() - EVIDENTIAL_EPSILON)
}

/// The masked mean loss of raw outputs (`n × k·T`, row-major) in f64, as
/// [`masked_head_loss`] computes it in training ([`masked_loss_f64`] for a point head).
pub fn masked_head_loss_f64(
    task_type: TaskType,
    head: HeadKind,
    scaling: Option<(&[f64], &[f64])>,
    raw: &[f32],
    targets: &[f32],
    mask: &[bool],
    n_tasks: usize,
) -> Option<f64> {
    if head.is_point() {
        return masked_loss_f64(task_type, scaling, raw, targets, mask);
    }
    let t = n_tasks.max(1);
    let width = t * head.outputs_per_task();
    let (mut sum, mut count) = (0.0f64, 0usize);
    for (i, row) in raw.chunks_exact(width).enumerate() {
        let at = |k: usize, j: usize| f64::from(row[k * t + j]);
        for j in 0..t {
            let e = i * t + j;
            if !mask.get(e).copied().unwrap_or(false) {
                continue;
            }
            let y = f64::from(targets[e]);
            let z = scaling.map_or(y, |(mean, sd)| (y - mean[j]) / sd[j]);
            sum += match head {
                HeadKind::MeanVariance => gaussian_nll_f64(at(0, j), at(1, j), z),
                _ => evidential_loss_f64(
                    &Evidence::from_raw(at(0, j), at(1, j), at(2, j), at(3, j)),
                    z,
                ),
            };
            count += 1;
        }
    }
    (count > 0).then(|| sum / count as f64)
}

/// Squared error `ℓ = (ŷ − y)²` (on standardized targets).
pub fn squared_error(pred: Tensor<2>, target: Tensor<2>) -> Tensor<2> {
    let diff = pred - target;
    diff.clone() * diff
}

/// Binary cross-entropy on logits, in its stable form
/// `ℓ = max(x, 0) − x·y + log(1 + e^{−|x|})`.
pub fn bce_with_logits(logits: Tensor<2>, target: Tensor<2>) -> Tensor<2> {
    let softplus_neg_abs = logits.clone().abs().neg().exp().log1p();
    logits.clone().clamp_min(0.0) - logits * target + softplus_neg_abs
}

/// One minus the mean over rows of the Pearson correlation between a row of predictions and
/// its row of targets, over the row's labelled entries:
/// `L = 1 − (1/n) Σᵢ Σⱼ mᵢⱼ p̃ᵢⱼ ỹᵢⱼ / √(Σⱼ mᵢⱼ p̃ᵢⱼ² · Σⱼ mᵢⱼ ỹᵢⱼ² + ε)`, with `p̃`, `ỹ` centered
/// on the row's labelled mean. For a structure → signature model a row is one compound's
/// signature, so this is the per-compound Pearson the model is judged by.
pub fn row_correlation_loss(pred: Tensor<2>, target: Tensor<2>, mask: Tensor<2>) -> Tensor<1> {
    let [n, _] = pred.dims();
    let count = mask.clone().sum_dim(1).clamp_min(1.0);
    let center = |x: Tensor<2>| {
        let x = x * mask.clone();
        let mean = x.clone().sum_dim(1) / count.clone();
        (x - mean) * mask.clone()
    };
    let (p, y) = (center(pred), center(target));
    let cov = (p.clone() * y.clone()).sum_dim(1);
    let var = (p.clone() * p).sum_dim(1) * (y.clone() * y).sum_dim(1);
    let r = cov / (var + 1e-8).sqrt();
    r.sum().neg().div_scalar(n.max(1) as f32).add_scalar(1.0)
}

/// The masked loss summed over a part of a batch and divided by the labelled count of the
/// whole batch: summing this over disjoint parts gives [`masked_loss`] of the whole batch
/// (used to split a batch across threads).
pub fn masked_loss_part(
    task_type: TaskType,
    pred: Tensor<2>,
    target: Tensor<2>,
    mask: Tensor<2>,
    batch_count: f32,
) -> Tensor<1> {
    let per_element = match task_type {
        TaskType::Regression => squared_error(pred, target),
        TaskType::Classification => bce_with_logits(pred, target),
    };
    (per_element * mask).sum().div_scalar(batch_count.max(1.0))
}

/// The masked mean loss of a task type (a scalar tensor of shape `[1]`).
pub fn masked_loss(
    task_type: TaskType,
    pred: Tensor<2>,
    target: Tensor<2>,
    mask: Tensor<2>,
) -> Tensor<1> {
    let per_element = match task_type {
        TaskType::Regression => squared_error(pred, target),
        TaskType::Classification => bce_with_logits(pred, target),
    };
    let count = mask.clone().sum().clamp_min(1.0);
    (per_element * mask).sum() / count
}

/// The masked mean loss of raw outputs (`n × T`, row-major) in f64, as [`masked_loss`] computes
/// it during training: squared error against standardized targets `(y − mean)/sd` (regression,
/// `scaling` = per-task mean and sd) or binary cross-entropy on logits (classification).
/// `None` when no entry is labelled.
pub fn masked_loss_f64(
    task_type: TaskType,
    scaling: Option<(&[f64], &[f64])>,
    raw: &[f32],
    targets: &[f32],
    mask: &[bool],
) -> Option<f64> {
    let t = scaling.map_or(1, |(mean, _)| mean.len().max(1));
    let (mut sum, mut count) = (0.0f64, 0usize);
    for (k, ((&x, &y), &m)) in raw.iter().zip(targets).zip(mask).enumerate() {
        if !m {
            continue;
        }
        let (x, y) = (f64::from(x), f64::from(y));
        sum += match (task_type, scaling) {
            (TaskType::Regression, Some((mean, sd))) => {
                let z = (y - mean[k % t]) / sd[k % t];
                (x - z).powi(2)
            }
            (TaskType::Regression, None) => (x - y).powi(2),
            (TaskType::Classification, _) => x.max(0.0) - x * y + (-x.abs()).exp().ln_1p(),
        };
        count += 1;
    }
    (count > 0).then(|| sum / count as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    fn t(values: Vec<f32>, shape: [usize; 2]) -> Tensor<2> {
        Tensor::from_data(TensorData::new(values, shape), &Device::default())
    }

    #[test]
    fn f64_loss_matches_the_training_loss() {
        let raw = vec![0.3f32, -1.2, 2.0, 0.1];
        let y = vec![1.0f32, 0.0, 1.0, 1.0];
        let mask = [true, true, false, true];
        let m = t(
            mask.iter().map(|&b| f32::from(u8::from(b))).collect(),
            [2, 2],
        );
        for task in [TaskType::Regression, TaskType::Classification] {
            let expected: f32 = masked_loss(
                task,
                t(raw.clone(), [2, 2]),
                t(y.clone(), [2, 2]),
                m.clone(),
            )
            .into_scalar();
            let got = masked_loss_f64(task, None, &raw, &y, &mask).unwrap();
            assert!(
                (got - f64::from(expected)).abs() < 1e-6,
                "{task:?}: {got} vs {expected}"
            );
        }
        // With scaling, targets are standardized first: (4 − 2)/2 = 1 = the output → loss 0.
        let loss = masked_loss_f64(
            TaskType::Regression,
            Some((&[2.0], &[2.0])),
            &[1.0],
            &[4.0],
            &[true],
        );
        assert_eq!(loss, Some(0.0));
        assert_eq!(
            masked_loss_f64(TaskType::Regression, None, &[1.0], &[1.0], &[false]),
            None
        );
    }

    #[test]
    fn row_correlation_loss_is_one_minus_mean_pearson_over_labelled_entries() {
        // Row 0: prediction = 2·target + 1 (r = 1). Row 1: r = −1 on the labelled entries;
        // its masked third entry would otherwise break the perfect anticorrelation.
        let pred = t(vec![3.0, 5.0, 7.0, 1.0, 2.0, 9.0], [2, 3]);
        let target = t(vec![1.0, 2.0, 3.0, 2.0, 1.0, 9.0], [2, 3]);
        let mask = t(vec![1.0, 1.0, 1.0, 1.0, 1.0, 0.0], [2, 3]);
        let loss: f32 = row_correlation_loss(pred, target, mask).into_scalar();
        assert!((loss - 1.0).abs() < 1e-5, "{loss}");
        let pred = t(vec![3.0, 5.0, 7.0], [1, 3]);
        let target = t(vec![1.0, 2.0, 3.0], [1, 3]);
        let ones = t(vec![1.0; 3], [1, 3]);
        let loss: f32 = row_correlation_loss(pred, target, ones).into_scalar();
        assert!(loss.abs() < 1e-5, "{loss}");
    }

    fn values(x: Tensor<2>) -> Vec<f32> {
        x.into_data().try_into_vec::<f32>().unwrap()
    }

    /// chemprop 2.3.1's `MVELoss` and `EvidentialLoss` (`_calc_unreduced_loss`, float64) of
    /// the raw outputs below, after `MveFFN`/`EvidentialFFN`'s activations.
    const CHEMPROP_MVE: [f64; 2] = [1.157_326_224_688_421_7, 0.044_440_567_568_942_1];
    const CHEMPROP_EVIDENTIAL: [f64; 2] = [1.730_300_078_439_409, 1.380_717_277_347_016_7];

    #[test]
    fn variance_losses_are_chemprops() {
        let y = [1.0f32, -1.0];
        let (mu, s) = ([0.3f32, -1.2], [0.5f32, -2.0]);
        let nll = values(gaussian_nll(
            t(mu.to_vec(), [1, 2]),
            t(s.to_vec(), [1, 2]),
            t(y.to_vec(), [1, 2]),
        ));
        for j in 0..2 {
            let f64_loss = gaussian_nll_f64(f64::from(mu[j]), f64::from(s[j]), f64::from(y[j]));
            assert!((f64_loss - CHEMPROP_MVE[j]).abs() < 1e-7, "{f64_loss}");
            assert!(
                (f64::from(nll[j]) - CHEMPROP_MVE[j]).abs() < 1e-5,
                "{nll:?}"
            );
        }
        // By hand, entry 0: v = ln(1 + e^0.5) = 0.974077, (0.3 − 1)²/(2v) = 0.251520,
        // ½ ln(2πv) = 0.905806.
        let v = (0.5f64.exp()).ln_1p();
        let by_hand = 0.49 / (2.0 * v) + 0.5 * (std::f64::consts::TAU * v).ln();
        assert!((by_hand - CHEMPROP_MVE[0]).abs() < 1e-12);

        let (g, n, a, b) = (
            [0.3f32, -1.2],
            [0.5f32, -1.0],
            [0.2f32, 1.5],
            [-0.3f32, 0.7],
        );
        let row = |v: [f32; 2]| t(v.to_vec(), [1, 2]);
        let ev = values(evidential_loss(row(g), row(n), row(a), row(b), row(y)));
        for j in 0..2 {
            let e = Evidence::from_raw(
                f64::from(g[j]),
                f64::from(n[j]),
                f64::from(a[j]),
                f64::from(b[j]),
            );
            let f64_loss = evidential_loss_f64(&e, f64::from(y[j]));
            assert!(
                (f64_loss - CHEMPROP_EVIDENTIAL[j]).abs() < 1e-7,
                "{f64_loss}"
            );
            assert!(
                (f64::from(ev[j]) - CHEMPROP_EVIDENTIAL[j]).abs() < 1e-5,
                "{ev:?}"
            );
        }
        // The whole-head form reads the blocks: [μ₀ μ₁ s₀ s₁] per row.
        let out = t(vec![0.3, -1.2, 0.5, -2.0], [1, 4]);
        let per = values(variance_head_loss(
            HeadKind::MeanVariance,
            out,
            t(y.to_vec(), [1, 2]),
        ));
        assert!((f64::from(per[1]) - CHEMPROP_MVE[1]).abs() < 1e-5);
    }

    #[test]
    fn ln_gamma_matches_known_values() {
        // math.lgamma
        for (x, expected) in [
            (1.0, 0.0),
            (1.5, -0.120_782_237_635_245_43),
            (2.7, 0.434_820_553_655_104_2),
            (0.3, 1.095_797_994_818_075_2),
            (12.0, 17.502_307_845_873_887),
        ] {
            assert!((ln_gamma_f64(x) - expected).abs() < 1e-9, "{x}");
            let ours = values(ln_gamma(t(vec![x as f32], [1, 1])))[0];
            assert!((f64::from(ours) - expected).abs() < 2e-5, "{x}: {ours}");
        }
    }

    /// Gradients of the raw outputs `[μ, s]` (MVE) or `[γ, n, a, b]` (evidential) of one
    /// entry with target `z`.
    fn gradient(head: HeadKind, raw: Vec<f32>, z: f32) -> (f32, Vec<f32>) {
        let device = Device::default().autodiff();
        let k = raw.len();
        let out = Tensor::<2>::from_data(TensorData::new(raw, [1, k]), &device).require_grad();
        let target = Tensor::<2>::from_data(TensorData::new(vec![z], [1, 1]), &device);
        let mask = Tensor::<2>::from_data(TensorData::new(vec![1.0f32], [1, 1]), &device);
        let loss = masked_head_loss(TaskType::Regression, head, out.clone(), target, mask, None);
        let value = loss.clone().into_scalar::<f32>();
        let grads = loss.backward();
        let g = out.grad(&grads).unwrap();
        (value, g.into_data().try_into_vec::<f32>().unwrap())
    }

    #[test]
    fn variance_loss_gradients_point_the_right_way() {
        // MVE: the mean moves towards the target; the variance grows when the squared
        // residual exceeds it and shrinks when it is below.
        let (_, far) = gradient(HeadKind::MeanVariance, vec![0.0, 0.0], 3.0);
        assert!(
            far[0] < 0.0,
            "∂ℓ/∂μ = (μ − z)/v < 0 below the target: {far:?}"
        );
        assert!(far[1] < 0.0, "residual² 9 > v = ln 2: raise s: {far:?}");
        let (_, near) = gradient(HeadKind::MeanVariance, vec![1.1, 0.0], 1.0);
        assert!(near[0] > 0.0 && near[1] > 0.0, "{near:?}");
        // ∂ℓ/∂μ = (μ − z)/v exactly, and ∂ℓ/∂s = (v − r²)/(2v²)·σ(s).
        let v = std::f64::consts::LN_2;
        assert!((f64::from(far[0]) - (-3.0 / v)).abs() < 1e-5);
        assert!((f64::from(far[1]) - (v - 9.0) / (2.0 * v * v) * 0.5).abs() < 1e-5);

        // Evidential: the mean moves towards the target; a gradient step on the evidence
        // raises the predicted variance of a badly wrong prediction and lowers that of a
        // right one, and lowers the loss.
        for (z, grows) in [(4.0f32, true), (0.0, false)] {
            let raw = vec![0.0f32, 0.0, 0.5, 0.0];
            let (before, g) = gradient(HeadKind::Evidential, raw.clone(), z);
            if z > 0.0 {
                assert!(g[0] < 0.0, "{g:?}");
            }
            let stepped: Vec<f32> = raw.iter().zip(&g).map(|(x, d)| x - 0.05 * d).collect();
            let (after, _) = gradient(HeadKind::Evidential, stepped.clone(), z);
            assert!(after < before, "z = {z}: {before} → {after}");
            let var = |r: &[f32]| {
                Evidence::from_raw(
                    f64::from(r[0]),
                    f64::from(r[1]),
                    f64::from(r[2]),
                    f64::from(r[3]),
                )
                .total()
            };
            assert_eq!(var(&stepped) > var(&raw), grows, "z = {z}");
        }
    }

    #[test]
    fn variance_head_losses_in_f64_match_training_and_skip_unlabelled_entries() {
        // Two rows, two tasks; the second row's first task unlabelled (its target 0 would
        // otherwise count).
        for head in [HeadKind::MeanVariance, HeadKind::Evidential] {
            let k = head.outputs_per_task();
            let raw: Vec<f32> = (0..2 * 2 * k).map(|i| (i as f32 * 0.37).sin()).collect();
            let y = vec![0.5f32, -0.2, 0.0, 1.3];
            let mask = [true, true, false, true];
            let m: Vec<f32> = mask.iter().map(|&b| f32::from(u8::from(b))).collect();
            let train: f32 = masked_head_loss(
                TaskType::Regression,
                head,
                t(raw.clone(), [2, 2 * k]),
                t(y.clone(), [2, 2]),
                t(m, [2, 2]),
                None,
            )
            .into_scalar();
            let f64_loss =
                masked_head_loss_f64(TaskType::Regression, head, None, &raw, &y, &mask, 2).unwrap();
            assert!(
                (f64_loss - f64::from(train)).abs() < 1e-5,
                "{head:?}: {f64_loss} vs {train}"
            );
            // Standardizing the targets first: (y − m)/s.
            let scaled: Vec<f32> = y.iter().map(|&v| v * 2.0 + 1.0).collect();
            let again = masked_head_loss_f64(
                TaskType::Regression,
                head,
                Some((&[1.0, 1.0], &[2.0, 2.0])),
                &raw,
                &scaled,
                &mask,
                2,
            )
            .unwrap();
            assert!((again - f64_loss).abs() < 1e-6);
        }
        assert_eq!(
            RegressionLoss::of_head(HeadKind::Evidential).head(),
            HeadKind::Evidential
        );
    }
}
