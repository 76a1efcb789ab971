//! Streaming screening of compound libraries with a trained model or ensemble.
//!
//! Three stages run at once, joined by bounded queues (two chunks each), so memory is a few
//! chunks however long the library is:
//! 1. a reader thread streams library rows (skipping rows of other shards and, when resuming,
//!    rows already done) and cuts them into chunks;
//! 2. the calling thread parses and featurizes each chunk in parallel (rayon) and runs the
//!    model forward in inference mode (no autodiff graph), batch by batch;
//! 3. a writer thread appends scored rows to the output, makes them durable, and records the
//!    progress in a manifest ([`resume`]) so an interrupted run can continue.
//!
//! Every input row of the shard yields exactly one output row, in input order; a row that
//! fails carries the reason in `error`. With a top-k selection only the K best rows are kept (a
//! bounded heap, [`topk`]) and written, best first, at the end. [`uncertain`] adds uncertainty
//! columns, a calibration and confidence-bound rankings when asked for.

pub mod output;
mod parquet_out;
pub mod parts;
pub mod resume;
mod stages;
pub mod topk;
pub mod uncertain;
mod writer;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::sync_channel;
use std::time::Instant;

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::data::{
    DataError, LibraryOptions, LibraryReader, LibraryRow, LockError, OutputLock, StopFlag,
};
pub use crate::model::scorer::score_in_batches;
use crate::model::{ScoreError, Scorer};
use output::OutputLayout;
use resume::Manifest;
use stages::{compute_chunks, read_chunks};
pub use stages::{featurize_row, prepare_row};
use topk::TopK;
pub use uncertain::{BoundSide, ConfidenceBound, UncertaintyOptions};
use writer::WriterState;

/// Why a screening run stopped.
#[derive(Debug, thiserror::Error)]
pub enum ScreenError {
    /// The library could not be read.
    #[error(transparent)]
    Data(#[from] DataError),
    /// The model could not run on a batch.
    #[error(transparent)]
    Model(#[from] ScoreError),
    /// Writing the output or the manifest failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Writing Parquet failed.
    #[error("{path}: {reason}")]
    Parquet {
        /// The file.
        path: PathBuf,
        /// The parquet crate's message.
        reason: String,
    },
    /// A resumed run could not continue the earlier run.
    #[error("cannot resume: {0}")]
    Resume(String),
    /// The top-k selection names a task the model does not have.
    #[error("the model has no task {task:?} to rank by (tasks: {})", tasks.join(", "))]
    UnknownTask {
        /// The task asked for.
        task: String,
        /// The model's tasks.
        tasks: Vec<String>,
    },
    /// Options that cannot work together.
    #[error("{0}")]
    Options(String),
    /// Another run is writing the same output.
    #[error(transparent)]
    Locked(#[from] LockError),
    /// The run was asked to stop ([`ScreenOptions::stop`]); its output resumes.
    #[error("stopped on request after {rows_read} library rows; resuming continues it")]
    Stopped {
        /// Library rows read by the last completed chunk.
        rows_read: u64,
    },
}

/// One output row.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScoredRow {
    /// 0-based library row.
    pub row: u64,
    /// The row's identifier.
    pub id: String,
    /// The SMILES as written (canonical SMILES for SDF records).
    pub smiles: String,
    /// Prediction per task (ensemble mean); empty when the row failed.
    pub values: Vec<f64>,
    /// Uncertainty per task: the scorer's spread, a standard deviation in the task's units
    /// (an ensemble's over members, MC dropout's over samples; z-scaled by a calibration);
    /// empty for scorers without one and for failed rows.
    pub stds: Vec<f64>,
    /// Conformal interval lower bounds per task (a calibration's); empty without intervals.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        with = "uncertain::bounds_serde"
    )]
    pub lower: Vec<f64>,
    /// Conformal interval upper bounds per task; empty without intervals.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        with = "uncertain::bounds_serde"
    )]
    pub upper: Vec<f64>,
    /// Conformal prediction sets per task: `"0"`, `"1"`, `"0,1"` or `""`; empty without sets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sets: Vec<String>,
    /// The scorer's note columns ([`Scorer::note_columns`]); empty when it has none or the
    /// row failed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Why the row failed, if it did.
    pub error: Option<String>,
}

/// Process only rows with `row % count == index`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This job's shard, `0..count`.
    pub index: u64,
    /// Number of shards.
    pub count: u64,
}

impl std::str::FromStr for Shard {
    type Err = String;

    /// Parses `I/N`.
    fn from_str(s: &str) -> Result<Self, String> {
        let (i, n) = s.split_once('/').ok_or("expected I/N, e.g. 0/4")?;
        let index: u64 = i
            .trim()
            .parse()
            .map_err(|_| format!("bad shard index {i:?}"))?;
        let count: u64 = n
            .trim()
            .parse()
            .map_err(|_| format!("bad shard count {n:?}"))?;
        if count == 0 || index >= count {
            return Err(format!("shard {index}/{count}: need 0 <= I < N"));
        }
        Ok(Shard { index, count })
    }
}

/// Keep only the K best rows by one task.
#[derive(Debug, Clone, PartialEq)]
pub struct TopKOption {
    /// How many rows.
    pub k: usize,
    /// The task to rank by.
    pub task: String,
    /// Lowest first instead of highest first.
    pub ascending: bool,
}

/// How to run a screen.
#[derive(Debug, Clone)]
pub struct ScreenOptions {
    /// Which columns hold the SMILES and ids.
    pub library: LibraryOptions,
    /// Rows per chunk (the unit of work, of durability and of resumption).
    pub chunk_size: usize,
    /// Molecules per forward pass.
    pub batch_size: usize,
    /// Only this shard's rows.
    pub shard: Option<Shard>,
    /// Only the K best rows.
    pub top_k: Option<TopKOption>,
    /// Continue an interrupted run.
    pub resume: bool,
    /// Best rows per task kept for the summary.
    pub report_top: usize,
    /// The summary's best rows are the lowest values (e.g. reversal scores, where the most
    /// negative reverses a disease most), not the highest.
    pub report_lowest: bool,
    /// Rows scored before the library (e.g. profiled compounds ranked on their measured
    /// signatures): written first, or offered to the top-k selection first, by a fresh run
    /// (a resumed one already has them) and only by shard 0 of a sharded run. Their `row` is
    /// their position in their own input; they are not counted in the summary's rows.
    pub leading_rows: Vec<ScoredRow>,
    /// Molecules with more heavy atoms get an error row ("too large") and are never parsed.
    pub max_heavy_atoms: usize,
    /// Raised, the run stops after the chunk in progress with [`ScreenError::Stopped`], its
    /// output resumable as after a kill.
    pub stop: Option<StopFlag>,
    /// Uncertainty columns, calibration and confidence-bound ranking (none by default).
    pub uncertainty: UncertaintyOptions,
}

impl Default for ScreenOptions {
    fn default() -> Self {
        ScreenOptions {
            library: LibraryOptions::default(),
            chunk_size: 4096,
            batch_size: 128,
            shard: None,
            top_k: None,
            resume: false,
            report_top: 3,
            report_lowest: false,
            leading_rows: Vec::new(),
            stop: None,
            max_heavy_atoms: crate::chem::DEFAULT_MAX_HEAVY_ATOMS,
            uncertainty: UncertaintyOptions::default(),
        }
    }
}

/// Seconds spent in each stage.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StageSeconds {
    /// The compute thread waiting for the reader.
    pub read_wait: f64,
    /// Parsing and featurizing (parallel).
    pub featurize: f64,
    /// Batching and the forward passes.
    pub model: f64,
    /// Writing, flushing to disk and recording progress (writer thread, overlapped).
    pub write: f64,
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct ScreenSummary {
    /// Library rows read (every shard; includes rows done before a resume).
    pub rows_read: u64,
    /// Rows of this shard (scored + failed).
    pub rows_in_shard: u64,
    /// Rows scored.
    pub scored: u64,
    /// Failed rows by reason.
    pub failed: BTreeMap<String, u64>,
    /// Scored rows by the value of the scorer's first note column (e.g. the evidence a score
    /// rests on); empty for a scorer without notes.
    pub note_counts: BTreeMap<String, u64>,
    /// Row the run resumed from, if it resumed.
    pub resumed_from: Option<u64>,
    /// Wall-clock seconds of this invocation.
    pub seconds: f64,
    /// Rows of this shard processed by this invocation.
    pub rows_this_run: u64,
    /// Time per stage.
    pub stages: StageSeconds,
    /// Best rows per task (highest prediction first), for a report.
    pub best_per_task: Vec<(String, Vec<ScoredRow>)>,
}

/// Progress reported after every chunk.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScreenProgress {
    /// Library rows read.
    pub rows_read: u64,
    /// Rows of this shard processed by this invocation.
    pub rows_this_run: u64,
    /// Rows failed so far by this invocation.
    pub failed_this_run: u64,
    /// Bytes of the library consumed.
    pub bytes_read: u64,
    /// Size of the library in bytes.
    pub total_bytes: u64,
}

/// A chunk of rows from the reader.
struct ReadChunk {
    rows: Vec<LibraryRow>,
    /// Index of the next library row after this chunk.
    next_row: u64,
}

/// A scored chunk for the writer.
struct ScoredChunk {
    rows: Vec<ScoredRow>,
    failed: BTreeMap<String, u64>,
    next_row: u64,
}

enum WriterMessage {
    Chunk(ScoredChunk),
    Finish,
}

/// Screens `library` with any [`Scorer`] (a model, an ensemble, a structure → signature
/// model, …), writing `out`: one row per input row of the shard, in order, with the scorer's
/// tasks (and `<task>_std` where it reports a spread; see [`UncertaintyOptions`] for the
/// uncertainty columns).
///
/// `progress` is called after every chunk.
pub fn screen(
    library: &Path,
    scorer: &dyn Scorer,
    out: &Path,
    options: &ScreenOptions,
    device: &Device,
    progress: &mut dyn FnMut(&ScreenProgress),
) -> Result<ScreenSummary, ScreenError> {
    let start = Instant::now();
    // Held until the run returns: a second run on the same output is refused, not interleaved.
    let _lock = OutputLock::acquire(out)?;
    let tasks = scorer.tasks().to_vec();
    let mut layout = OutputLayout {
        tasks: tasks.clone(),
        with_std: scorer.has_spread(),
        notes: scorer.note_columns().to_vec(),
        ..OutputLayout::default()
    };
    let unc = &options.uncertainty;
    unc.check(scorer, options.top_k.as_ref())?;
    unc.extend_layout(&mut layout);
    let top_k = match &options.top_k {
        Some(t) => {
            let task = tasks.iter().position(|n| *n == t.task).ok_or_else(|| {
                ScreenError::UnknownTask {
                    task: t.task.clone(),
                    tasks: tasks.clone(),
                }
            })?;
            Some(TopK::new(t.k, task, t.ascending).with_bound(unc.bound))
        }
        None => None,
    };
    let reader = LibraryReader::open(library, &options.library)?;
    let identity = run_identity(library, scorer, options)?;
    let resumed = if options.resume {
        resume_point(out, &identity)?
    } else {
        None
    };
    let report = (options.report_top, options.report_lowest);
    let mut state = WriterState::new(out, layout, top_k, report, identity);
    if let Some(m) = &resumed {
        state.restore(m);
    } else {
        Manifest::remove(out)?;
    }
    state.open(resumed.as_ref().map(|m| m.output_bytes))?;
    if resumed.is_none() && options.shard.is_none_or(|s| s.index == 0) {
        state.write_leading(&options.leading_rows)?;
    }
    let skip_to = resumed.as_ref().map_or(0, |m| m.next_row);
    let read_progress = reader.progress();

    let (read_tx, read_rx) = sync_channel::<Result<ReadChunk, DataError>>(2);
    let (write_tx, write_rx) = sync_channel::<WriterMessage>(2);
    let chunk_size = options.chunk_size.max(1);
    let shard = options.shard;
    let mut stages = StageSeconds::default();
    let mut this_run = ScreenProgress {
        total_bytes: read_progress.total_bytes,
        rows_read: skip_to,
        ..ScreenProgress::default()
    };
    let (computed, written) = std::thread::scope(|scope| {
        scope.spawn(move || read_chunks(reader, skip_to, shard, chunk_size, &read_tx));
        let writer = scope.spawn(move || state.run(&write_rx));
        let computed = compute_chunks(
            scorer,
            options,
            device,
            &read_rx,
            &write_tx,
            &mut stages,
            &mut |rows, failed, next_row| {
                this_run.rows_read = next_row;
                this_run.rows_this_run += rows;
                this_run.failed_this_run += failed;
                this_run.bytes_read = read_progress.consumed_bytes();
                progress(&this_run);
            },
        );
        if computed.is_ok() {
            // The writer completes the output only on this message; after an error the
            // manifest stays, so the run can be resumed.
            let _ = write_tx.send(WriterMessage::Finish);
        }
        drop(write_tx);
        drop(read_rx);
        let written = writer
            .join()
            .unwrap_or_else(|_| Err(ScreenError::Options("writer thread panicked".into())));
        (computed, written)
    });
    computed?;
    let (state, write_seconds) = written?;
    stages.write = write_seconds;
    Ok(ScreenSummary {
        rows_read: state.manifest.next_row,
        rows_in_shard: state.manifest.rows_in_shard,
        scored: state.manifest.scored,
        failed: state.manifest.failed.clone(),
        note_counts: state.manifest.note_counts.clone(),
        resumed_from: resumed.map(|m| m.next_row),
        seconds: start.elapsed().as_secs_f64(),
        rows_this_run: this_run.rows_this_run,
        stages,
        best_per_task: tasks
            .iter()
            .cloned()
            .zip(state.best.iter().map(TopK::sorted))
            .collect(),
    })
}

/// A string that identifies a run: the library (path and size), the models' bytes and every
/// option that changes the output. A resume must present the same identity.
fn run_identity(
    library: &Path,
    scorer: &dyn Scorer,
    options: &ScreenOptions,
) -> Result<String, ScreenError> {
    let size = std::fs::metadata(library)
        .map_err(|source| ScreenError::Io {
            path: library.to_path_buf(),
            source,
        })?
        .len();
    let model = scorer.identity().map_err(ScreenError::Options)?;
    let leading = crate::model::scorer::checksum_identity(
        &options
            .leading_rows
            .iter()
            .map(|r| serde_json::to_vec(r).unwrap_or_default())
            .collect::<Vec<_>>(),
    );
    let full = std::fs::canonicalize(library).unwrap_or_else(|_| library.to_path_buf());
    Ok(format!(
        "library={} bytes={size} models={model} smiles={:?} id={:?} shard={:?} top_k={:?} \
         chunk={} batch={} leading={leading}{}",
        full.display(),
        options.library.smiles_column,
        options.library.id_column,
        options.shard,
        options.top_k,
        options.chunk_size,
        options.batch_size,
        options.uncertainty.identity()?
    ))
}

/// The manifest to resume from, checked against this run; `None` starts afresh.
fn resume_point(out: &Path, identity: &str) -> Result<Option<Manifest>, ScreenError> {
    match Manifest::load(out)? {
        Some(m) if m.identity == identity => Ok(Some(m)),
        Some(m) => Err(ScreenError::Resume(format!(
            "{} was written by a different run ({}); this run is ({identity})",
            resume::manifest_path(out).display(),
            m.identity
        ))),
        None if out.exists() => Err(ScreenError::Resume(format!(
            "{} exists but has no progress manifest: that run completed, or stopped before its \
             first chunk",
            out.display()
        ))),
        None => Ok(None),
    }
}
