//! `moltx predict` and `moltx fingerprint`: apply a trained model (or ensemble) to a
//! library, streamed through the same pipeline as `moltx screen`: one output row per input
//! row, in order (`row, id, smiles, <outputs>, error`); rows that fail carry the reason in
//! `error`.

use std::path::PathBuf;

use burn::tensor::Device;

use super::stream::{StreamArgs, load_model, print_counts, run_stream};
use crate::model::{Embedder, Ensemble, Scorer};

/// Flags of `moltx predict` / `moltx fingerprint`.
#[derive(Debug, clap::Args)]
pub struct PredictArgs {
    /// Model file or directory of model files (an ensemble); for `predict`, also a
    /// neighbour-model file.
    #[arg(long)]
    pub model: PathBuf,
    /// Input (`--input`/`--library`), output and streaming.
    #[command(flatten)]
    pub stream: StreamArgs,
}

/// Runs `moltx predict`: the model's predictions (`<task>_std` too for an ensemble).
pub fn run_predict(args: &PredictArgs) -> anyhow::Result<()> {
    let device = Device::flex();
    let scorer: Box<dyn Scorer> = load_model(&args.model, &args.stream, &device)?;
    let summary = run_stream(&args.stream, scorer.as_ref(), 0, &device)?;
    print_counts(&args.stream.out, &summary);
    Ok(())
}

/// Runs `moltx fingerprint`: the learned molecule embeddings (`e0…`) of the first ensemble
/// member.
pub fn run_fingerprint(args: &PredictArgs) -> anyhow::Result<()> {
    let device = Device::flex();
    let ensemble = Ensemble::load(&args.model, &device)?;
    let embedder = Embedder::new(ensemble.first().clone());
    let summary = run_stream(&args.stream, &embedder, 0, &device)?;
    print_counts(&args.stream.out, &summary);
    Ok(())
}
