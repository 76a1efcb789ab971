//! `moltx train-signatures`: train the structure → signature model on compounds with both a
//! structure and a measured signature, and compare it with the drug-free baselines.

use std::path::PathBuf;

use burn::tensor::Device;
use indicatif::{ProgressBar, ProgressStyle};

use super::train::SplitKind;
use crate::eval::signatures::{SignatureJob, SignatureMetrics, run_signature_job};
use crate::link::neighbors::{NeighborConfig, NeighborGrid, NeighborSearch};
use crate::link::profiled::read_profiled;
use crate::metrics::mean_and_sd;
use crate::model::{ModelConfig, ModelKind};
use crate::train::job::{SplitPlan, TrainJob};
use crate::train::metrics::TaskType;
use crate::train::trainer::TrainOptions;

/// Which structure → signature models to fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SignatureModels {
    /// The D-MPNN network (and its shuffled-structure baseline).
    Dmpnn,
    /// Similarity-weighted nearest neighbours over Morgan fingerprints (seconds).
    Neighbors,
    /// Both, on the same splits.
    Both,
}

/// Flags of the nearest-neighbour models.
#[derive(Debug, Clone, clap::Args)]
pub struct NeighborArgs {
    /// Neighbours per prediction: one value, or a comma-separated list to choose among by
    /// leave-one-out on the reference compounds.
    #[arg(long, value_delimiter = ',', num_args = 1.., default_values_t = [10, 25, 50, 100])]
    pub neighbors_k: Vec<usize>,
    /// Exponent p of the similarity weights `s^p`: one value or a list, as `--neighbors-k`.
    #[arg(long, value_delimiter = ',', num_args = 1.., default_values_t = [1.0, 3.0, 5.0])]
    pub neighbors_power: Vec<f64>,
}

impl NeighborArgs {
    /// Morgan radius 2, 2,048 bits, and the `(k, p)` candidates.
    pub fn search(&self) -> NeighborSearch {
        NeighborSearch {
            config: NeighborConfig::default(),
            grid: NeighborGrid {
                ks: self.neighbors_k.iter().map(|&k| k.max(1)).collect(),
                powers: self.neighbors_power.clone(),
            },
        }
    }
}

/// Flags of `moltx train-signatures`.
#[derive(Debug, clap::Args)]
pub struct TrainSignaturesArgs {
    /// Signatures, one per row, genes as columns (default: the reference data's
    /// expression/consensi-drugbank.tsv.gz).
    #[arg(long)]
    pub signatures: Option<PathBuf>,
    /// Structures: an id column and a SMILES column (default: the reference data's
    /// expression/l1000_drugs.tsv).
    #[arg(long)]
    pub structures: Option<PathBuf>,
    /// Reference data, read when --signatures or --structures is not given.
    #[command(flatten)]
    pub data: super::data_args::DataArgs,
    /// Id column of the structures file (default: its first column).
    #[arg(long)]
    pub id_column: Option<String>,
    /// Split kind (random or scaffold).
    #[arg(long, value_enum, default_value = "scaffold")]
    pub split: SplitKind,
    /// Train/validation/test fractions.
    #[arg(long, value_delimiter = ',', default_value = "0.8,0.1,0.1")]
    pub split_sizes: Vec<f64>,
    /// First seed (of split and initialization).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Number of seeds (seed, seed+1, ...), for the seed-to-seed spread.
    #[arg(long, default_value_t = 1)]
    pub seeds: usize,
    /// Epochs.
    #[arg(long, default_value_t = 50)]
    pub epochs: usize,
    /// Molecules per batch.
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    /// Models per seed (different initializations); the prediction is their mean.
    #[arg(long, default_value_t = 1)]
    pub ensemble: usize,
    /// Weight `w` of the per-compound correlation term: loss = MSE + w·(1 − mean Pearson).
    #[arg(long, default_value_t = 0.0)]
    pub correlation_weight: f32,
    /// Architecture.
    #[command(flatten)]
    pub architecture: super::columns::ArchitectureArgs,
    /// k of the top-k up/down gene precision.
    #[arg(long, default_value_t = 100)]
    pub top_k: usize,
    /// Models to fit and compare.
    #[arg(long, value_enum, default_value = "both")]
    pub model: SignatureModels,
    /// Nearest-neighbour model.
    #[command(flatten)]
    pub neighbors: NeighborArgs,
    /// Skip the shuffled-structure baseline (halves the time).
    #[arg(long)]
    pub no_shuffled_baseline: bool,
    /// Output folder (`seed_<s>/` with model files per seed, `signature_metrics.json`).
    #[arg(long)]
    pub out: PathBuf,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// Runs `moltx train-signatures`.
pub fn run(args: &TrainSignaturesArgs) -> anyhow::Result<()> {
    let (signatures, structures) = match (&args.signatures, &args.structures) {
        (Some(s), Some(d)) => (s.clone(), d.clone()),
        (s, d) => {
            let shared = crate::data::SharedData::new(&args.data.resolve(&["l1000-consensus"])?);
            (
                s.clone().unwrap_or_else(|| shared.consensus_signatures()),
                d.clone().unwrap_or_else(|| shared.profiled_structures()),
            )
        }
    };
    let data = read_profiled(&signatures, &structures, args.id_column.as_deref())?;
    eprintln!(
        "{} compounds with a structure and a signature ({} genes); {} signatures without a \
         structure; {} structures RDKit rejected",
        data.table.len(),
        data.table.n_tasks(),
        data.without_structure.len(),
        data.table.failures.len()
    );
    let sizes: [f64; 3] = args
        .split_sizes
        .as_slice()
        .try_into()
        .map_err(|_| anyhow::anyhow!("--split-sizes needs three fractions"))?;
    let split = match args.split {
        SplitKind::Scaffold => SplitPlan::Scaffold(sizes),
        SplitKind::Random => SplitPlan::Random(sizes),
        SplitKind::Kfold => anyhow::bail!("use --split random or scaffold"),
    };
    let mut model = ModelConfig::defaults(ModelKind::Dmpnn, data.table.n_tasks());
    args.architecture.apply(&mut model);
    let job = SignatureJob {
        train: TrainJob {
            model,
            task_type: Some(TaskType::Regression),
            split,
            seed: args.seed,
            ensemble: args.ensemble.max(1),
            options: TrainOptions {
                epochs: args.epochs,
                correlation_weight: args.correlation_weight,
                batch_size: args.batch_size,
                ..TrainOptions::default()
            },
            out: args.out.clone(),
        },
        n_seeds: args.seeds,
        network: args.model != SignatureModels::Neighbors,
        shuffled_baseline: !args.no_shuffled_baseline,
        neighbors: (args.model != SignatureModels::Dmpnn).then(|| args.neighbors.search()),
        top_k: args.top_k,
    };
    std::fs::create_dir_all(&args.out)?;
    let runs = if args.model == SignatureModels::Neighbors {
        0
    } else {
        args.seeds.max(1) * if args.no_shuffled_baseline { 1 } else { 2 }
    };
    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new((runs * args.epochs) as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} epochs {msg} [{elapsed_precise}]")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let report = run_signature_job(&data, &job, &Device::flex(), &mut |what, r| {
        bar.set_message(format!("{what} epoch {} loss {:.4}", r.epoch, r.train_loss));
        bar.inc(1);
    })?;
    bar.finish_and_clear();
    let k = report.top_k;
    println!(
        "test compounds per seed: {}",
        report.seeds.first().map_or(0, |s| s.mean_signature.n)
    );
    println!(
        "{:<24} {:>9} {:>12} {:>14}",
        "",
        "Pearson",
        format!("up@{k}"),
        format!("down@{k}")
    );
    let line = |name: &str, m: &[SignatureMetrics]| {
        let stat = |f: &dyn Fn(&SignatureMetrics) -> f64| {
            let v: Vec<f64> = m.iter().map(f).collect();
            let (mean, sd) = mean_and_sd(&v);
            if v.len() > 1 {
                format!("{mean:.3}±{sd:.3}")
            } else {
                format!("{mean:.3}")
            }
        };
        println!(
            "{name:<24} {:>9} {:>12} {:>14}",
            stat(&|m| m.pearson),
            stat(&|m| m.precision_up),
            stat(&|m| m.precision_down)
        );
    };
    let pick =
        |f: &dyn Fn(&crate::eval::signatures::SeedComparison) -> Option<SignatureMetrics>| {
            report.seeds.iter().filter_map(f).collect::<Vec<_>>()
        };
    let rows: [(&str, Vec<SignatureMetrics>); 5] = [
        ("D-MPNN", pick(&|s| s.model)),
        ("D-MPNN, shuffled", pick(&|s| s.shuffled_structures)),
        (
            "neighbours",
            pick(&|s| s.neighbors.as_ref().map(|n| n.metrics)),
        ),
        (
            "neighbours, shuffled",
            pick(&|s| s.neighbors.as_ref().map(|n| n.shuffled)),
        ),
        ("mean training signature", pick(&|s| Some(s.mean_signature))),
    ];
    for (name, metrics) in &rows {
        if !metrics.is_empty() {
            line(name, metrics);
        }
    }
    // Paired per seed: how far each model is above the better of the two baselines.
    for (name, model, shuffled) in [
        ("D-MPNN", &rows[0].1, &rows[1].1),
        ("neighbours", &rows[2].1, &rows[3].1),
    ] {
        if model.is_empty() {
            continue;
        }
        let margins: Vec<f64> = model
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let mean_baseline = rows[4].1[i].pearson;
                let best = shuffled
                    .get(i)
                    .map_or(mean_baseline, |b| b.pearson.max(mean_baseline));
                m.pearson - best
            })
            .collect();
        let (mean, _) = mean_and_sd(&margins);
        let (_, sd_model) = mean_and_sd(&model.iter().map(|m| m.pearson).collect::<Vec<_>>());
        println!(
            "{name}: Pearson − better baseline, paired per seed: {mean:+.4} (per seed {}); \
             seed-to-seed sd of the model {sd_model:.4}",
            margins
                .iter()
                .map(|m| format!("{m:+.4}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    let chosen: Vec<String> = report
        .seeds
        .iter()
        .filter_map(|s| s.neighbors.as_ref())
        .map(|n| format!("{}/{}/{:.1}", n.k, n.power, n.shrinkage))
        .collect();
    if !chosen.is_empty() {
        println!(
            "neighbours k/p/α per seed (leave-one-out on the references): {}",
            chosen.join(" ")
        );
    }
    let files = match args.model {
        SignatureModels::Dmpnn => "seed_<s>/model_*.moltx",
        SignatureModels::Neighbors => "seed_<s>/neighbors/neighbors.moltx",
        SignatureModels::Both => "seed_<s>/model_*.moltx, seed_<s>/neighbors/neighbors.moltx",
    };
    println!(
        "wrote {} (per seed: {files}; signature_metrics.json)",
        args.out.display()
    );
    Ok(())
}
