//! `moltx repurpose-eval`: for each of the six diseases of the shared data, how well known
//! disease-modifying drugs are recovered when the profiled compounds are ranked by their
//! measured signatures, and by signatures predicted from structure by scaffold-fold models
//! that never saw them.

use std::path::PathBuf;

use burn::tensor::Device;
use indicatif::{ProgressBar, ProgressStyle};

use super::train_signatures::NeighborArgs;
use crate::eval::paired::difference_ci_95;
use crate::eval::reversal::{EvalConfig, EvalRow, evaluate_reversal_of, mean_auc};
use crate::eval::signature_cv::{cross_validated_neighbor_signatures, cross_validated_signatures};
use crate::expr::Score;
use crate::expr::matrix::{Layout, write_matrix};
use crate::link::profiled::read_profiled_data;
use crate::model::{ModelConfig, ModelKind};
use crate::train::job::{SplitPlan, TrainJob};
use crate::train::metrics::TaskType;
use crate::train::trainer::TrainOptions;

/// Which structure → signature model predicts the held-out folds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FoldModel {
    /// D-MPNN trained per fold.
    Dmpnn,
    /// Similarity-weighted nearest neighbours per fold.
    Neighbors,
}

/// Flags of `moltx repurpose-eval`.
#[derive(Debug, clap::Args)]
pub struct RepurposeEvalArgs {
    /// The reference data (`moltx data fetch l1000-consensus indications diseases`).
    #[command(flatten)]
    pub data: super::data_args::DataArgs,
    /// Structure → signature model of the folds: nearest neighbours (seconds; the better one
    /// on the shared data), or the D-MPNN.
    #[arg(long, value_enum, default_value = "neighbors")]
    pub model: FoldModel,
    /// Nearest-neighbour model (with `--model neighbors`).
    #[command(flatten)]
    pub neighbors: NeighborArgs,
    /// Scaffold folds.
    #[arg(long, default_value_t = 5)]
    pub folds: usize,
    /// Epochs per fold model.
    #[arg(long, default_value_t = 50)]
    pub epochs: usize,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Connectivity score.
    #[arg(long, default_value = "wtcs")]
    pub score: String,
    /// Up and down genes per disease.
    #[arg(long, default_value_t = 150)]
    pub n_genes: usize,
    /// Label permutations for the random-ranking spread.
    #[arg(long, default_value_t = 1000)]
    pub permutations: usize,
    /// Output folder (fold models, `repurpose_eval.json`).
    #[arg(long)]
    pub out: PathBuf,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// Runs `moltx repurpose-eval`.
pub fn run(args: &RepurposeEvalArgs) -> anyhow::Result<()> {
    let folder = args
        .data
        .resolve(&["l1000-consensus", "indications", "diseases"])?;
    let data = read_profiled_data(&folder)?;
    std::fs::create_dir_all(&args.out)?;
    let job = TrainJob {
        model: ModelConfig::defaults(ModelKind::Dmpnn, data.table.n_tasks()),
        task_type: Some(TaskType::Regression),
        split: SplitPlan::ScaffoldKFold {
            k: args.folds,
            fold: 0,
        },
        seed: args.seed,
        ensemble: 1,
        options: TrainOptions {
            epochs: args.epochs,
            ..TrainOptions::default()
        },
        out: args.out.clone(),
    };
    let cv = match args.model {
        FoldModel::Neighbors => cross_validated_neighbor_signatures(
            &data,
            &args.neighbors.search(),
            args.folds,
            args.seed,
        )?,
        FoldModel::Dmpnn => {
            let bar = if args.quiet {
                ProgressBar::hidden()
            } else {
                ProgressBar::new((args.folds * args.epochs) as u64)
            };
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:30} {pos}/{len} epochs {msg} [{elapsed_precise}]",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            let device = Device::flex();
            let cv =
                cross_validated_signatures(&data, &job, args.folds, &device, &mut |fold, r| {
                    bar.set_message(format!(
                        "fold {fold} epoch {} loss {:.4}",
                        r.epoch, r.train_loss
                    ));
                    bar.inc(1);
                })?;
            bar.finish_and_clear();
            cv
        }
    };
    let predicted_path = args.out.join("predicted_signatures.tsv");
    write_matrix(&cv.predicted, &predicted_path, Layout::Rows)?;
    eprintln!(
        "wrote out-of-fold predicted signatures to {}",
        predicted_path.display()
    );
    let cfg = EvalConfig {
        n_genes: args.n_genes,
        scores: vec![Score::parse(&args.score)?],
        permutations: args.permutations,
        seed: args.seed,
        ..EvalConfig::default()
    };
    let measured = evaluate_reversal_of(&cv.measured, &folder, &cfg)?;
    let predicted = evaluate_reversal_of(&cv.predicted, &folder, &cfg)?;
    println!(
        "{} compounds with structure and signature; {}, {} up/down genes; random: AUC 0.5, AP = prevalence",
        data.table.len(),
        args.score,
        args.n_genes
    );
    println!(
        "{:<30} {:>4} {:>16} {:>16} {:>16} {:>16}",
        "disease", "DM", "measured AUC", "predicted AUC", "measured AP", "predicted AP"
    );
    let fmt = |r: &EvalRow, auc: bool| {
        if auc {
            format!("{:.3} (p {:.3})", r.auc, r.auc_null.p_value)
        } else {
            format!("{:.4}/{:.4}", r.ap, r.prevalence)
        }
    };
    for (m, p) in measured.iter().zip(&predicted) {
        println!(
            "{:<30} {:>4} {:>16} {:>16} {:>16} {:>16}",
            m.disease,
            m.n_positives,
            fmt(m, true),
            fmt(p, true),
            fmt(m, false),
            fmt(p, false)
        );
    }
    let (measured_rows, predicted_rows) = (
        measured.iter().collect::<Vec<_>>(),
        predicted.iter().collect::<Vec<_>>(),
    );
    let (m, p) = (
        mean_auc(&measured_rows, args.seed),
        mean_auc(&predicted_rows, args.seed),
    );
    // Paired bootstrap of predicted − measured: the same compounds drawn for both rankings.
    let difference = if cv.measured.ids == cv.predicted.ids {
        difference_ci_95(
            &measured_rows,
            &predicted_rows,
            args.permutations,
            args.seed,
        )
    } else {
        None
    };
    let (d_lo, d_hi) = difference.unwrap_or((f64::NAN, f64::NAN));
    println!(
        "mean AUC over diseases (95% bootstrap CI over compounds; one-sided permutation p):\n  \
         measured  {:.3} [{:.3}, {:.3}] p {:.3}\n  predicted {:.3} [{:.3}, {:.3}] p {:.3}\n  \
         predicted − measured {:+.3} [{:+.3}, {:+.3}]\n  random    0.5 ± {:.3}",
        m.mean,
        m.ci_95.0,
        m.ci_95.1,
        m.p_value,
        p.mean,
        p.ci_95.0,
        p.ci_95.1,
        p.p_value,
        p.mean - m.mean,
        d_lo,
        d_hi,
        p.random_95
    );
    std::fs::write(
        args.out.join("repurpose_eval.json"),
        serde_json::to_string_pretty(&serde_json::json!({
            "measured": measured, "predicted": predicted,
            "mean_auc": {"measured": m, "predicted": p,
                "predicted_minus_measured": {"mean": p.mean - m.mean, "ci_95": [d_lo, d_hi]}},
        }))?,
    )?;
    Ok(())
}
