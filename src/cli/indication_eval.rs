//! `moltx indication-eval`: predict drugs' disease-modifying indications from structure, from
//! measured signatures, and from both, on the same scaffold splits (shared data).

use std::path::PathBuf;

use indicatif::{ProgressBar, ProgressStyle};

use crate::train::indication_job::{Modality, read_indications, run_indication_eval};
use crate::train::signature_job::read_profiled;
use crate::train::trainer::TrainOptions;

/// Flags of `moltx indication-eval`.
#[derive(Debug, clap::Args)]
pub struct IndicationEvalArgs {
    /// The shared data folder.
    #[arg(long, default_value = "../shared/data")]
    pub data: PathBuf,
    /// Keep diseases with at least this many profiled disease-modifying drugs.
    #[arg(long, default_value_t = 10)]
    pub min_drugs: usize,
    /// Seeds 0..N (split and models).
    #[arg(long, default_value_t = 3)]
    pub seeds: u64,
    /// Epochs per model.
    #[arg(long, default_value_t = 50)]
    pub epochs: usize,
    /// Output JSON.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// Runs `moltx indication-eval`.
pub fn run(args: &IndicationEvalArgs) -> anyhow::Result<()> {
    let expr = args.data.join("expression");
    let profiled = read_profiled(
        &expr.join("consensi-drugbank.tsv.gz"),
        &expr.join("l1000_drugs.tsv"),
        None,
    )?;
    let labels = read_indications(
        &args.data.join("repurposing/indications.tsv"),
        &profiled,
        args.min_drugs,
    )?;
    let t = labels.diseases.len();
    let positives = labels.labels.iter().filter(|&&v| v > 0.0).count();
    println!(
        "{} compounds (structure + signature), {t} diseases with ≥{} disease-modifying drugs \
         ({positives} positive labels); scaffold split 80/10/10",
        profiled.table.len(),
        args.min_drugs
    );
    let seeds: Vec<u64> = (0..args.seeds.max(1)).collect();
    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new((seeds.len() * 3 * args.epochs) as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} epochs {msg} [{elapsed_precise}]")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let options = TrainOptions {
        epochs: args.epochs,
        ..TrainOptions::default()
    };
    let results = run_indication_eval(&profiled, &labels, &seeds, &options, &mut |s, m, r| {
        bar.set_message(format!("seed {s} {m:?} epoch {}", r.epoch));
        bar.inc(1);
    })?;
    bar.finish_and_clear();
    println!("{:<10} {:>14} {:>30}", "inputs", "test ROC-AUC", "per seed");
    for modality in [Modality::Structure, Modality::Signature, Modality::Fused] {
        let values: Vec<f64> = results
            .iter()
            .filter(|r| r.modality == modality)
            .filter_map(|r| r.roc_auc)
            .collect();
        let n = values.len().max(1) as f64;
        let mean = values.iter().sum::<f64>() / n;
        let sd = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
        let each: Vec<String> = values.iter().map(|v| format!("{v:.3}")).collect();
        println!(
            "{:<10} {:>14} {:>30}",
            format!("{modality:?}").to_lowercase(),
            format!("{mean:.3}±{sd:.3}"),
            each.join(" ")
        );
    }
    if let Some(out) = &args.out {
        std::fs::write(out, serde_json::to_string_pretty(&results)?)?;
    }
    Ok(())
}
