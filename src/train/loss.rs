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
