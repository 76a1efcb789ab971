//! The nearest-neighbour model's file (magic `MOLTXKNN`, framed and checked like model
//! files): a JSON header, then per reference its on-bit count and on-bits, then the
//! row-major targets.

use std::path::Path;

use super::neighbors::{
    MAX_FINGERPRINT_BITS, NEIGHBOR_FORMAT_VERSION, NEIGHBOR_MAGIC, NeighborHeader, NeighborModel,
};
use crate::chem::Fingerprint;
use crate::model::checkpoint::{
    CheckpointError, MAX_MORGAN_RADIUS, frame, read_file, unframe, write_file,
};

impl NeighborModel {
    /// Serializes the model: header JSON, then per reference its on-bit count and on-bits
    /// (u32 LE), then the targets (f32 LE), framed as model files are.
    pub fn to_bytes(&self) -> Result<Vec<u8>, String> {
        let header = serde_json::to_vec(&self.header).map_err(|e| e.to_string())?;
        let mut body = Vec::new();
        for f in &self.fingerprints {
            body.extend_from_slice(&(f.on_bits.len() as u32).to_le_bytes());
            for b in &f.on_bits {
                body.extend_from_slice(&b.to_le_bytes());
            }
        }
        for v in &self.targets {
            body.extend_from_slice(&v.to_le_bytes());
        }
        Ok(frame(
            NEIGHBOR_MAGIC,
            NEIGHBOR_FORMAT_VERSION,
            &header,
            &body,
        ))
    }

    /// Writes the model file (through a temporary file renamed into place).
    pub fn save(&self, path: &Path) -> Result<(), CheckpointError> {
        write_file(path, self.to_bytes())
    }

    /// Reads and checks a neighbour-model file.
    pub fn load(path: &Path) -> Result<Self, CheckpointError> {
        Self::from_bytes(&read_file(path)?, path)
    }

    /// Parses neighbour-model bytes (`path` is used in error messages only).
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self, CheckpointError> {
        let (_, header, body) = unframe(bytes, NEIGHBOR_MAGIC, &[NEIGHBOR_FORMAT_VERSION], path)?;
        let bad = |reason: String| CheckpointError::BadHeader {
            path: path.to_path_buf(),
            reason,
        };
        let header: NeighborHeader =
            serde_json::from_slice(header).map_err(|e| bad(e.to_string()))?;
        let (n, t) = (header.ids.len(), header.tasks.len());
        let c = &header.config;
        if c.radius > MAX_MORGAN_RADIUS || c.bits == 0 || c.bits > MAX_FINGERPRINT_BITS {
            return Err(bad(format!(
                "Morgan radius {} and length {} (at most {MAX_MORGAN_RADIUS} and \
                 {MAX_FINGERPRINT_BITS} bits)",
                c.radius, c.bits
            )));
        }
        if header.mean.len() != t {
            return Err(bad(format!(
                "{} mean values for {t} tasks",
                header.mean.len()
            )));
        }
        let mut words = body.chunks_exact(4).map(|c| [c[0], c[1], c[2], c[3]]);
        let short = || bad("reference data cut short".into());
        let mut fingerprints = Vec::with_capacity(n);
        for _ in 0..n {
            let count = u32::from_le_bytes(words.next().ok_or_else(short)?) as usize;
            let on_bits: Vec<u32> = (0..count)
                .map(|_| words.next().map(u32::from_le_bytes).ok_or_else(short))
                .collect::<Result<_, _>>()?;
            if on_bits.windows(2).any(|w| w[0] >= w[1])
                || on_bits.last().is_some_and(|&b| b >= header.config.bits)
            {
                return Err(bad("fingerprint bits out of order or out of range".into()));
            }
            fingerprints.push(Fingerprint {
                n_bits: header.config.bits,
                on_bits,
            });
        }
        let targets: Vec<f32> = words.by_ref().take(n * t).map(f32::from_le_bytes).collect();
        if targets.len() != n * t || words.next().is_some() || body.len() % 4 != 0 {
            return Err(bad(format!(
                "expected {} target values after the fingerprints",
                n * t
            )));
        }
        Ok(NeighborModel {
            header,
            fingerprints,
            targets,
        })
    }
}

/// True when `path` is a nearest-neighbour model file (by its magic bytes).
pub fn is_neighbor_file(path: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 8];
    path.is_file()
        && std::fs::File::open(path)
            .and_then(|mut f| f.read_exact(&mut magic))
            .is_ok()
        && &magic == NEIGHBOR_MAGIC
}
