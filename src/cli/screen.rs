//! `moltx screen`: stream a compound library through a model (the bundled Tox21 model by
//! default), one output row per input row, with a progress bar and an end-of-run summary.

use std::path::{Path, PathBuf};

use burn::tensor::Device;

use super::stream::{StreamArgs, load_model, print_counts, run_stream};
use crate::model::bundled::{BUNDLED_MODEL_PATH, bundled_tox21};
use crate::model::{Ensemble, Scorer};
use crate::screen::ScreenSummary;

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
}

/// Runs `moltx screen`.
pub fn run(args: &ScreenArgs) -> anyhow::Result<()> {
    let device = Device::flex();
    let scorer: Box<dyn Scorer> = match &args.model {
        Some(path) => load_model(path, &args.stream, &device)?,
        None => {
            eprintln!(
                "no --model: using the bundled Tox21 D-MPNN ({BUNDLED_MODEL_PATH}, 12 tasks)"
            );
            Box::new(Ensemble::new(
                vec![bundled_tox21(&device)?],
                Path::new(BUNDLED_MODEL_PATH),
            )?)
        }
    };
    let summary = run_stream(&args.stream, scorer.as_ref(), args.report, &device)?;
    print_summary(args, &summary);
    Ok(())
}

fn print_summary(args: &ScreenArgs, s: &ScreenSummary) {
    print_counts(&args.stream, s);
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
