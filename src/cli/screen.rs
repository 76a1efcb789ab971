//! `moltx screen`: stream a compound library through a model (the bundled Tox21 model by
//! default), one output row per input row, with a progress bar and an end-of-run summary.

use std::path::{Path, PathBuf};

use burn::tensor::Device;

use super::stream::{StreamArgs, load_model, print_counts, run_pipeline};
use super::uncertainty::{UncertaintyArgs, load_streaming};
use crate::model::bundled::{BUNDLED_MODEL_PATH, bundled_tox21};
use crate::model::{Ensemble, Scorer};
use crate::screen::{ScreenOptions, ScreenSummary};

/// Flags of `moltx screen`.
#[derive(Debug, clap::Args)]
pub struct ScreenArgs {
    /// Model file or directory (an ensemble), or a neighbour-model file; default: the bundled
    /// Tox21 model.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Library, output and streaming.
    #[command(flatten)]
    pub stream: StreamArgs,
    /// Top compounds per task to print at the end.
    #[arg(long, default_value_t = 3)]
    pub report: usize,
    /// Score each compound's predicted signature (`--model` is a structure → signature
    /// model) by connectivity to this disease signature (STARGEO table, up/down genes, GMT
    /// pair or signature): one output column, the score; negative reverses the disease.
    #[arg(long)]
    pub disease: Option<PathBuf>,
    /// Connectivity score for `--disease`.
    #[arg(long, default_value = "wtcs", value_parser = ["wtcs", "ks", "xsum", "cosine", "pearson", "spearman"], requires = "disease")]
    pub score: String,
    /// Up and down genes taken from the disease signature.
    #[arg(long, default_value_t = 150, requires = "disease")]
    pub n_genes: usize,
    /// Gene table mapping the disease's symbols to the model's gene ids.
    #[arg(long, requires = "disease")]
    pub gene_table: Option<PathBuf>,
    /// Uncertainty (`<task>_unc`), calibration and confidence-bound ranking.
    #[command(flatten)]
    pub uncertainty: UncertaintyArgs,
}

/// Runs `moltx screen`.
pub fn run(args: &ScreenArgs) -> anyhow::Result<()> {
    let device = Device::flex();
    let load = || -> anyhow::Result<Box<dyn Scorer>> {
        Ok(match &args.model {
            Some(path) => load_model(path, &args.stream, &device)?,
            None => Box::new(Ensemble::new(
                vec![bundled_tox21(&device)?],
                Path::new(BUNDLED_MODEL_PATH),
            )?),
        })
    };
    if args.model.is_none() {
        eprintln!("no --model: using the bundled Tox21 D-MPNN ({BUNDLED_MODEL_PATH}, 12 tasks)");
    }
    let (scorer, uncertainty) = match &args.disease {
        Some(disease) => {
            anyhow::ensure!(
                args.uncertainty.is_empty(),
                "--uncertainty, --calibration and --bound apply to a model's own outputs, not \
                 to --disease scores"
            );
            (reversal(load()?, disease, args)?, Default::default())
        }
        None => load_streaming(
            args.model.as_deref(),
            &args.uncertainty,
            (
                args.stream.flow.batch_size,
                args.stream.signatures.is_some(),
            ),
            &device,
            load,
        )?,
    };
    let options = ScreenOptions {
        uncertainty,
        ..args.stream.options(args.report)
    };
    let summary = run_pipeline(
        &args.stream.library,
        &args.stream.out,
        &args.stream.flow,
        &options,
        scorer.as_ref(),
        &device,
    )?;
    print_summary(args, &summary);
    Ok(())
}

/// The model composed with a connectivity score against the disease.
fn reversal(
    model: Box<dyn Scorer>,
    disease: &Path,
    args: &ScreenArgs,
) -> anyhow::Result<Box<dyn Scorer>> {
    use anyhow::Context;
    let query = crate::expr::query::read_query(disease, None, crate::expr::matrix::Layout::Rows)
        .with_context(|| format!("reading {}", disease.display()))?;
    let table = match &args.gene_table {
        Some(p) => Some(crate::expr::GeneTable::read(p)?),
        None => None,
    };
    Ok(Box::new(crate::link::ReversalScorer::new(
        model,
        &query,
        table.as_ref(),
        args.n_genes,
        crate::expr::Score::parse(&args.score)?,
        crate::expr::ScoreParams::default(),
    )?))
}

fn print_summary(args: &ScreenArgs, s: &ScreenSummary) {
    print_counts(&args.stream.out, s);
    if args.report == 0 || s.scored == 0 {
        return;
    }
    println!("highest predictions per task:");
    for (j, (task, rows)) in s.best_per_task.iter().enumerate() {
        let list: Vec<String> = rows
            .iter()
            .map(|r| {
                let name = if r.id.is_empty() { &r.smiles } else { &r.id };
                let value = r.values.get(j).copied().unwrap_or(f64::NAN);
                format!("{name} {value:.3}")
            })
            .collect();
        println!("  {task:<14} {}", list.join(", "));
    }
}
