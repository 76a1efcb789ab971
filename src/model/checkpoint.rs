//! Model files: one self-describing artifact per model.
//!
//! Layout (little-endian):
//!
//! | bytes | content |
//! |---|---|
//! | 8 | magic `MOLTXMDL` |
//! | 4 | format version (`u32`) |
//! | 8 | header length `h` (`u64`) |
//! | h | header: JSON [`CheckpointHeader`] |
//! | 8 | weights length `w` (`u64`) |
//! | w | weights: burn's `ModuleRecord` bytes |
//! | 4 | CRC-32 of everything before it |
//!
//! Loading checks magic, version, lengths, checksum, header fields and the feature layout, and
//! names the problem when any check fails.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::store::ModuleRecord;
use burn::tensor::{Bytes, Device};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::config::{ModelConfig, TaskType};
use super::descriptors::DescriptorFeatures;
use super::input_spec::{FeatureSpec, InputSpec};
use super::net::PropertyNet;
use crate::chem::FeatureLayout;
use crate::chem::featurize::chemprop_v2_layout;

/// The 8 bytes every model file starts with.
pub const MAGIC: &[u8; 8] = b"MOLTXMDL";
/// The format version this build writes. Version 2 added the optional `model.descriptors`
/// header field (molecule-level descriptor features and their scaling); version 1 files are
/// version 2 files without it. Version 3 added the optional `model.feature_encoder` field
/// (an encoder of those features, e.g. a signature encoder); version 2 files lack it.
/// Version 4 added `input_spec`, what the model reads ([`InputSpec`]); for older files it is
/// derived from the architecture on load.
pub const FORMAT_VERSION: u32 = 4;
/// The format version of a model with a variance head: version 5 added `model.head`
/// ([`super::config::HeadKind`]; absent: a point head), so that a build reading only
/// versions up to 4 refuses such a file instead of misreading its outputs. Point-head models
/// are still written as version 4, byte for byte as before.
pub const VARIANCE_HEAD_VERSION: u32 = 5;
/// Format versions this build reads.
pub const READABLE_VERSIONS: &[u32] = &[1, 2, 3, 4, 5];

/// The format version a model of this architecture is written with: [`FORMAT_VERSION`],
/// or [`VARIANCE_HEAD_VERSION`] for a variance head.
pub fn format_version_of(model: &ModelConfig) -> u32 {
    if model.head.is_point() {
        FORMAT_VERSION
    } else {
        VARIANCE_HEAD_VERSION
    }
}

/// Per-task standardization of regression targets: `y = ŷ·sd + mean`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetScaling {
    /// Training-set mean of each task.
    pub mean: Vec<f64>,
    /// Training-set standard deviation of each task (1 where it was 0).
    pub sd: Vec<f64>,
}

/// Everything about a model except its weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointHeader {
    /// File format version.
    pub format_version: u32,
    /// moltx version that wrote the file.
    pub moltx_version: String,
    /// Feature layout the model was trained on.
    pub feature_layout: FeatureLayout,
    /// Architecture.
    pub model: ModelConfig,
    /// Regression or classification.
    pub task_type: TaskType,
    /// Task names, in output order.
    pub tasks: Vec<String>,
    /// Target standardization (regression only).
    pub target_scaling: Option<TargetScaling>,
    /// FNV-1a hash of the training SMILES and labels.
    pub training_data_hash: String,
    /// Seed of this model.
    pub seed: u64,
    /// Metrics at the best epoch (free-form JSON).
    pub metrics: serde_json::Value,
    /// What the model reads. Files before version 4 lack it; loading fills it in from the
    /// architecture, and refuses a file whose stated spec contradicts its architecture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_spec: Option<InputSpec>,
}

impl CheckpointHeader {
    /// The header of a model file, without building its network (the file's framing and
    /// checksum are checked, its weights are not read into a model).
    pub fn read(path: &Path) -> Result<Self, CheckpointError> {
        let bytes = read_file(path)?;
        let (_, header, _) = unframe(&bytes, MAGIC, READABLE_VERSIONS, path)?;
        serde_json::from_slice(header).map_err(|e| CheckpointError::BadHeader {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
    }
}

/// A loaded (or trained) model: header plus network.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    /// Metadata.
    pub header: CheckpointHeader,
    /// Weights.
    pub net: PropertyNet,
}

/// Why a model file could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// File system error.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Not a moltx model file.
    #[error("{0}: not a moltx model file (bad magic bytes)")]
    BadMagic(PathBuf),
    /// Written by an unknown format version.
    #[error(
        "{path}: model format version {found} is not supported (this moltx reads {supported:?})"
    )]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// Version in the file.
        found: u32,
        /// Versions this build reads.
        supported: Vec<u32>,
    },
    /// Shorter than its lengths say.
    #[error("{path}: truncated model file ({reason})")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Which part is missing.
        reason: String,
    },
    /// Contents changed after writing.
    #[error("{path}: corrupted model file (checksum {found:08x}, expected {expected:08x})")]
    Corrupted {
        /// The file.
        path: PathBuf,
        /// Checksum computed.
        found: u32,
        /// Checksum stored.
        expected: u32,
    },
    /// The JSON header is not valid.
    #[error("{path}: bad model header: {reason}")]
    BadHeader {
        /// The file.
        path: PathBuf,
        /// The problem.
        reason: String,
    },
    /// The model was trained on other features than this build computes.
    #[error(
        "{path}: feature layout mismatch: the model expects {expected}, this moltx computes {found}"
    )]
    LayoutMismatch {
        /// The file.
        path: PathBuf,
        /// Layout in the file.
        expected: String,
        /// Layout of this build.
        found: String,
    },
    /// The weights do not fit the architecture in the header.
    #[error("{path}: weights do not match the model: {reason}")]
    Weights {
        /// The file.
        path: PathBuf,
        /// burn's message.
        reason: String,
    },
}

fn layout_name(l: &FeatureLayout) -> String {
    format!(
        "{} v{} ({} atom / {} bond features)",
        l.name, l.version, l.atom_dim, l.bond_dim
    )
}

impl Checkpoint {
    /// Serializes the model to bytes in the layout above.
    pub fn to_bytes(&self) -> Result<Vec<u8>, String> {
        let header = serde_json::to_vec(&self.header).map_err(|e| e.to_string())?;
        let weights = self
            .net
            .clone()
            .into_record()
            .into_bytes()
            .map_err(|e| e.to_string())?;
        let version = format_version_of(&self.header.model);
        Ok(frame(MAGIC, version, &header, &weights))
    }

    /// Writes the model file (through a temporary file renamed into place).
    pub fn save(&self, path: &Path) -> Result<(), CheckpointError> {
        write_file(path, self.to_bytes())
    }

    /// Reads and checks a model file, placing its weights on `device`.
    pub fn load(path: &Path, device: &Device) -> Result<Self, CheckpointError> {
        Self::from_bytes(&read_file(path)?, path, device)
    }

    /// Parses model-file bytes (`path` is used in error messages only).
    pub fn from_bytes(bytes: &[u8], path: &Path, device: &Device) -> Result<Self, CheckpointError> {
        let p = || path.to_path_buf();
        let (_, header_bytes, weights) = unframe(bytes, MAGIC, READABLE_VERSIONS, path)?;
        let mut header: CheckpointHeader =
            serde_json::from_slice(header_bytes).map_err(|e| CheckpointError::BadHeader {
                path: p(),
                reason: e.to_string(),
            })?;
        let ours = chemprop_v2_layout();
        if header.feature_layout != ours {
            return Err(CheckpointError::LayoutMismatch {
                path: p(),
                expected: layout_name(&header.feature_layout),
                found: layout_name(&ours),
            });
        }
        let derived = InputSpec::of_model(&header.model, &header.feature_layout);
        match &header.input_spec {
            Some(stated) if *stated != derived => {
                return Err(CheckpointError::BadHeader {
                    path: p(),
                    reason: format!(
                        "the stated input ({}) is not what the architecture reads ({})",
                        stated.describe(),
                        derived.describe()
                    ),
                });
            }
            Some(_) => {}
            None => header.input_spec = Some(derived),
        }
        if header.model.n_tasks != header.tasks.len() {
            return Err(CheckpointError::BadHeader {
                path: p(),
                reason: format!(
                    "{} outputs but {} task names",
                    header.model.n_tasks,
                    header.tasks.len()
                ),
            });
        }
        if header.model.head.has_variance() && header.task_type != TaskType::Regression {
            return Err(CheckpointError::BadHeader {
                path: p(),
                reason: format!(
                    "a {} head predicts a regression's variance; this model is a classifier",
                    header.model.head.name()
                ),
            });
        }
        if let Some(s) = &header.target_scaling
            && (s.mean.len() != header.tasks.len() || s.sd.len() != header.tasks.len())
        {
            return Err(CheckpointError::BadHeader {
                path: p(),
                reason: format!(
                    "target scaling has {} means and {} standard deviations for {} tasks",
                    s.mean.len(),
                    s.sd.len(),
                    header.tasks.len()
                ),
            });
        }
        if header.model.morgan_radius > MAX_MORGAN_RADIUS {
            return Err(CheckpointError::BadHeader {
                path: p(),
                reason: format!(
                    "Morgan radius {} (at most {MAX_MORGAN_RADIUS})",
                    header.model.morgan_radius
                ),
            });
        }
        if let Some(e) = &header.model.feature_encoder
            && e.passthrough > header.model.descriptor_dim()
        {
            return Err(CheckpointError::BadHeader {
                path: p(),
                reason: format!(
                    "{} features bypass the feature encoder, the model reads {}",
                    e.passthrough,
                    header.model.descriptor_dim()
                ),
            });
        }
        if header.model.depth > MAX_DEPTH {
            return Err(CheckpointError::BadHeader {
                path: p(),
                reason: format!(
                    "{} message-passing steps (at most {MAX_DEPTH})",
                    header.model.depth
                ),
            });
        }
        if let Some(features) = &header.model.descriptors {
            // Computed descriptors must be computed the same way here; supplied values (a
            // signature) need only a scaling of the right length.
            let ours = match header.input_spec() {
                InputSpec {
                    features: Some(FeatureSpec::Supplied { .. }),
                    ..
                } => features.clone(),
                _ => DescriptorFeatures::by_name(&features.generator)
                    .map_err(|reason| CheckpointError::BadHeader { path: p(), reason })?,
            };
            let d = features.len();
            if ours.names != features.names || features.mean.len() != d || features.sd.len() != d {
                return Err(CheckpointError::BadHeader {
                    path: p(),
                    reason: format!(
                        "the model reads {d} {} descriptors that this RDKit build does not \
                         compute the same way ({} here)",
                        features.generator,
                        ours.len()
                    ),
                });
            }
        }
        check_network_size(net_size(&header.model), weights, path)?;
        let weights_err = |reason: String| CheckpointError::Weights { path: p(), reason };
        let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(weights.to_vec()))
            .map_err(|e| weights_err(e.to_string()))?;
        let skeleton = PropertyNet::new(&header.model, &mut ChaCha8Rng::seed_from_u64(0), device);
        let net = skeleton
            .try_load_record(record)
            .map_err(|e| weights_err(e.to_string()))?;
        Ok(Checkpoint { header, net })
    }
}

/// Most message-passing steps a model file may ask for (chemprop uses 3; the steps run on
/// every prediction, so a corrupt count would make every prediction hang).
pub const MAX_DEPTH: usize = 1000;

/// Largest Morgan radius a model file may ask for (ECFP4 is 2; RDKit runs one pass per
/// radius step on every molecule, so a corrupt radius of 10⁹ made every prediction hang).
pub const MAX_MORGAN_RADIUS: u32 = 64;

/// A lower bound on the serialized size of a linear layer `d_in → d_out` in weight units
/// (one per weight, one for the layer); `None` on overflow.
pub(crate) fn linear_size(d_in: usize, d_out: usize) -> Option<u64> {
    (d_in as u64).checked_mul(d_out as u64)?.checked_add(1)
}

/// [`linear_size`] of a feed-forward network `d_in → hidden (× n_hidden) → d_out`.
pub(crate) fn ffn_size(d_in: usize, hidden: usize, n_hidden: usize, d_out: usize) -> Option<u64> {
    if n_hidden == 0 {
        return linear_size(d_in, d_out);
    }
    let first = linear_size(d_in, hidden)?;
    let middle = linear_size(hidden, hidden)?.checked_mul(n_hidden as u64 - 1)?;
    first
        .checked_add(middle)?
        .checked_add(linear_size(hidden, d_out)?)
}

/// A lower bound on the size of the network a model header describes ([`linear_size`]).
fn net_size(config: &ModelConfig) -> Option<u64> {
    let layout = chemprop_v2_layout();
    let (atom, bond, h) = (layout.atom_dim, layout.bond_dim, config.hidden);
    let encoder = match config.kind {
        super::config::ModelKind::Dmpnn => linear_size(atom.checked_add(bond)?, h)?
            .checked_add(linear_size(h, h)?)?
            .checked_add(linear_size(atom.checked_add(h)?, h)?)?,
        _ => 0,
    };
    let head_in = config
        .embedding_dim()
        .checked_add(config.head_feature_dim())?;
    let head = ffn_size(
        head_in,
        config.ffn_hidden,
        config.ffn_layers,
        config.n_outputs(),
    )?;
    let features = match &config.feature_encoder {
        Some(e) => {
            let d_in = config.descriptor_dim().saturating_sub(e.passthrough);
            ffn_size(d_in, e.hidden, e.layers, e.embedding)?
        }
        None => 0,
    };
    encoder.checked_add(head)?.checked_add(features)
}

/// Refuses a header whose network could not fit in its weights (at least two bytes per
/// weight and per layer): the header's widths and layer counts would otherwise size the
/// allocation of the skeleton network before the weights are read.
pub(crate) fn check_network_size(
    size: Option<u64>,
    weights: &[u8],
    path: &Path,
) -> Result<(), CheckpointError> {
    let available = weights.len() as u64 / 2;
    match size {
        Some(n) if n <= available => Ok(()),
        _ => Err(CheckpointError::BadHeader {
            path: path.to_path_buf(),
            reason: format!(
                "the architecture needs {} weights, more than the {} weight bytes can hold",
                size.map_or("over 2^64".to_string(), |n| n.to_string()),
                weights.len()
            ),
        }),
    }
}

/// Writes serialized bytes through a temporary file renamed into place.
pub(crate) fn write_file(
    path: &Path,
    bytes: Result<Vec<u8>, String>,
) -> Result<(), CheckpointError> {
    let io = |source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    };
    let bytes = bytes.map_err(|reason| CheckpointError::Weights {
        path: path.to_path_buf(),
        reason,
    })?;
    let tmp = path.with_extension("moltx.tmp");
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// Reads a whole file, naming it on failure.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>, CheckpointError> {
    std::fs::read(path).map_err(|source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Frames a file in the layout above: magic, version, header, weights, CRC-32.
pub(crate) fn frame(magic: &[u8; 8], version: u32, header: &[u8], weights: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 + header.len() + weights.len());
    out.extend_from_slice(magic);
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&(header.len() as u64).to_le_bytes());
    out.extend_from_slice(header);
    out.extend_from_slice(&(weights.len() as u64).to_le_bytes());
    out.extend_from_slice(weights);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Checks magic, version, lengths and checksum of a framed file and returns its version,
/// header bytes and weight bytes.
pub(crate) fn unframe<'a>(
    bytes: &'a [u8],
    magic: &[u8; 8],
    readable: &[u32],
    path: &Path,
) -> Result<(u32, &'a [u8], &'a [u8]), CheckpointError> {
    let p = || path.to_path_buf();
    let truncated = |reason: &str| CheckpointError::Truncated {
        path: p(),
        reason: reason.to_string(),
    };
    if bytes.len() < 8 || &bytes[..8] != magic {
        return Err(if bytes.len() < 8 && magic.starts_with(bytes) {
            truncated("shorter than the magic bytes")
        } else {
            CheckpointError::BadMagic(p())
        });
    }
    let version = u32::from_le_bytes(read_array(bytes, 8).ok_or_else(|| truncated("no version"))?);
    if !readable.contains(&version) {
        return Err(CheckpointError::UnsupportedVersion {
            path: p(),
            found: version,
            supported: readable.to_vec(),
        });
    }
    let header_len =
        u64::from_le_bytes(read_array(bytes, 12).ok_or_else(|| truncated("no header length"))?)
            as usize;
    let header_end = 20usize
        .checked_add(header_len)
        .filter(|&e| e <= bytes.len())
        .ok_or_else(|| truncated("header cut short"))?;
    let weights_len = u64::from_le_bytes(
        read_array(bytes, header_end).ok_or_else(|| truncated("no weights length"))?,
    ) as usize;
    let weights_start = header_end + 8;
    let weights_end = weights_start
        .checked_add(weights_len)
        .filter(|&e| e + 4 <= bytes.len())
        .ok_or_else(|| truncated("weights cut short"))?;
    let expected =
        u32::from_le_bytes(read_array(bytes, weights_end).ok_or_else(|| truncated("no checksum"))?);
    let found = crc32fast::hash(&bytes[..weights_end]);
    if found != expected {
        return Err(CheckpointError::Corrupted {
            path: p(),
            found,
            expected,
        });
    }
    Ok((
        version,
        &bytes[20..header_end],
        &bytes[weights_start..weights_end],
    ))
}

fn read_array<const N: usize>(bytes: &[u8], at: usize) -> Option<[u8; N]> {
    bytes.get(at..at.checked_add(N)?)?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the fuzz campaign (`tests/fuzz.rs`, `model`): a header with `"hidden":
    /// 4294967296` (or a huge `ffn_layers`, `morgan_bits`, `n_tasks`) made the loader build a
    /// skeleton network of that size before looking at the weights: a 51 GB allocation, or
    /// a multiplication overflow.
    #[test]
    fn a_header_asking_for_more_weights_than_the_file_holds_is_refused() {
        let path = Path::new("fixtures/models/format_v1_small.moltx");
        let bytes = std::fs::read(path).unwrap();
        let (version, header, weights) = unframe(&bytes, MAGIC, READABLE_VERSIONS, path).unwrap();
        let mut json: serde_json::Value = serde_json::from_slice(header).unwrap();
        let device = Device::default();
        // The fixture itself fits.
        let small = net_size(&serde_json::from_value(json["model"].clone()).unwrap()).unwrap();
        assert!(
            small <= weights.len() as u64 / 2,
            "{small} vs {}",
            weights.len()
        );
        for (field, value) in [
            ("hidden", serde_json::json!(4294967296u64)),
            ("ffn_layers", serde_json::json!(u64::MAX)),
            ("ffn_hidden", serde_json::json!(1u64 << 40)),
        ] {
            let mut bad = json.clone();
            bad["model"][field] = value;
            let framed = frame(MAGIC, version, &serde_json::to_vec(&bad).unwrap(), weights);
            let err = Checkpoint::from_bytes(&framed, path, &device).unwrap_err();
            assert!(
                matches!(err, CheckpointError::BadHeader { .. }),
                "{field}: {err}"
            );
        }
        json["model"]["hidden"] = serde_json::json!(16);
        // Found next, once the campaign predicted with every model it loaded: target scaling
        // shorter than the outputs panicked in prediction (index out of bounds). The depth cap
        // guards the same way against a count that would make every prediction loop.
        let mut scaled = json.clone();
        scaled["target_scaling"] = serde_json::json!({"mean": [0.0], "sd": []});
        let mut deep = json.clone();
        deep["model"]["depth"] = serde_json::json!(4294967296u64);
        // And a Morgan radius of 10⁹ (RDKit then fingerprints without end).
        let mut wide = json.clone();
        wide["model"]["morgan_radius"] = serde_json::json!(1_000_000_000u32);
        for bad in [scaled, deep, wide] {
            let framed = frame(MAGIC, version, &serde_json::to_vec(&bad).unwrap(), weights);
            let err = Checkpoint::from_bytes(&framed, path, &device).unwrap_err();
            assert!(matches!(err, CheckpointError::BadHeader { .. }), "{err}");
        }
        let framed = frame(MAGIC, version, &serde_json::to_vec(&json).unwrap(), weights);
        assert!(Checkpoint::from_bytes(&framed, path, &device).is_ok());
    }
}
