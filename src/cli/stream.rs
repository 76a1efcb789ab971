//! Flags and the run loop shared by the commands that stream a library through a model
//! (`screen`, `predict`, `fingerprint`): one pipeline, so each has shards, resume, top-k, the
//! size limit, CSV/TSV/Parquet output and a progress bar.

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use indicatif::{ProgressBar, ProgressStyle};

use crate::data::LibraryOptions;
use crate::model::Scorer;
use crate::screen::{ScreenError, ScreenOptions, ScreenSummary, Shard, TopKOption, screen};

/// Where the library and the output are, which rows to keep, and how to stream them.
#[derive(Debug, Clone, clap::Args)]
pub struct StreamArgs {
    /// The library: .smi, .csv, .tsv, .sdf (each optionally .gz) or .parquet.
    #[arg(long, alias = "input")]
    pub library: PathBuf,
    /// Output: .csv, .tsv or .parquet.
    #[arg(long)]
    pub out: PathBuf,
    /// Keep only the K best rows (by --by), written best first at the end.
    #[arg(long, requires = "by")]
    pub top_k: Option<usize>,
    /// Task (output column) to rank by for --top-k.
    #[arg(long)]
    pub by: Option<String>,
    /// Rank lowest first.
    #[arg(long)]
    pub ascending: bool,
    /// Measured signatures keyed by the library's ids, read by a fusion model and by
    /// `indications` (compounds without one get a signature predicted from their structure).
    #[arg(long)]
    pub signatures: Option<PathBuf>,
    /// Columns, shards, resume, chunking and the size limit.
    #[command(flatten)]
    pub flow: StreamFlags,
}

/// How a library is read and streamed, shared by every command that streams one.
#[derive(Debug, Clone, clap::Args)]
pub struct StreamFlags {
    /// SMILES column (CSV/TSV/Parquet); default: the first whose name contains "smiles".
    #[arg(long)]
    pub smiles_column: Option<String>,
    /// Identifier column, or SDF data item; default: an `id`/`name`/`*_id` column, or the SDF
    /// title line.
    #[arg(long)]
    pub id_column: Option<String>,
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
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// The size limit of the library's molecules.
    #[command(flatten)]
    pub limits: super::columns::MoleculeLimitArgs,
}

impl StreamFlags {
    /// The pipeline options these flags ask for, with a top-k selection and the number of
    /// best rows per task to report.
    pub fn options(&self, top_k: Option<TopKOption>, report_top: usize) -> ScreenOptions {
        ScreenOptions {
            library: LibraryOptions {
                smiles_column: self.smiles_column.clone(),
                id_column: self.id_column.clone(),
            },
            chunk_size: self.chunk_size,
            batch_size: self.batch_size,
            shard: self.shard,
            top_k,
            resume: self.resume,
            report_top,
            max_heavy_atoms: self.limits.max_atoms,
            ..ScreenOptions::default()
        }
    }
}

/// Loads the model a streaming command names: any model file, folder or fusion folder; a
/// fusion model reads `--signatures` when given.
pub fn load_model(
    path: &std::path::Path,
    args: &StreamArgs,
    device: &Device,
) -> anyhow::Result<Box<dyn Scorer>> {
    use anyhow::Context;
    if crate::link::FusionModel::is_fusion_folder(path) {
        let mut model = crate::link::FusionModel::load(path, device)?;
        if let Some(sigs) = &args.signatures {
            let m = crate::expr::matrix::read_signatures(sigs, crate::expr::matrix::Layout::Rows)
                .with_context(|| format!("reading {}", sigs.display()))?;
            model = model.with_measured(&m);
        }
        return Ok(Box::new(model));
    }
    anyhow::ensure!(
        args.signatures.is_none(),
        "--signatures is read by fusion models (moltx train-fusion); {} is not one",
        path.display()
    );
    Ok(crate::link::load_any(path, device)?)
}

impl StreamArgs {
    /// The pipeline options these flags ask for.
    pub fn options(&self, report_top: usize) -> ScreenOptions {
        let top_k = self.top_k.zip(self.by.clone()).map(|(k, task)| TopKOption {
            k,
            task,
            ascending: self.ascending,
        });
        self.flow.options(top_k, report_top)
    }
}

/// Streams the library through `scorer` with a progress bar (unless `--quiet`).
pub fn run_stream(
    args: &StreamArgs,
    scorer: &dyn Scorer,
    report_top: usize,
    device: &Device,
) -> anyhow::Result<ScreenSummary> {
    let options = args.options(report_top);
    run_pipeline(
        &args.library,
        &args.out,
        &args.flow,
        &options,
        scorer,
        device,
    )
}

/// Streams `library` through `scorer` into `out` with `options`, showing a progress bar
/// unless `flow` says `--quiet`.
pub fn run_pipeline(
    library: &Path,
    out: &Path,
    flow: &StreamFlags,
    options: &ScreenOptions,
    scorer: &dyn Scorer,
    device: &Device,
) -> anyhow::Result<ScreenSummary> {
    let bar = if flow.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(0)
    };
    bar.set_style(ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {percent:>3}% ETA {eta} {msg}",
    )?);
    let started = std::time::Instant::now();
    let summary = screen(library, scorer, out, options, device, &mut |p| {
        bar.set_length(p.total_bytes.max(1));
        bar.set_position(p.bytes_read);
        let rate = p.rows_this_run as f64 / started.elapsed().as_secs_f64().max(1e-9);
        bar.set_message(format!(
            "{} rows, {} failed, {rate:.0} rows/s",
            p.rows_this_run, p.failed_this_run
        ));
    })
    .map_err(with_flags)?;
    bar.finish_and_clear();
    Ok(summary)
}

/// The pipeline's error in this command's terms: the flags that asked for what failed.
fn with_flags(error: ScreenError) -> anyhow::Error {
    match error {
        ScreenError::UnknownTask { task, tasks } => anyhow::anyhow!(
            "--by {task:?}: the model has no such task (tasks: {})",
            tasks.join(", ")
        ),
        e @ ScreenError::Resume(_) => anyhow::anyhow!("{e}. Drop --resume to start over"),
        other => other.into(),
    }
}

/// Prints the counts of a run into `out`: rows read, scored and failed by reason, and the
/// time spent.
pub fn print_counts(out: &Path, s: &ScreenSummary) {
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
        out.display()
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
}
