//! Output locks: two runs writing the same output would interleave their rows, so the second
//! is refused.
//!
//! A lock is an exclusive advisory lock (`flock`) on a file beside the output,
//! `<output>.moltx-lock`. The operating system releases it when the process ends, however it
//! ends, so a run killed with `kill -9` never leaves a stale lock behind; the file itself is
//! removed when the lock is dropped.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

/// Why an output could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another run holds the lock.
    #[error(
        "{output}: another moltx run is writing this output (lock {lock} is held); \
         wait for it to finish or write elsewhere"
    )]
    Held {
        /// The output.
        output: PathBuf,
        /// The lock file.
        lock: PathBuf,
    },
    /// The lock file could not be created or locked.
    #[error("{lock}: {source}")]
    Io {
        /// The lock file.
        lock: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// An exclusive lock on an output, held until dropped.
#[derive(Debug)]
pub struct OutputLock {
    file: File,
    path: PathBuf,
}

impl OutputLock {
    /// The lock file of an output (a file or a folder): `<output>.moltx-lock` beside it.
    pub fn path_for(output: &Path) -> PathBuf {
        let mut name = output.file_name().unwrap_or_default().to_os_string();
        name.push(".moltx-lock");
        output.with_file_name(name)
    }

    /// Takes the lock of `output`, or fails at once with [`LockError::Held`] when another
    /// process (or another handle in this one) holds it.
    pub fn acquire(output: &Path) -> Result<Self, LockError> {
        let path = Self::path_for(output);
        let io = |source| LockError::Io {
            lock: path.clone(),
            source,
        };
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => Ok(OutputLock { file, path }),
            Err(TryLockError::WouldBlock) => Err(LockError::Held {
                output: output.to_path_buf(),
                lock: path,
            }),
            Err(TryLockError::Error(source)) => Err(io(source)),
        }
    }
}

impl Drop for OutputLock {
    fn drop(&mut self) {
        // Remove the file while still holding the lock, then release it.
        let _ = std::fs::remove_file(&self.path);
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_output_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("hits.csv");
        let first = OutputLock::acquire(&out).unwrap();
        assert!(dir.path().join("hits.csv.moltx-lock").exists());
        let err = OutputLock::acquire(&out).unwrap_err();
        assert!(matches!(err, LockError::Held { .. }), "{err}");
        assert!(err.to_string().contains("another moltx run"), "{err}");
        // Another output is independent.
        let _other = OutputLock::acquire(&dir.path().join("other.csv")).unwrap();
        drop(first);
        assert!(!dir.path().join("hits.csv.moltx-lock").exists());
        let _again = OutputLock::acquire(&out).unwrap();
    }
}
