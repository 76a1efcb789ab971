//! Inference: batched forward passes without an autodiff graph, and the mapping from raw
//! outputs to predictions (un-standardized values, or probabilities `σ(logit)`).

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::checkpoint::{Checkpoint, TargetScaling};
use super::config::{HeadKind, ModelConfig, TaskType};
use super::head::{split_raw, unscale_variances};
use super::net::{BatchTensors, MoleculeInput, PropertyNet};
use crate::kernel::KernelError;

/// Runs `f` over `inputs` in batches of `batch_size` on `device` with a validation copy of the
/// network (no autodiff graph), concatenating the row-major outputs.
fn batched(
    net: &PropertyNet,
    config: &ModelConfig,
    inputs: &[&MoleculeInput],
    batch_size: usize,
    device: &Device,
    f: impl Fn(&PropertyNet, &BatchTensors) -> Result<Tensor<2>, KernelError>,
) -> Result<Vec<f32>, KernelError> {
    let net = net.valid();
    let mut out = Vec::new();
    for chunk in inputs.chunks(batch_size.max(1)) {
        let batch = BatchTensors::new(chunk, config, device)?;
        let y = f(&net, &batch)?;
        out.extend(
            y.into_data()
                .try_into_vec::<f32>()
                .map_err(|e| KernelError::InvalidBatch(format!("{e:?}")))?,
        );
    }
    Ok(out)
}

/// Raw network outputs (`len × n_outputs`, row-major: `n_tasks` values, and a variance
/// head's other blocks) in batches of `batch_size`, in inference mode on `device` (a plain,
/// non-autodiff device).
pub fn forward_raw(
    net: &PropertyNet,
    config: &ModelConfig,
    inputs: &[&MoleculeInput],
    batch_size: usize,
    device: &Device,
) -> Result<Vec<f32>, KernelError> {
    batched(net, config, inputs, batch_size, device, |net, batch| {
        net.forward_outputs(config, batch, false, &mut ChaCha8Rng::seed_from_u64(0))
    })
}

/// Molecule embeddings (`len × embedding_dim`), e.g. for `moltx fingerprint`.
pub fn embed(
    net: &PropertyNet,
    config: &ModelConfig,
    inputs: &[&MoleculeInput],
    batch_size: usize,
    device: &Device,
) -> Result<Vec<f32>, KernelError> {
    batched(net, config, inputs, batch_size, device, |net, batch| {
        net.embed(config, batch)
    })
}

/// Turns raw outputs into predictions: `ŷ·sd + mean` (regression) or `σ(x)` (classification).
pub fn postprocess(
    task_type: TaskType,
    scaling: Option<&TargetScaling>,
    raw: &[f32],
    n_tasks: usize,
) -> Vec<f64> {
    raw.iter()
        .enumerate()
        .map(|(k, &x)| {
            let x = f64::from(x);
            match (task_type, scaling) {
                (TaskType::Classification, _) => 1.0 / (1.0 + (-x).exp()),
                (TaskType::Regression, Some(s)) => x * s.sd[k % n_tasks] + s.mean[k % n_tasks],
                (TaskType::Regression, None) => x,
            }
        })
        .collect()
}

/// Predictions and, for a variance head, their variances (`len × n_tasks` each) of raw
/// outputs (`len × n_outputs`): a point head's [`postprocess`]; a variance head's mean
/// `μ·sd + mean` and variance `v·sd²` ([`super::head`]; without a scaling as they are).
pub fn postprocess_outputs(
    task_type: TaskType,
    head: HeadKind,
    scaling: Option<&TargetScaling>,
    raw: &[f32],
    n_tasks: usize,
) -> (Vec<f64>, Option<Vec<f64>>) {
    if head.is_point() {
        return (postprocess(task_type, scaling, raw, n_tasks), None);
    }
    let (means, vars) = split_raw(head, raw, n_tasks);
    let means = means
        .iter()
        .enumerate()
        .map(|(k, &x)| match scaling {
            Some(s) => x * s.sd[k % n_tasks] + s.mean[k % n_tasks],
            None => x,
        })
        .collect();
    let vars = vars.map(|mut v| {
        unscale_variances(&mut v, scaling, n_tasks);
        v
    });
    (means, vars)
}

impl Checkpoint {
    /// Predictions for many inputs (`len × n_tasks`, row-major).
    pub fn predict(
        &self,
        inputs: &[&MoleculeInput],
        batch_size: usize,
        device: &Device,
    ) -> Result<Vec<f64>, KernelError> {
        Ok(self.predict_with_variance(inputs, batch_size, device)?.0)
    }

    /// Predictions and, for a model with a variance head, each prediction's variance `σ²` in
    /// the task's units (`len × n_tasks` each, row-major).
    pub fn predict_with_variance(
        &self,
        inputs: &[&MoleculeInput],
        batch_size: usize,
        device: &Device,
    ) -> Result<(Vec<f64>, Option<Vec<f64>>), KernelError> {
        let raw = forward_raw(&self.net, &self.header.model, inputs, batch_size, device)?;
        let config = &self.header.model;
        Ok(postprocess_outputs(
            self.header.task_type,
            config.head,
            self.header.target_scaling.as_ref(),
            &raw,
            config.n_tasks,
        ))
    }
}
