//! Why a registry could not be read, a dataset fetched or verified, or a data folder found.

use std::path::PathBuf;

use crate::data::LockError;

/// Errors of the reference-data registry, its downloads and its cache.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// A registry file is not valid JSON of the registry's shape.
    #[error("registry {origin}: {reason}")]
    Parse {
        /// Where the registry came from (a file, or "built-in").
        origin: String,
        /// What is wrong.
        reason: String,
    },
    /// A registry parses but breaks a rule (duplicate names, unsafe paths, bad checksums).
    #[error("registry {origin}: {reason}")]
    Invalid {
        /// Where the registry came from.
        origin: String,
        /// What is wrong.
        reason: String,
    },
    /// No dataset of that name.
    #[error("no dataset named {name:?} (datasets: {known})")]
    UnknownDataset {
        /// The name asked for.
        name: String,
        /// The registry's names, comma-separated.
        known: String,
    },
    /// A file or folder could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// An HTTP request failed (connection, status, or a body cut short).
    #[error("{url}: {reason} (downloading {path})")]
    Http {
        /// The URL.
        url: String,
        /// The file being written.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// A fetched file has the wrong size; it was removed.
    #[error("{path}: {actual} bytes from {source_name}, expected {expected}; the file was removed")]
    SizeMismatch {
        /// The file in the cache.
        path: PathBuf,
        /// Where it came from (URL or local file).
        source_name: String,
        /// The registry's size.
        expected: u64,
        /// The size received.
        actual: u64,
    },
    /// A fetched file's SHA-256 differs from the registry's; it was removed.
    #[error(
        "{path}: checksum mismatch for the file from {source_name} (sha256 {actual}, expected \
         {expected}); the file was removed"
    )]
    ChecksumMismatch {
        /// The file in the cache.
        path: PathBuf,
        /// Where it came from (URL or local file).
        source_name: String,
        /// The registry's SHA-256.
        expected: String,
        /// The SHA-256 of what arrived.
        actual: String,
    },
    /// Files with no public download (made locally): they can only come from a local folder.
    #[error(
        "dataset {dataset}: {} {} no public source (made locally, not downloadable); fill {} \
         from a local folder that has {}",
        paths.join(", "),
        if paths.len() == 1 { "has" } else { "have" },
        if paths.len() == 1 { "it" } else { "them" },
        if paths.len() == 1 { "it" } else { "them" }
    )]
    NoSource {
        /// The dataset.
        dataset: String,
        /// The files without a URL.
        paths: Vec<String>,
    },
    /// The local folder a fetch copies from lacks a file.
    #[error("{path}: not found (dataset {dataset} needs it)")]
    MissingInSource {
        /// The missing file in the source folder.
        path: PathBuf,
        /// The dataset.
        dataset: String,
    },
    /// The needed datasets are in no data folder searched.
    #[error(
        "reference data missing: {} not in {}; run `{command}`",
        missing.join(", "),
        searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(" nor in ")
    )]
    MissingData {
        /// The datasets missing from the cache.
        missing: Vec<String>,
        /// The folders searched, in order.
        searched: Vec<PathBuf>,
        /// The command that fills the cache (`moltx data fetch NAME…`).
        command: String,
    },
    /// A data folder given explicitly is not a folder.
    #[error("{path}: not a data folder (no such directory)")]
    NotADirectory {
        /// The path given.
        path: PathBuf,
    },
    /// No cache folder could be named: neither `MOLTX_DATA`, `XDG_CACHE_HOME` nor `HOME` is
    /// set.
    #[error("no cache folder: set MOLTX_DATA (or XDG_CACHE_HOME or HOME)")]
    NoCacheDir,
    /// Another run is fetching the same file.
    #[error(transparent)]
    Locked(#[from] LockError),
}

impl RegistryError {
    /// An I/O error on a path.
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| RegistryError::Io { path, source }
    }
}
