//! Inference: batched forward passes without an autodiff graph, and the mapping from raw
//! outputs to predictions (un-standardized values, or probabilities `σ(logit)`).

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::checkpoint::{Checkpoint, TargetScaling};
use super::config::{ModelConfig, TaskType};
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

/// Raw network outputs (`len × n_tasks`, row-major) in batches of `batch_size`, in inference
/// mode on `device` (a plain, non-autodiff device).
pub fn forward_raw(
    net: &PropertyNet,
    config: &ModelConfig,
    inputs: &[&MoleculeInput],
    batch_size: usize,
    device: &Device,
) -> Result<Vec<f32>, KernelError> {
    batched(net, config, inputs, batch_size, device, |net, batch| {
        net.forward(config, batch, false, &mut ChaCha8Rng::seed_from_u64(0))
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

impl Checkpoint {
    /// Predictions for many inputs (`len × n_tasks`, row-major).
    pub fn predict(
        &self,
        inputs: &[&MoleculeInput],
        batch_size: usize,
        device: &Device,
    ) -> Result<Vec<f64>, KernelError> {
        let raw = forward_raw(&self.net, &self.header.model, inputs, batch_size, device)?;
        Ok(postprocess(
            self.header.task_type,
            self.header.target_scaling.as_ref(),
            &raw,
            self.header.model.n_tasks,
        ))
    }
}
