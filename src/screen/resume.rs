//! Resumable runs. After every chunk is durable in the output, a manifest next to it records
//! how far the run got: the next library row to read, the output's length, the running counts
//! and (with a top-k selection) the rows kept so far. It is replaced atomically (write, fsync,
//! rename), so a run killed at any instant leaves either the old or the new manifest, and
//! resuming cuts the output back to the recorded length and reads on from the recorded row: no
//! row is lost or written twice.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{ScoredRow, ScreenError};

/// Version of the manifest format.
pub const MANIFEST_VERSION: u32 = 1;

/// How far an interrupted run got.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`MANIFEST_VERSION`].
    pub version: u32,
    /// What the run was: library, its size, model and options. A resume must match it.
    pub identity: String,
    /// Index of the next library row to read.
    pub next_row: u64,
    /// Progress of the output once the last completed chunk was written: a CSV/TSV file's
    /// length in bytes, or the number of finished Parquet part files ([`super::parts`]).
    pub output_bytes: u64,
    /// Library rows read (all shards).
    pub rows_read: u64,
    /// Rows of this shard processed.
    pub rows_in_shard: u64,
    /// Rows scored.
    pub scored: u64,
    /// Failed rows by reason.
    pub failed: BTreeMap<String, u64>,
    /// Scored rows by the value of the scorer's first note column.
    #[serde(default)]
    pub note_counts: BTreeMap<String, u64>,
    /// Rows kept by the top-k selection so far.
    pub top_k: Vec<ScoredRow>,
    /// Best rows per task so far (for the end-of-run report).
    pub best_per_task: Vec<Vec<ScoredRow>>,
}

/// The manifest path of an output file: `<out>.moltx-resume.json`.
pub fn manifest_path(out: &Path) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".moltx-resume.json");
    PathBuf::from(name)
}

impl Manifest {
    /// Reads the manifest of `out`, if there is one.
    pub fn load(out: &Path) -> Result<Option<Self>, ScreenError> {
        let path = manifest_path(out);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(ScreenError::Io { path, source }),
        };
        let manifest: Manifest = serde_json::from_str(&text).map_err(|e| {
            ScreenError::Resume(format!("{}: unreadable manifest: {e}", path.display()))
        })?;
        if manifest.version != MANIFEST_VERSION {
            return Err(ScreenError::Resume(format!(
                "{}: manifest version {} (this moltx writes {MANIFEST_VERSION})",
                path.display(),
                manifest.version
            )));
        }
        Ok(Some(manifest))
    }

    /// Writes the manifest of `out` atomically.
    pub fn store(&self, out: &Path) -> Result<(), ScreenError> {
        let path = manifest_path(out);
        let mut tmp = path.clone().into_os_string();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let io = |source| ScreenError::Io {
            path: path.clone(),
            source,
        };
        let bytes = serde_json::to_vec(self).map_err(|e| ScreenError::Resume(e.to_string()))?;
        let mut file = std::fs::File::create(&tmp).map_err(io)?;
        file.write_all(&bytes).map_err(io)?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)?;
        Ok(())
    }

    /// Removes the manifest of `out` (the run completed).
    pub fn remove(out: &Path) -> Result<(), ScreenError> {
        match std::fs::remove_file(manifest_path(out)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(ScreenError::Io {
                path: manifest_path(out),
                source: e,
            }),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_load_remove_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("hits.csv");
        assert_eq!(Manifest::load(&out).unwrap(), None);
        let m = Manifest {
            version: MANIFEST_VERSION,
            identity: "x".into(),
            next_row: 7,
            output_bytes: 99,
            failed: [("syntax error".to_string(), 2)].into(),
            ..Manifest::default()
        };
        m.store(&out).unwrap();
        assert_eq!(Manifest::load(&out).unwrap(), Some(m));
        Manifest::remove(&out).unwrap();
        assert_eq!(Manifest::load(&out).unwrap(), None);
    }

    #[test]
    fn a_corrupt_manifest_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("hits.csv");
        std::fs::write(manifest_path(&out), "{not json").unwrap();
        let err = Manifest::load(&out).unwrap_err().to_string();
        assert!(err.contains("unreadable manifest"), "{err}");
    }
}
