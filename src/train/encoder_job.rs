//! Fitting a signature encoder as a denoising autoencoder on a signature matrix: featurize
//! (genes, pathway scores or both), standardize on the training signatures, hold some out,
//! train, and judge held-out reconstruction against the mean-signature baseline (which, on
//! standardized inputs, predicts the training mean of every input).

use burn::tensor::Device;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use super::error::{JobError, ensure};

use crate::expr::SignatureMatrix;
use crate::expr::pathway::SignatureFeaturizer;
use crate::link::profiled::values_in;
use crate::model::descriptors::DescriptorFeatures;
use crate::model::signature::{
    DenoisingOptions, SignatureEncoderConfig, reconstruction_mse, train_denoising,
};
use crate::model::signature_file::{ENCODER_FORMAT_VERSION, EncoderHeader, SignatureEncoderFile};

/// Generator name of standardized signature-encoder inputs.
pub const SIGNATURE_INPUTS: &str = "signature_encoder_inputs";

/// What to fit.
#[derive(Debug, Clone)]
pub struct EncoderJob {
    /// Signature → input vector.
    pub featurizer: SignatureFeaturizer,
    /// Hidden width, depth, embedding width and dropout (`input_dim` is set from the
    /// featurizer).
    pub config: SignatureEncoderConfig,
    /// Epochs, batch, masking noise, learning rate, seed.
    pub options: DenoisingOptions,
    /// Fraction of signatures held out to measure reconstruction (0 to 0.5).
    pub holdout: f64,
}

/// How the fit went.
#[derive(Debug, Clone, Serialize)]
pub struct EncoderReport {
    /// Signatures trained on.
    pub n_train: usize,
    /// Signatures held out.
    pub n_held: usize,
    /// Input width.
    pub inputs: usize,
    /// Held-out reconstruction MSE on standardized inputs.
    pub held_out_mse: f64,
    /// Held-out MSE of predicting the training mean of every input.
    pub mean_baseline_mse: f64,
    /// Training loss of the first and last epoch.
    pub loss_first: f64,
    /// See `loss_first`.
    pub loss_last: f64,
}

/// Fits the encoder on every signature of `m` except the held-out ones, on `device`
/// (training on `device.autodiff()`).
pub fn fit_encoder(
    m: &SignatureMatrix,
    job: &EncoderJob,
    device: &Device,
    progress: &mut dyn FnMut(usize, f64),
) -> Result<(SignatureEncoderFile, EncoderReport), JobError> {
    let d = job.featurizer.len();
    ensure(d > 0, "the featurizer makes no inputs")?;
    let raw: Vec<Vec<f32>> = (0..m.n_signatures())
        .map(|s| {
            let values = values_in(&job.featurizer.genes, &m.genes, m.column(s));
            job.featurizer.featurize(&values)
        })
        .collect::<Result<_, _>>()?;
    let mut order: Vec<usize> = (0..raw.len()).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(job.options.seed));
    let n_held = (job.holdout.clamp(0.0, 0.5) * order.len() as f64) as usize;
    let (held, train) = order.split_at(n_held);
    ensure(!train.is_empty(), "no signatures to train on")?;
    let mut scaling = DescriptorFeatures {
        generator: SIGNATURE_INPUTS.into(),
        names: job.featurizer.names(),
        mean: Vec::new(),
        sd: Vec::new(),
    };
    scaling.fit(train.iter().map(|&s| raw[s].as_slice()));
    let standardized = |ids: &[usize]| -> Vec<f32> {
        ids.iter()
            .flat_map(|&s| {
                let mut row = vec![0.0; d];
                scaling.normalize(&raw[s], &mut row);
                row
            })
            .collect()
    };
    let (train_values, held_values) = (standardized(train), standardized(held));
    let config = SignatureEncoderConfig {
        input_dim: d,
        ..job.config.clone()
    };
    let trained = train_denoising(&config, &train_values, &job.options, device, progress);
    let device = device.clone().without_autodiff();
    let held_out_mse = reconstruction_mse(&trained.net, &config, &held_values, &device);
    let mut mean = vec![0.0f64; d];
    for row in train_values.chunks(d) {
        for (m, &v) in mean.iter_mut().zip(row) {
            *m += f64::from(v) / train.len() as f64;
        }
    }
    let mean_baseline_mse = held_values
        .chunks(d)
        .flat_map(|row| {
            row.iter()
                .zip(&mean)
                .map(|(&v, m)| (f64::from(v) - m).powi(2))
        })
        .sum::<f64>()
        / held_values.len().max(1) as f64;
    let report = EncoderReport {
        n_train: train.len(),
        n_held,
        inputs: d,
        held_out_mse,
        mean_baseline_mse,
        loss_first: trained.losses.first().copied().unwrap_or(f64::NAN),
        loss_last: trained.losses.last().copied().unwrap_or(f64::NAN),
    };
    let header = EncoderHeader {
        format_version: ENCODER_FORMAT_VERSION,
        moltx_version: env!("CARGO_PKG_VERSION").to_string(),
        featurizer: job.featurizer.clone(),
        scaling,
        config,
        metrics: serde_json::to_value(&report)?,
    };
    Ok((
        SignatureEncoderFile {
            header,
            net: trained.net,
        },
        report,
    ))
}
