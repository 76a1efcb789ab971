//! Resume checkpoints of training: after every completed epoch the whole training state of a
//! model is written to one file, atomically, so that a run killed at any moment (`kill -9`
//! included) or stopped by a full disk continues from its last completed epoch and finishes
//! with the same model file, byte for byte, as a run never interrupted.
//!
//! A checkpoint (`OUT/resume/model_<i>.state` under `moltx train`) holds the current weights,
//! the best-so-far weights with their epoch and score, Adam's moments and step counts, the
//! learning-rate schedule's step, the training order and both random streams (shuffling and
//! dropout; the dropout seeds of data-parallel parts), and the epoch log so far. Once the model
//! file is written the checkpoint is replaced by a small completion marker (the epoch log and a
//! hash of the model file), so a finished ensemble member is loaded, not retrained. The markers
//! (about 2 KB each) stay after a successful run, so rerunning a job with resuming on only
//! reloads its models and rewrites the reports; a run without it removes them first.
//!
//! What is identical after a resume, given the same settings and thread count: the model files
//! (byte for byte), `split.csv`, and `epochs.csv` except its wall-time columns (`seconds`,
//! `molecules_per_second`: epochs restored keep the times of the run that trained them);
//! `metrics.json` except `train_seconds` and `train_molecules_per_second`.
//!
//! Layout (little-endian), as model files but with its own magic:
//!
//! | bytes | content |
//! |---|---|
//! | 8 | magic `MOLTXRES` |
//! | 4 | format version (`u32`) |
//! | 8 | header length `h` (`u64`) |
//! | h | header: JSON (settings fingerprint, epoch log, loop state, blob lengths) |
//! | 8 | blobs length `w` (`u64`) |
//! | w | blobs: current weights, best weights (burn `ModuleRecord` bytes), Adam's state (burn `OptimizerRecord` bytes), training order (`u64` each) |
//! | 4 | CRC-32 of everything before it |
//!
//! Floating-point numbers are stored as their bits, so every value round-trips exactly.
//! Each checkpoint also carries a fingerprint of the settings that must not change on resume
//! (data, split, options, architecture, seed, thread and data-parallel counts); resuming with
//! other settings is an error that names what differs.

use std::io::Write;
use std::path::{Path, PathBuf};

use burn::module::Module;

use super::averaging::WeightAverage;
use burn::optim::ModuleOptimizer;
use burn::store::ModuleRecord;
use burn::tensor::{Bytes, Device};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::trainer::{EpochRecord, TrainedModel};
use crate::kernel::KernelError;
use crate::model::checkpoint::{frame, unframe};
use crate::model::{Checkpoint, CheckpointError, ModelConfig, PropertyNet};

mod codec;
mod settings;
use codec::{RecordBits, RngState};
use settings::check;
pub use settings::{Fingerprint, data_parallel_parts, fingerprint, fnv_hex};

/// The 8 bytes every resume checkpoint starts with.
pub const STATE_MAGIC: &[u8; 8] = b"MOLTXRES";
/// The resume checkpoint format version this build writes and reads.
pub const STATE_VERSION: u32 = 1;

/// Why training (with resume checkpoints) failed.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The network failed (bad batch, kernel error).
    #[error(transparent)]
    Kernel(#[from] KernelError),
    /// Training was asked to stop ([`super::trainer::TrainOptions::stop`]) after this epoch;
    /// with a checkpoint it resumes from there.
    #[error("stopped on request after epoch {epoch}")]
    Stopped {
        /// The last completed epoch.
        epoch: usize,
    },
    /// A file could not be read or written (e.g. the disk is full).
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Settings that do not go together (e.g. a variance head on a classifier).
    #[error("{0}")]
    Settings(String),
    /// The checkpoint was written with other settings.
    #[error(
        "{path}: cannot resume: settings differ from the run that wrote it: {} \
         (rerun with the same settings, or start afresh without resuming)",
        differences.join("; ")
    )]
    Mismatch {
        /// The checkpoint.
        path: PathBuf,
        /// One `name: then, now` line per differing setting.
        differences: Vec<String>,
    },
    /// The checkpoint (or the model file it vouches for) is unreadable or inconsistent.
    #[error("{path}: unusable resume checkpoint: {reason} (delete it to train this model afresh)")]
    BadState {
        /// The checkpoint.
        path: PathBuf,
        /// The problem.
        reason: String,
    },
}

/// Where a training run keeps its resume checkpoint, and whether to continue from it.
#[derive(Debug, Clone)]
pub struct ResumeFile {
    /// The checkpoint file, rewritten after every epoch.
    pub path: PathBuf,
    /// Continue from `path` when it exists (else start afresh and overwrite it).
    pub resume: bool,
    /// The caller's settings that must match too (e.g. the split), added to the fingerprint.
    pub context: Fingerprint,
}

/// What a checkpoint says about its model (see [`inspect`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResumeStatus {
    /// Epochs completed.
    pub epochs_done: usize,
    /// The training loop has ended (last epoch, or early stopping).
    pub finished: bool,
    /// The model file is written: the checkpoint is only a completion marker.
    pub complete: bool,
}

/// The JSON header of a checkpoint.
#[derive(Debug, Serialize, Deserialize)]
struct StateHeader {
    fingerprint: Fingerprint,
    records: Vec<RecordBits>,
    best_epoch: usize,
    train_seconds: u64,
    stage: Stage,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Stage {
    /// Mid-training: the blobs hold weights, best weights, Adam's state and the order, then
    /// the averaged weights when the run averages them.
    Training {
        epoch: usize,
        step: usize,
        finished: bool,
        best: u64,
        seen: usize,
        rng: RngState,
        part_seeds: RngState,
        blobs: Vec<u64>,
        /// Steps taken into the weight average (present with its blob).
        #[serde(default)]
        average_updates: Option<u64>,
    },
    /// The model file is written; no blobs.
    Complete {
        molecules_per_second: u64,
        model_file: String,
        model_hash: String,
    },
}

/// The training loop's state between epochs (besides the weights and Adam's state).
#[derive(Debug, Clone)]
pub(crate) struct LoopState {
    /// Epochs completed.
    pub epoch: usize,
    /// Optimizer steps taken (the learning-rate schedule's position).
    pub step: usize,
    /// The loop has ended (last epoch, or early stopping).
    pub finished: bool,
    /// The training order (shuffled in place every epoch).
    pub order: Vec<usize>,
    /// Shuffling and (single-part) dropout stream.
    pub rng: ChaCha8Rng,
    /// Stream of the dropout seeds of data-parallel parts.
    pub part_seeds: ChaCha8Rng,
    /// Best selection score so far.
    pub best: f64,
    /// Epoch of `best` (0: none yet).
    pub best_epoch: usize,
    /// Seconds in training steps so far.
    pub train_seconds: f64,
    /// Training molecules seen so far.
    pub seen: usize,
    /// The epoch log so far.
    pub records: Vec<EpochRecord>,
}

/// A checkpoint read back: loop state, weights, best weights and Adam's state (burn bytes).
pub(crate) struct Restored {
    pub state: LoopState,
    pub net: PropertyNet,
    pub best_net: PropertyNet,
    pub optim: Bytes,
    /// The weight average and the steps taken into it, when the run averages.
    pub average: Option<(PropertyNet, u64)>,
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, flushed to disk,
/// then renamed over `path`. On failure (e.g. a full disk) the temporary file is removed and
/// `path` keeps its previous contents. Errors name `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), TrainError> {
    let io = |source| TrainError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let written = std::fs::File::create(&tmp).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(e));
    }
    // Make the rename itself durable (best effort: not every file system syncs folders).
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(d) = std::fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(())
}

fn bad(path: &Path, reason: impl Into<String>) -> TrainError {
    TrainError::BadState {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Reads and checks a checkpoint: its header and blobs, or `None` when the file does not exist.
fn read(path: &Path) -> Result<Option<(StateHeader, Vec<u8>)>, TrainError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(TrainError::Io {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let (_, header, blobs) = unframe(&bytes, STATE_MAGIC, &[STATE_VERSION], path).map_err(|e| {
        bad(
            path,
            match e {
                CheckpointError::BadMagic(_) => "not a moltx resume checkpoint".to_string(),
                CheckpointError::UnsupportedVersion { found, .. } => {
                    format!("format version {found} (this moltx reads {STATE_VERSION})")
                }
                CheckpointError::Truncated { reason, .. } => format!("truncated ({reason})"),
                CheckpointError::Corrupted { .. } => "checksum mismatch".to_string(),
                other => other.to_string(),
            },
        )
    })?;
    let header: StateHeader =
        serde_json::from_slice(header).map_err(|e| bad(path, format!("bad header: {e}")))?;
    Ok(Some((header, blobs.to_vec())))
}

/// The epochs done and stage of a checkpoint, or `None` when `path` does not exist.
pub fn inspect(path: &Path) -> Result<Option<ResumeStatus>, TrainError> {
    Ok(read(path)?.map(|(h, _)| match h.stage {
        Stage::Training {
            epoch, finished, ..
        } => ResumeStatus {
            epochs_done: epoch,
            finished,
            complete: false,
        },
        Stage::Complete { .. } => ResumeStatus {
            epochs_done: h.records.len(),
            finished: true,
            complete: true,
        },
    }))
}

/// Checks that the checkpoint at `path`, if any, was written with the settings `fingerprint`.
pub(crate) fn check_settings(path: &Path, fingerprint: &Fingerprint) -> Result<(), TrainError> {
    match read(path)? {
        Some((header, _)) => check(path, &header.fingerprint, fingerprint),
        None => Ok(()),
    }
}

fn module_bytes(net: &PropertyNet, path: &Path) -> Result<Vec<u8>, TrainError> {
    net.clone()
        .into_record()
        .into_bytes()
        .map(|b| b.to_vec())
        .map_err(|e| bad(path, format!("weights not recordable: {e}")))
}

fn write(path: &Path, header: &StateHeader, blobs: &[u8]) -> Result<(), TrainError> {
    let json = serde_json::to_vec(header).map_err(|e| bad(path, e.to_string()))?;
    write_atomic(path, &frame(STATE_MAGIC, STATE_VERSION, &json, blobs))
}

/// Writes the checkpoint of a model mid-training.
pub(crate) fn save_training(
    path: &Path,
    fingerprint: &Fingerprint,
    state: &LoopState,
    net: &PropertyNet,
    best_net: &PropertyNet,
    optim: &ModuleOptimizer,
    average: Option<&WeightAverage>,
) -> Result<(), TrainError> {
    let current = module_bytes(net, path)?;
    let averaged = average
        .map(|a| module_bytes(a.net(), path))
        .transpose()?
        .unwrap_or_default();
    let best = module_bytes(best_net, path)?;
    let adam = optim
        .into_bytes()
        .map_err(|e| bad(path, format!("optimizer state not recordable: {e}")))?;
    let order: Vec<u8> = state
        .order
        .iter()
        .flat_map(|&i| (i as u64).to_le_bytes())
        .collect();
    let header = StateHeader {
        fingerprint: fingerprint.clone(),
        records: state.records.iter().map(RecordBits::from).collect(),
        best_epoch: state.best_epoch,
        train_seconds: state.train_seconds.to_bits(),
        stage: Stage::Training {
            epoch: state.epoch,
            step: state.step,
            finished: state.finished,
            best: state.best.to_bits(),
            seen: state.seen,
            rng: RngState::of(&state.rng),
            part_seeds: RngState::of(&state.part_seeds),
            blobs: [current.len(), best.len(), adam.len(), order.len()]
                .into_iter()
                .chain(average.map(|_| averaged.len()))
                .map(|n| n as u64)
                .collect(),
            average_updates: average.map(WeightAverage::updates),
        },
    };
    let blobs = [&current[..], &best, &adam, &order, &averaged].concat();
    write(path, &header, &blobs)
}

/// Reads the checkpoint of a model mid-training, checking its fingerprint; `None` when the file
/// does not exist. A completion marker is an error here (its model file holds the result).
pub(crate) fn load_training(
    path: &Path,
    fingerprint: &Fingerprint,
    model: &ModelConfig,
    device: &Device,
) -> Result<Option<Restored>, TrainError> {
    let Some((header, blobs)) = read(path)? else {
        return Ok(None);
    };
    check(path, &header.fingerprint, fingerprint)?;
    let Stage::Training {
        epoch,
        step,
        finished,
        best,
        seen,
        rng,
        part_seeds,
        blobs: lengths,
        average_updates,
    } = header.stage
    else {
        return Err(bad(path, "it marks a finished model (load its model file)"));
    };
    if lengths.len() != 4 + usize::from(average_updates.is_some()) {
        return Err(bad(path, "unexpected number of blobs"));
    }
    let mut parts = Vec::with_capacity(5);
    let mut at = 0usize;
    for n in lengths {
        let end = at
            .checked_add(n as usize)
            .filter(|&e| e <= blobs.len())
            .ok_or_else(|| bad(path, "blobs shorter than the header says"))?;
        parts.push(&blobs[at..end]);
        at = end;
    }
    let load_net = |bytes: &[u8], what: &str| -> Result<PropertyNet, TrainError> {
        let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes.to_vec()))
            .map_err(|e| bad(path, format!("{what}: {e}")))?;
        PropertyNet::new(model, &mut ChaCha8Rng::seed_from_u64(0), device)
            .try_load_record(record)
            .map_err(|e| bad(path, format!("{what}: {e}")))
    };
    let net = load_net(parts[0], "weights")?;
    let best_net = load_net(parts[1], "best weights")?;
    let average = match average_updates {
        Some(updates) => Some((load_net(parts[4], "averaged weights")?, updates)),
        None => None,
    };
    let order: Vec<usize> = parts[3]
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap_or_default()) as usize)
        .collect();
    let rng_err = || bad(path, "unreadable random stream state");
    Ok(Some(Restored {
        state: LoopState {
            epoch,
            step,
            finished,
            order,
            rng: rng.restore().ok_or_else(rng_err)?,
            part_seeds: part_seeds.restore().ok_or_else(rng_err)?,
            best: f64::from_bits(best),
            best_epoch: header.best_epoch,
            train_seconds: f64::from_bits(header.train_seconds),
            seen,
            records: header.records.iter().map(EpochRecord::from).collect(),
        },
        net,
        best_net,
        optim: Bytes::from_bytes_vec(parts[2].to_vec()),
        average,
    }))
}

/// Adam's state read back from a checkpoint (`path` names it in errors).
pub(crate) fn restore_optimizer(
    path: &Path,
    optim: ModuleOptimizer,
    bytes: Bytes,
) -> Result<ModuleOptimizer, TrainError> {
    optim
        .from_bytes(bytes)
        .map_err(|e| bad(path, format!("optimizer state: {e}")))
}

/// Replaces a model's checkpoint by a small completion marker once its model file
/// (`model_bytes`, written to `model_file`) is on disk.
pub(crate) fn mark_complete(
    path: &Path,
    fingerprint: &Fingerprint,
    trained: &TrainedModel,
    model_file: &Path,
    model_bytes: &[u8],
) -> Result<(), TrainError> {
    let header = StateHeader {
        fingerprint: fingerprint.clone(),
        records: trained.epochs.iter().map(RecordBits::from).collect(),
        best_epoch: trained.best_epoch,
        train_seconds: trained.train_seconds.to_bits(),
        stage: Stage::Complete {
            molecules_per_second: trained.molecules_per_second.to_bits(),
            model_file: model_file
                .file_name()
                .map_or(String::new(), |n| n.to_string_lossy().into_owned()),
            model_hash: fnv_hex([model_bytes]),
        },
    };
    write(path, &header, &[])
}

/// The finished model a completion marker vouches for, loaded from `model_file` (whose bytes
/// must be the ones the marker hashed); `None` when `path` does not exist or holds a model
/// mid-training.
pub(crate) fn load_complete(
    path: &Path,
    fingerprint: &Fingerprint,
    model_file: &Path,
    device: &Device,
) -> Result<Option<TrainedModel>, TrainError> {
    let Some((header, _)) = read(path)? else {
        return Ok(None);
    };
    check(path, &header.fingerprint, fingerprint)?;
    let Stage::Complete {
        molecules_per_second,
        model_hash,
        ..
    } = header.stage
    else {
        return Ok(None);
    };
    let bytes = std::fs::read(model_file).map_err(|e| {
        bad(
            path,
            format!("its model {} is unreadable: {e}", model_file.display()),
        )
    })?;
    if fnv_hex([&bytes[..]]) != model_hash {
        return Err(bad(
            path,
            format!(
                "{} is not the model file this run wrote",
                model_file.display()
            ),
        ));
    }
    let checkpoint =
        Checkpoint::from_bytes(&bytes, model_file, device).map_err(|e| bad(path, e.to_string()))?;
    Ok(Some(TrainedModel {
        checkpoint,
        epochs: header.records.iter().map(EpochRecord::from).collect(),
        best_epoch: header.best_epoch,
        train_seconds: f64::from_bits(header.train_seconds),
        molecules_per_second: f64::from_bits(molecules_per_second),
        steps: Vec::new(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_or_keeps() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.state");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        // A write into a missing folder fails, names the file and leaves no temporary file.
        let missing = dir.path().join("no/such.state");
        let err = write_atomic(&missing, b"x").unwrap_err().to_string();
        assert!(err.contains("such.state"), "{err}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn mismatch_names_each_setting() {
        let then: Fingerprint = [("epochs", "5"), ("seed", "0"), ("gone", "x")]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into_iter()
            .collect();
        let mut now = then.clone();
        now.insert("epochs".into(), "6".into());
        now.remove("gone");
        let err = check(Path::new("m.state"), &then, &now)
            .unwrap_err()
            .to_string();
        assert!(err.contains("epochs: 5 then, 6 now"), "{err}");
        assert!(err.contains("gone: x then, (none) now"), "{err}");
        assert!(!err.contains("seed"), "{err}");
        assert!(check(Path::new("m.state"), &then, &then).is_ok());
    }
}
