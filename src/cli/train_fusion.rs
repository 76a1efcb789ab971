//! `moltx train-fusion`: train a fusion model (`[D-MPNN ‖ signature embedding ‖ flag] →
//! heads`) on compounds with a structure, a measured signature and labels; the folder it
//! writes is a model `predict` and `screen` take (`--signatures` for measured ones).

use std::path::PathBuf;

use burn::tensor::Device;

use super::columns::ArchitectureArgs;
use crate::model::{FeatureEncoderConfig, ModelConfig, ModelKind};
use crate::train::fusion_job::{FusionJob, run_fusion};
use crate::train::job::SplitPlan;
use crate::train::trainer::{Selection, TrainOptions};

/// Flags of `moltx train-fusion`.
#[derive(Debug, clap::Args)]
pub struct TrainFusionArgs {
    /// Measured signatures, one per row (genes as columns), keyed by compound id.
    #[arg(long)]
    pub signatures: PathBuf,
    /// Structures: a compound-id column (the first) and a SMILES column.
    #[arg(long)]
    pub structures: PathBuf,
    /// Labels: a compound-id column (the first) and numeric target columns (blank: missing;
    /// all 0/1: classification).
    #[arg(long)]
    pub labels: PathBuf,
    /// Structure → signature model for compounds without a measured signature (a
    /// `train-signatures` model folder or neighbour file); copied into the fusion folder.
    #[arg(long)]
    pub struct2sig: PathBuf,
    /// Out-of-fold predicted signatures of the training compounds (`repurpose-eval` writes
    /// `predicted_signatures.tsv`); default: the structure → signature model's own.
    #[arg(long)]
    pub predicted_signatures: Option<PathBuf>,
    /// The fusion folder to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Structure network and head.
    #[command(flatten)]
    pub architecture: ArchitectureArgs,
    /// Hidden width of the signature encoder.
    #[arg(long, default_value_t = 256)]
    pub encoder_hidden: usize,
    /// Hidden layers of the signature encoder.
    #[arg(long, default_value_t = 1)]
    pub encoder_layers: usize,
    /// Width of the signature embedding.
    #[arg(long, default_value_t = 64)]
    pub embedding: usize,
    /// Epochs.
    #[arg(long, default_value_t = 50)]
    pub epochs: usize,
    /// Molecules per batch.
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    /// Split of the compounds into 80% train, 10% validation, 10% test.
    #[arg(long, default_value = "scaffold", value_parser = ["scaffold", "random"])]
    pub split: String,
    /// Seed of the split, initialization and shuffling.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// No per-epoch lines.
    #[arg(long)]
    pub quiet: bool,
}

/// Runs `moltx train-fusion`.
pub fn run(args: &TrainFusionArgs) -> anyhow::Result<()> {
    let mut model = ModelConfig::defaults(ModelKind::Dmpnn, 0);
    args.architecture.apply(&mut model);
    let job = FusionJob {
        signatures: args.signatures.clone(),
        structures: args.structures.clone(),
        labels: args.labels.clone(),
        struct2sig: args.struct2sig.clone(),
        predicted: args.predicted_signatures.clone(),
        model,
        encoder: FeatureEncoderConfig {
            hidden: args.encoder_hidden,
            layers: args.encoder_layers,
            embedding: args.embedding,
            passthrough: 1,
        },
        options: TrainOptions {
            epochs: args.epochs,
            batch_size: args.batch_size,
            seed: args.seed,
            selection: Selection::Loss,
            ..TrainOptions::default()
        },
        split: match args.split.as_str() {
            "random" => SplitPlan::Random([0.8, 0.1, 0.1]),
            _ => SplitPlan::Scaffold([0.8, 0.1, 0.1]),
        },
        seed: args.seed,
        out: args.out.clone(),
    };
    let quiet = args.quiet;
    let report = run_fusion(&job, &Device::flex(), &mut |r| {
        if !quiet {
            eprintln!(
                "epoch {:>3}  train loss {:.4}  val loss {}",
                r.epoch,
                r.train_loss,
                r.val_loss.map_or("-".into(), |v| format!("{v:.4}"))
            );
        }
    })?;
    let metric = report.task_type.metric_names()[0];
    let show = |m: &crate::train::metrics::SplitMetrics| {
        m.get(metric)
            .map_or("undefined".into(), |v| format!("{v:.3}"))
    };
    println!(
        "fusion model on {} compounds ({} genes, split {:?}; {}), best epoch {}",
        report.compounds,
        report.genes,
        report.split,
        if report.out_of_fold_predictions {
            "out-of-fold predicted signatures"
        } else {
            "the structure → signature model's own predictions"
        },
        report.best_epoch
    );
    println!(
        "test {metric}: {} with measured signatures, {} with predicted ones → {}",
        show(&report.test_measured),
        show(&report.test_predicted),
        args.out.display()
    );
    std::fs::write(
        args.out.join("metrics.json"),
        serde_json::to_string_pretty(&report)?,
    )?;
    Ok(())
}
