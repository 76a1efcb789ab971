//! `moltx predict` and `moltx fingerprint`: apply a trained model (or ensemble) to a
//! library, streamed through the same pipeline as `moltx screen`: one output row per input
//! row, in order (`row, id, smiles, <outputs>, error`); rows that fail carry the reason in
//! `error`.

use std::path::PathBuf;

use burn::tensor::Device;

use super::stream::{StreamArgs, load_model, print_counts, run_pipeline, run_stream};
use super::uncertainty::{UncertaintyArgs, load_streaming};
use crate::model::{Embedder, Ensemble};
use crate::screen::ScreenOptions;

/// Flags of `moltx predict`.
#[derive(Debug, clap::Args)]
pub struct PredictArgs {
    /// Model file or directory of model files (an ensemble), or a neighbour-model file.
    #[arg(long)]
    pub model: PathBuf,
    /// Input (`--input`/`--library`), output and streaming.
    #[command(flatten)]
    pub stream: StreamArgs,
    /// Uncertainty, calibration and confidence-bound ranking.
    #[command(flatten)]
    pub uncertainty: UncertaintyArgs,
}

/// Flags of `moltx fingerprint`.
#[derive(Debug, clap::Args)]
pub struct FingerprintArgs {
    /// Model file or directory of model files (the first one's embeddings).
    #[arg(long)]
    pub model: PathBuf,
    /// Input (`--input`/`--library`), output and streaming.
    #[command(flatten)]
    pub stream: StreamArgs,
}

/// Runs `moltx predict`: the model's predictions (`<task>_std` too for an ensemble;
/// `<task>_unc`, `<task>_lo`/`_hi` or `<task>_set` with an uncertainty or a calibration).
pub fn run_predict(args: &PredictArgs) -> anyhow::Result<()> {
    let device = Device::flex();
    let flow = &args.stream.flow;
    let (scorer, uncertainty) = load_streaming(
        Some(&args.model),
        &args.uncertainty,
        (flow.batch_size, args.stream.signatures.is_some()),
        &device,
        || load_model(&args.model, &args.stream, &device),
    )?;
    let options = ScreenOptions {
        uncertainty,
        ..args.stream.options(0)
    };
    let summary = run_pipeline(
        &args.stream.library,
        &args.stream.out,
        flow,
        &options,
        scorer.as_ref(),
        &device,
    )?;
    print_counts(&args.stream.out, &summary);
    Ok(())
}

/// Runs `moltx fingerprint`: the learned molecule embeddings (`e0…`) of the first ensemble
/// member.
pub fn run_fingerprint(args: &FingerprintArgs) -> anyhow::Result<()> {
    let device = Device::flex();
    let ensemble = Ensemble::load(&args.model, &device)?;
    let embedder = Embedder::new(ensemble.first().clone());
    let summary = run_stream(&args.stream, &embedder, 0, &device)?;
    print_counts(&args.stream.out, &summary);
    Ok(())
}
