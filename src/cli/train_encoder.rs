//! `moltx train-encoder`: train the signature encoder as a denoising autoencoder, report its
//! held-out reconstruction error against the mean-signature baseline, and write every
//! signature's embedding.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use burn::tensor::{Device, Tensor, TensorData};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::expr::matrix::{Layout, read_signatures};
use crate::model::signature::{
    DenoisingOptions, SignatureEncoderConfig, reconstruction_mse, train_denoising,
};

/// Flags of `moltx train-encoder`.
#[derive(Debug, clap::Args)]
pub struct TrainEncoderArgs {
    /// Signatures, one per row, genes as columns (e.g. consensi-drugbank.tsv.gz).
    #[arg(long)]
    pub signatures: PathBuf,
    /// Epochs.
    #[arg(long, default_value_t = 50)]
    pub epochs: usize,
    /// Hidden width.
    #[arg(long, default_value_t = 512)]
    pub hidden: usize,
    /// Embedding width.
    #[arg(long, default_value_t = 128)]
    pub embedding: usize,
    /// Probability of zeroing each input value (denoising).
    #[arg(long, default_value_t = 0.2)]
    pub mask: f64,
    /// Fraction of signatures held out to measure reconstruction.
    #[arg(long, default_value_t = 0.1)]
    pub holdout: f64,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output CSV of embeddings (`id,e0,e1,...`).
    #[arg(long)]
    pub out: PathBuf,
}

/// Runs `moltx train-encoder`.
pub fn run(args: &TrainEncoderArgs) -> anyhow::Result<()> {
    let m = read_signatures(&args.signatures, Layout::Rows)
        .with_context(|| format!("reading {}", args.signatures.display()))?;
    let g = m.n_genes();
    // Missing values enter as 0 (the z-score mean).
    let value = |s: usize| -> Vec<f32> {
        m.column(s)
            .iter()
            .map(|&v| if v.is_finite() { v as f32 } else { 0.0 })
            .collect()
    };
    let mut order: Vec<usize> = (0..m.n_signatures()).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(args.seed));
    let n_hold = ((args.holdout.clamp(0.0, 0.5)) * order.len() as f64) as usize;
    let (held, train) = order.split_at(n_hold);
    let rows = |ids: &[usize]| -> Vec<f32> { ids.iter().flat_map(|&s| value(s)).collect() };
    let (train_values, held_values) = (rows(train), rows(held));
    let config = SignatureEncoderConfig {
        hidden: args.hidden,
        embedding: args.embedding,
        ..SignatureEncoderConfig::defaults(g)
    };
    let options = DenoisingOptions {
        epochs: args.epochs,
        mask_probability: args.mask,
        seed: args.seed,
        ..DenoisingOptions::default()
    };
    let trained = train_denoising(&config, &train_values, &options, &mut |_, _| {});
    let device = Device::flex();
    let mse = reconstruction_mse(&trained.net, &config, &held_values, &device);
    let mut mean = vec![0.0f64; g];
    for row in train_values.chunks(g) {
        for (m, &v) in mean.iter_mut().zip(row) {
            *m += f64::from(v) / train.len().max(1) as f64;
        }
    }
    let baseline = held_values
        .chunks(g)
        .flat_map(|row| {
            row.iter()
                .zip(&mean)
                .map(|(&v, m)| (f64::from(v) - m).powi(2))
        })
        .sum::<f64>()
        / held_values.len().max(1) as f64;
    println!(
        "{} signatures × {g} genes; trained on {}, held out {}: reconstruction MSE {mse:.4} \
         (mean-signature baseline {baseline:.4}); training loss {:.4} → {:.4}",
        m.n_signatures(),
        train.len(),
        held.len(),
        trained.losses.first().copied().unwrap_or(f64::NAN),
        trained.losses.last().copied().unwrap_or(f64::NAN),
    );
    let all: Vec<f32> = (0..m.n_signatures()).flat_map(value).collect();
    let x = Tensor::<2>::from_data(TensorData::new(all, [m.n_signatures(), g]), &device);
    let e = trained
        .net
        .encode(&config, x, false, &mut ChaCha8Rng::seed_from_u64(0))
        .into_data()
        .try_into_vec::<f32>()
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let d = config.embedding;
    let mut w = std::io::BufWriter::new(
        std::fs::File::create(&args.out)
            .with_context(|| format!("creating {}", args.out.display()))?,
    );
    write!(w, "id")?;
    for j in 0..d {
        write!(w, ",e{j}")?;
    }
    writeln!(w)?;
    for (s, id) in m.ids.iter().enumerate() {
        write!(w, "{id}")?;
        for v in &e[s * d..(s + 1) * d] {
            write!(w, ",{v:.6}")?;
        }
        writeln!(w)?;
    }
    w.flush()?;
    println!(
        "wrote {} embeddings to {}",
        m.n_signatures(),
        args.out.display()
    );
    Ok(())
}
