//! Signature encoder: a feed-forward network mapping a transcriptomic signature (one value per
//! gene of a `GeneSpace`, 978 landmark genes by default, or one score per pathway) to an
//! embedding, `e = W_L(dropout(ReLU(… ReLU(W_1 x + b_1) …))) + b_L`.
//!
//! It is trained here as a denoising autoencoder: each training signature is corrupted by
//! zeroing every value with probability `p` (masking noise, Vincent et al. 2008) and a linear
//! decoder reconstructs the clean signature from the embedding, with loss
//! `‖D(E(x̃)) − x‖² / (n·g)`. The encoder (without the decoder) is what a supervised or fusion
//! model reuses.

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Tensor, TensorData};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::ffn::Ffn;
use super::init::linear;

/// Shape of a signature encoder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignatureEncoderConfig {
    /// Input width (genes or pathways).
    pub input_dim: usize,
    /// Width of the hidden layers.
    pub hidden: usize,
    /// Number of hidden layers.
    pub layers: usize,
    /// Embedding width.
    pub embedding: usize,
    /// Dropout after each hidden layer while training.
    pub dropout: f64,
}

impl SignatureEncoderConfig {
    /// 978 → 512 → 128 with dropout 0.1 for `input_dim` inputs.
    pub fn defaults(input_dim: usize) -> Self {
        SignatureEncoderConfig {
            input_dim,
            hidden: 512,
            layers: 1,
            embedding: 128,
            dropout: 0.1,
        }
    }
}

/// Encoder plus linear decoder.
#[derive(Module, Debug)]
pub struct SignatureAutoencoder {
    /// Signature → embedding.
    pub encoder: Ffn,
    /// Embedding → signature.
    pub decoder: burn::nn::Linear,
}

impl SignatureAutoencoder {
    /// A freshly initialized autoencoder.
    pub fn new(config: &SignatureEncoderConfig, rng: &mut ChaCha8Rng, device: &Device) -> Self {
        SignatureAutoencoder {
            encoder: Ffn::new(
                config.input_dim,
                config.hidden,
                config.layers,
                config.embedding,
                rng,
                device,
            ),
            decoder: linear(config.embedding, config.input_dim, true, rng, device),
        }
    }

    /// Embeddings of `n × input_dim` signatures.
    pub fn encode(
        &self,
        config: &SignatureEncoderConfig,
        x: Tensor<2>,
        training: bool,
        rng: &mut ChaCha8Rng,
    ) -> Tensor<2> {
        self.encoder.forward(x, config.dropout, training, rng)
    }

    /// Reconstructions of `n × input_dim` signatures.
    pub fn reconstruct(
        &self,
        config: &SignatureEncoderConfig,
        x: Tensor<2>,
        training: bool,
        rng: &mut ChaCha8Rng,
    ) -> Tensor<2> {
        self.decoder.forward(self.encode(config, x, training, rng))
    }
}

/// Denoising-autoencoder training settings.
#[derive(Debug, Clone)]
pub struct DenoisingOptions {
    /// Epochs.
    pub epochs: usize,
    /// Signatures per batch.
    pub batch_size: usize,
    /// Probability of zeroing each input value.
    pub mask_probability: f64,
    /// Adam learning rate.
    pub lr: f64,
    /// Seed of initialization, shuffling, noise and dropout.
    pub seed: u64,
}

impl Default for DenoisingOptions {
    fn default() -> Self {
        DenoisingOptions {
            epochs: 50,
            batch_size: 64,
            mask_probability: 0.2,
            lr: 1e-3,
            seed: 0,
        }
    }
}

/// A trained autoencoder and its per-epoch training loss.
#[derive(Debug, Clone)]
pub struct TrainedAutoencoder {
    /// The network (inference backend).
    pub net: SignatureAutoencoder,
    /// Mean reconstruction loss per epoch.
    pub losses: Vec<f64>,
}

/// Mean squared reconstruction error of clean signatures (no noise, no dropout).
pub fn reconstruction_mse(
    net: &SignatureAutoencoder,
    config: &SignatureEncoderConfig,
    values: &[f32],
    device: &Device,
) -> f64 {
    let d = config.input_dim;
    let n = values.len() / d.max(1);
    if n == 0 {
        return f64::NAN;
    }
    let x = Tensor::<2>::from_data(TensorData::new(values.to_vec(), [n, d]), device);
    let out = net.reconstruct(config, x.clone(), false, &mut ChaCha8Rng::seed_from_u64(0));
    f64::from((out - x).powi_scalar(2).mean().into_scalar::<f32>())
}

/// Trains a denoising autoencoder on row-major `n × input_dim` signatures, on
/// `device.autodiff()`.
pub fn train_denoising(
    config: &SignatureEncoderConfig,
    values: &[f32],
    options: &DenoisingOptions,
    device: &Device,
    progress: &mut dyn FnMut(usize, f64),
) -> TrainedAutoencoder {
    let device = device.clone().autodiff();
    let d = config.input_dim;
    let n = values.len() / d.max(1);
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let mut net = SignatureAutoencoder::new(config, &mut rng, &device);
    let mut optim = AdamConfig::new().init();
    let mut order: Vec<usize> = (0..n).collect();
    let mut losses = Vec::with_capacity(options.epochs);
    for epoch in 1..=options.epochs {
        order.shuffle(&mut rng);
        let (mut sum, mut batches) = (0.0, 0usize);
        for chunk in order.chunks(options.batch_size.max(1)) {
            let clean: Vec<f32> = chunk
                .iter()
                .flat_map(|&i| values[i * d..(i + 1) * d].iter().copied())
                .collect();
            let noisy: Vec<f32> = clean
                .iter()
                .map(|&v| {
                    if rng.random_bool(options.mask_probability.clamp(0.0, 1.0)) {
                        0.0
                    } else {
                        v
                    }
                })
                .collect();
            let shape = [chunk.len(), d];
            let x = Tensor::<2>::from_data(TensorData::new(noisy, shape), &device);
            let y = Tensor::<2>::from_data(TensorData::new(clean, shape), &device);
            let loss = (net.reconstruct(config, x, true, &mut rng) - y)
                .powi_scalar(2)
                .mean();
            sum += f64::from(loss.clone().into_scalar::<f32>());
            batches += 1;
            let grads = GradientsParams::from_grads(loss.backward(), &net);
            net = optim.step(options.lr, net, grads);
        }
        let loss = sum / batches.max(1) as f64;
        progress(epoch, loss);
        losses.push(loss);
    }
    TrainedAutoencoder {
        net: net.valid(),
        losses,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Signatures from 3 latent programs plus noise: an encoder of width 8 can learn them.
    fn generated(n: usize, g: usize) -> Vec<f32> {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let programs: Vec<Vec<f32>> = (0..3)
            .map(|_| (0..g).map(|_| rng.random_range(-2.0..2.0)).collect())
            .collect();
        (0..n)
            .flat_map(|_| {
                let w: Vec<f32> = (0..3).map(|_| rng.random_range(-1.0..1.0)).collect();
                let noise: Vec<f32> = (0..g).map(|_| rng.random_range(-0.1..0.1)).collect();
                let programs = programs.clone();
                (0..g).map(move |j| (0..3).map(|p| w[p] * programs[p][j]).sum::<f32>() + noise[j])
            })
            .collect()
    }

    #[test]
    fn denoising_autoencoder_loss_falls_and_is_reproducible() {
        let g = 40;
        let values = generated(200, g);
        let config = SignatureEncoderConfig {
            input_dim: g,
            hidden: 32,
            layers: 1,
            embedding: 8,
            dropout: 0.0,
        };
        let options = DenoisingOptions {
            epochs: 30,
            batch_size: 32,
            lr: 3e-3,
            ..DenoisingOptions::default()
        };
        let device = Device::default();
        let trained = train_denoising(&config, &values, &options, &device, &mut |_, _| {});
        let (first, last) = (trained.losses[0], *trained.losses.last().unwrap());
        assert!(last * 4.0 < first, "loss {first} → {last}");
        let mse = reconstruction_mse(&trained.net, &config, &values, &device);
        let variance =
            values.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>() / values.len() as f64;
        assert!(mse < 0.2 * variance, "mse {mse} vs variance {variance}");
        let again = train_denoising(&config, &values, &options, &device, &mut |_, _| {});
        assert_eq!(trained.losses, again.losses);
        let x = Tensor::<2>::from_data(TensorData::new(values[..g].to_vec(), [1, g]), &device);
        let e = trained
            .net
            .encode(&config, x, false, &mut ChaCha8Rng::seed_from_u64(0));
        assert_eq!(e.dims(), [1, 8]);
    }
}
