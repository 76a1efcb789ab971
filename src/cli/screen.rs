//! `moltx screen`: stream a compound library through a model (the bundled Tox21 model by
//! default), one output row per input row, with a progress bar and an end-of-run summary.

use std::path::PathBuf;

use burn::tensor::Device;
use indicatif::{ProgressBar, ProgressStyle};

use crate::data::LibraryOptions;
use crate::model::bundled::{BUNDLED_MODEL_PATH, bundled_tox21};
use crate::screen::{ScreenOptions, ScreenSummary, Shard, TopKOption, screen};
use crate::train::ensemble::load_ensemble;

/// Flags of `moltx screen`.
#[derive(Debug, clap::Args)]
pub struct ScreenArgs {
    /// The library: .smi, .csv, .tsv, .sdf (each optionally .gz) or .parquet.
    #[arg(long, alias = "input")]
    pub library: PathBuf,
    /// Output: .csv, .tsv or .parquet.
    #[arg(long)]
    pub out: PathBuf,
    /// Model file or directory (an ensemble); default: the bundled Tox21 model.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// SMILES column (CSV/TSV/Parquet); default: the first whose name contains "smiles".
    #[arg(long)]
    pub smiles_column: Option<String>,
    /// Identifier column, or SDF data item; default: an `id`/`name`/`*_id` column, or the SDF
    /// title line.
    #[arg(long)]
    pub id_column: Option<String>,
    /// Keep only the K best rows (by --by), written best first at the end.
    #[arg(long, requires = "by")]
    pub top_k: Option<usize>,
    /// Task to rank by for --top-k.
    #[arg(long)]
    pub by: Option<String>,
    /// Rank lowest first.
    #[arg(long)]
    pub ascending: bool,
    /// Only rows with row % N == I, written `I/N`.
    #[arg(long)]
    pub shard: Option<Shard>,
    /// Continue an interrupted run writing the same output.
    #[arg(long)]
    pub resume: bool,
    /// Rows per chunk (the unit of durability and of --resume).
    #[arg(long, default_value_t = 4096)]
    pub chunk_size: usize,
    /// Molecules per forward pass (batches run side by side, one per thread).
    #[arg(long, default_value_t = 128)]
    pub batch_size: usize,
    /// Top compounds per task to print at the end.
    #[arg(long, default_value_t = 3)]
    pub report: usize,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// The size limit of the library's molecules.
    #[command(flatten)]
    pub limits: super::columns::MoleculeLimitArgs,
}

/// Runs `moltx screen`.
pub fn run(args: &ScreenArgs) -> anyhow::Result<()> {
    let device = Device::flex();
    let members = match &args.model {
        Some(path) => load_ensemble(path, &device)?,
        None => {
            eprintln!(
                "no --model: using the bundled Tox21 D-MPNN ({BUNDLED_MODEL_PATH}, 12 tasks)"
            );
            vec![bundled_tox21(&device)?]
        }
    };
    let options = ScreenOptions {
        library: LibraryOptions {
            smiles_column: args.smiles_column.clone(),
            id_column: args.id_column.clone(),
        },
        chunk_size: args.chunk_size,
        batch_size: args.batch_size,
        shard: args.shard,
        top_k: args.top_k.zip(args.by.clone()).map(|(k, task)| TopKOption {
            k,
            task,
            ascending: args.ascending,
        }),
        resume: args.resume,
        report_top: args.report,
        max_heavy_atoms: args.limits.max_atoms,
    };
    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(0)
    };
    bar.set_style(ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {percent:>3}% ETA {eta} {msg}",
    )?);
    let started = std::time::Instant::now();
    let summary = screen(
        &args.library,
        &members,
        &args.out,
        &options,
        &device,
        &mut |p| {
            bar.set_length(p.total_bytes.max(1));
            bar.set_position(p.bytes_read);
            let rate = p.rows_this_run as f64 / started.elapsed().as_secs_f64().max(1e-9);
            bar.set_message(format!(
                "{} rows, {} failed, {rate:.0} rows/s",
                p.rows_this_run, p.failed_this_run
            ));
        },
    )?;
    bar.finish_and_clear();
    print_summary(args, &summary);
    Ok(())
}

fn print_summary(args: &ScreenArgs, s: &ScreenSummary) {
    if let Some(row) = s.resumed_from {
        println!("resumed at library row {row}");
    }
    let failed: u64 = s.failed.values().sum();
    println!(
        "{} library rows read; {} in this shard: {} scored, {} failed → {}",
        s.rows_read,
        s.rows_in_shard,
        s.scored,
        failed,
        args.out.display()
    );
    for (reason, n) in &s.failed {
        println!("  failed: {n} × {reason} (reason per row in the error column)");
    }
    println!(
        "{:.1} s, {:.0} rows/s; stages: featurize {:.1} s, model {:.1} s, waiting for the \
         reader {:.1} s, writing {:.1} s (overlapped)",
        s.seconds,
        s.rows_this_run as f64 / s.seconds.max(1e-9),
        s.stages.featurize,
        s.stages.model,
        s.stages.read_wait,
        s.stages.write
    );
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
