//! Masked multitask losses: missing labels contribute nothing, to the value or the gradient.
//!
//! With per-element loss `ℓᵢⱼ`, mask `mᵢⱼ ∈ {0, 1}`: `L = Σᵢⱼ mᵢⱼ ℓᵢⱼ / max(1, Σᵢⱼ mᵢⱼ)`.

use burn::tensor::Tensor;

use super::metrics::TaskType;

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
}
