//! `moltx train`: train a property or toxicity model (or an ensemble) on a CSV.

use std::path::PathBuf;

use anyhow::Context;
use burn::tensor::Device;
use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressStyle};

use crate::data::MoleculeTable;
use crate::model::descriptors::DescriptorFeatures;
use crate::model::{ModelConfig, ModelKind};
use crate::train::job::{SplitPlan, TrainJob, infer_task_type, load_starting_weights, run_train};
use crate::train::loss::RegressionLoss;
use crate::train::metrics::{SplitMetrics, TaskType};
use crate::train::trainer::{Selection, TrainOptions};

/// How the data is split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SplitKind {
    /// Seeded random split.
    Random,
    /// Scaffold-balanced split (chemprop's).
    Scaffold,
    /// k-fold: `--folds K --fold I`.
    Kfold,
}

/// Flags of `moltx train`.
#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// CSV/TSV (optionally .gz) with a SMILES column and targets.
    #[arg(long)]
    pub data: PathBuf,
    /// Which columns hold SMILES and targets.
    #[command(flatten)]
    pub columns: super::columns::ColumnArgs,
    /// Task type (default: classification when every label is 0/1).
    #[arg(long, value_enum)]
    pub task: Option<TaskType>,
    /// Split kind (ignored with --split-file).
    #[arg(long, value_enum, default_value = "random")]
    pub split: SplitKind,
    /// Train/validation/test fractions.
    #[arg(long, value_delimiter = ',', default_value = "0.8,0.1,0.1")]
    pub split_sizes: Vec<f64>,
    /// A split file (`index,split` or `smiles,split`), e.g. another tool's split.
    #[arg(long)]
    pub split_file: Option<PathBuf>,
    /// Number of folds for --split kfold.
    #[arg(long, default_value_t = 5)]
    pub folds: usize,
    /// Test fold for --split kfold.
    #[arg(long, default_value_t = 0)]
    pub fold: usize,
    /// Seed of the split, initialization and shuffling.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Seed of the batch order alone (default: drawn from --seed). Fix it to vary only the
    /// initialization between seeds, as chemprop's --pytorch-seed does (its batch order
    /// follows --data-seed).
    #[arg(long)]
    pub shuffle_seed: Option<u64>,
    /// Epochs (chemprop's default is 50; 100 do better on validation data on all eight
    /// benchmark sets of docs/results.md, at twice the training time).
    #[arg(long, default_value_t = 100)]
    pub epochs: usize,
    /// Molecules per batch.
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    /// Ensemble size (members use seeds seed, seed+1, ...).
    #[arg(long, default_value_t = 1)]
    pub ensemble: usize,
    /// Model kind.
    #[arg(long, value_enum, default_value = "dmpnn")]
    pub model: ModelKind,
    /// Architecture.
    #[command(flatten)]
    pub architecture: super::columns::ArchitectureArgs,
    /// Molecule-level features appended to the embedding: `rdkit_2d` (the 43 descriptors of
    /// RDKit's C++ `Descriptors::Properties`, standardized on the training set). chemprop's
    /// `--features-generators rdkit_2d` is the same idea on RDKit's larger Python descriptor
    /// list (217 in RDKit 2026.03), so the two do not share a feature set.
    #[arg(long, value_delimiter = ',')]
    pub features_generators: Vec<String>,
    /// Regression loss, and with it the head: `mse` (one value per task), `mve` (a mean and a
    /// variance per task, the Gaussian negative log-likelihood) or `evidential` (deep
    /// evidential regression, chemprop's λ = 0.2). The last two predict their own
    /// uncertainty: `moltx predict` writes it as `<task>_unc`. Default: mse, or the --init-from
    /// model's head.
    #[arg(long, value_enum)]
    pub loss: Option<RegressionLoss>,
    /// Stop after this many epochs without validation improvement.
    #[arg(long)]
    pub patience: Option<usize>,
    /// Split each batch into this many parts trained side by side on separate threads
    /// (0: one per thread; 1: off). Results depend on it: keep the thread count fixed to
    /// reproduce a model.
    #[arg(long, default_value_t = 0)]
    pub data_parallel: usize,
    /// What picks the kept epoch: the validation loss (chemprop) or the validation metric.
    #[arg(long, value_enum, default_value = "loss")]
    pub selection: Selection,
    /// Clip each parameter's gradient to this L2 norm (off by default, as in chemprop).
    #[arg(long)]
    pub grad_clip: Option<f32>,
    /// Start from this model's weights instead of drawn ones (fine-tuning): a moltx model file
    /// or a chemprop v2 `.pt`/`.ckpt` (imported as `moltx import-chemprop` does). Its
    /// architecture is trained (--model and the architecture flags are ignored); it must have
    /// one output per target column and the same --features-generators.
    #[arg(long)]
    pub init_from: Option<PathBuf>,
    /// Validate and keep an exponential moving average of the weights over optimizer steps,
    /// with this decay per step (e.g. 0.95), instead of the raw weights.
    #[arg(long)]
    pub weight_average: Option<f64>,
    /// Also write `steps_<member>.csv`: every optimizer step's epoch, step, learning rate,
    /// batch loss and batch (0-based data rows), e.g. to replay the run in another tool.
    #[arg(long)]
    pub log_steps: bool,
    /// Output directory (model files, metrics.json, split.csv, epochs.csv, and `resume/`: a
    /// checkpoint per model, rewritten atomically after every epoch).
    #[arg(long)]
    pub out: PathBuf,
    /// Continue an interrupted run (killed, or stopped by a full disk) in --out from the last
    /// completed epoch of each model: finished ensemble members are kept, the one in progress
    /// continues, the rest start. With the same settings and thread count the model files come
    /// out byte-identical to an uninterrupted run, and epochs.csv too except its wall-time
    /// columns (seconds, molecules_per_second); other settings are refused, naming what
    /// differs. With nothing to resume it just starts. Without it, old checkpoints are removed.
    #[arg(long)]
    pub resume: bool,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// Runs `moltx train`.
pub fn run(args: &TrainArgs) -> anyhow::Result<()> {
    let options = args.columns.table_options();
    let table = MoleculeTable::read(&args.data, &options)
        .with_context(|| format!("reading {}", args.data.display()))?;
    if !table.failures.is_empty() {
        eprintln!(
            "{} of {} rows skipped (RDKit rejected the SMILES):",
            table.failures.len(),
            table.n_rows
        );
        for f in table.failures.iter().take(5) {
            eprintln!("  row {} (line {}): {}", f.row, f.line, f.error);
        }
    }
    let sizes: [f64; 3] = args.split_sizes.as_slice().try_into().map_err(|_| {
        anyhow::anyhow!(
            "--split-sizes needs three fractions, got {:?}",
            args.split_sizes
        )
    })?;
    let split = match (&args.split_file, args.split) {
        (Some(file), _) => SplitPlan::File(file.clone()),
        (None, SplitKind::Random) => SplitPlan::Random(sizes),
        (None, SplitKind::Scaffold) => SplitPlan::Scaffold(sizes),
        (None, SplitKind::Kfold) => SplitPlan::KFold {
            k: args.folds,
            fold: args.fold,
        },
    };
    let initial = args
        .init_from
        .as_ref()
        .map(|path| {
            load_starting_weights(path, &Device::flex())
                .with_context(|| format!("--init-from {}", path.display()))
        })
        .transpose()?;
    let mut model = ModelConfig::defaults(args.model, table.n_tasks());
    args.architecture.apply(&mut model);
    model.descriptors = match args.features_generators.as_slice() {
        [] => None,
        [one] => Some(DescriptorFeatures::by_name(one).map_err(anyhow::Error::msg)?),
        _ => anyhow::bail!("one features generator at a time (known: rdkit_2d)"),
    };
    anyhow::ensure!(
        model.kind != ModelKind::FeaturesOnly || model.descriptors.is_some(),
        "--model features-only needs --features-generators"
    );
    if let Some(loss) = args.loss {
        model.head = loss.head();
        let task = args.task.unwrap_or_else(|| infer_task_type(&table));
        let name = loss
            .to_possible_value()
            .map_or_else(String::new, |v| v.get_name().to_string());
        anyhow::ensure!(
            loss == RegressionLoss::Mse || task == TaskType::Regression,
            "--loss {name} trains a regression head; the targets are a classification task (0/1 \
             labels; --task regression treats them as values)"
        );
        if let Some(start) = &initial {
            anyhow::ensure!(
                start.header.model.head == model.head,
                "--loss {name} does not train the --init-from model's {} head (its \
                 architecture is kept: leave --loss out to train it as it is)",
                start.header.model.head.name()
            );
        }
    }
    let job = TrainJob {
        model,
        task_type: args.task,
        split,
        seed: args.seed,
        ensemble: args.ensemble,
        options: TrainOptions {
            epochs: args.epochs,
            batch_size: args.batch_size,
            seed: args.seed,
            shuffle_seed: args.shuffle_seed,
            patience: args.patience,
            grad_clip: args.grad_clip,
            selection: args.selection,
            data_parallel: args.data_parallel,
            checkpoint_dir: Some(args.out.join("resume")),
            resume: args.resume,
            initial_weights: initial,
            record_steps: args.log_steps,
            weight_average: args.weight_average,
            ..TrainOptions::default()
        },
        out: args.out.clone(),
    };
    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new((args.epochs * args.ensemble.max(1)) as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} epochs {msg} [{elapsed_precise}]")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let report = run_train(&table, &job, &Device::flex(), &mut |member, r| {
        let val = r.val_metric.map_or("-".to_string(), |v| format!("{v:.4}"));
        bar.set_message(format!(
            "model {member} epoch {} loss {:.4} val {val} {:.0} mol/s",
            r.epoch, r.train_loss, r.molecules_per_second
        ));
        bar.inc(1);
    })?;
    bar.finish_and_clear();
    println!(
        "trained {} model(s) on {} molecules ({} val, {} test) in {:.1} s ({:.0} molecules/s)",
        report.ensemble,
        report.splits.train,
        report.splits.val,
        report.splits.test,
        report.train_seconds,
        report.train_molecules_per_second
    );
    print_metrics("validation", &report.val);
    print_metrics("test", &report.test);
    println!(
        "wrote {} ({} model file(s), metrics.json, split.csv, epochs.csv, {} plot(s))",
        args.out.display(),
        report.model_files.len(),
        report.plots.len()
    );
    for problem in &report.plot_problems {
        eprintln!("warning: plot not drawn: {problem}");
    }
    Ok(())
}

/// Prints a split's mean metrics and tasks whose metrics were undefined.
pub fn print_metrics(name: &str, m: &SplitMetrics) {
    let means: Vec<String> = m.mean.iter().map(|(k, v)| format!("{k} {v:.4}")).collect();
    let pooled: Vec<String> = m
        .pooled
        .iter()
        .map(|(k, v)| format!("{k} {v:.4}"))
        .collect();
    if pooled.is_empty() {
        println!("{name:<10} {}", means.join("  "));
    } else {
        println!(
            "{name:<10} {}  (mean over tasks, as chemprop reports; pooled over all labelled pairs: {})",
            means.join("  "),
            pooled.join("  ")
        );
    }
    for (task, names) in &m.undefined {
        println!(
            "           {task}: {} undefined (no labels or one class)",
            names.join(", ")
        );
    }
}
