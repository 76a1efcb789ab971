//! What an epoch is judged by: the training targets' scaling, a network's metrics and loss on
//! a labelled split, and the selection score that picks the epoch kept.

use burn::tensor::Device;

use super::loss::masked_head_loss_f64;
use super::metrics::{SplitMetrics, TaskType};
use super::trainer::Labelled;
use crate::kernel::KernelError;
use crate::model::predict::{forward_raw, postprocess_outputs};
use crate::model::{CheckpointHeader, PropertyNet, TargetScaling};

/// Per-task mean and standard deviation of the labelled training targets (sd 1 when 0).
pub fn target_scaling(train: &Labelled, n_tasks: usize) -> TargetScaling {
    let mut mean = vec![0.0; n_tasks];
    let mut sd = vec![1.0; n_tasks];
    for j in 0..n_tasks {
        let values: Vec<f64> = (0..train.len())
            .filter(|&i| train.mask[i * n_tasks + j])
            .map(|i| f64::from(train.targets[i * n_tasks + j]))
            .collect();
        if values.is_empty() {
            continue;
        }
        let m = values.iter().sum::<f64>() / values.len() as f64;
        let var = values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / values.len() as f64;
        mean[j] = m;
        sd[j] = if var > 0.0 { var.sqrt() } else { 1.0 };
    }
    TargetScaling { mean, sd }
}

/// Metrics of a network on a labelled split (predictions un-scaled / squashed first), run on
/// `device`.
pub fn evaluate_net(
    net: &PropertyNet,
    header: &CheckpointHeader,
    data: &Labelled,
    batch_size: usize,
    device: &Device,
) -> Result<SplitMetrics, KernelError> {
    Ok(evaluate_with_loss(net, header, data, batch_size, device)?.0)
}

/// Metrics and loss (as [`masked_head_loss_f64`]: the training loss of the model's head) of a
/// network on a labelled split; the metrics judge the predicted values (a variance head's
/// means).
pub(super) fn evaluate_with_loss(
    net: &PropertyNet,
    header: &CheckpointHeader,
    data: &Labelled,
    batch_size: usize,
    device: &Device,
) -> Result<(SplitMetrics, Option<f64>), KernelError> {
    let device = device.clone().without_autodiff();
    let raw = forward_raw(net, &header.model, data.inputs, batch_size, &device)?;
    let scaling = header
        .target_scaling
        .as_ref()
        .map(|s| (s.mean.as_slice(), s.sd.as_slice()));
    let model = &header.model;
    let loss = masked_head_loss_f64(
        header.task_type,
        model.head,
        scaling,
        &raw,
        data.targets,
        data.mask,
        model.n_tasks,
    );
    let (pred, _) = postprocess_outputs(
        header.task_type,
        model.head,
        header.target_scaling.as_ref(),
        &raw,
        model.n_tasks,
    );
    let truth: Vec<f64> = data.targets.iter().map(|&v| f64::from(v)).collect();
    let metrics = SplitMetrics::compute(header.task_type, &header.tasks, &pred, &truth, data.mask);
    Ok((metrics, loss))
}

/// The selection metric of a split, as a value where larger is better.
pub(super) fn selection_score(task_type: TaskType, m: &SplitMetrics) -> Option<f64> {
    let v = m.get(task_type.metric_names()[0])?;
    Some(if task_type.higher_is_better() { v } else { -v })
}
