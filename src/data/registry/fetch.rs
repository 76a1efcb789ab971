//! Filling a data folder (the cache) with a dataset's files, from their public sources or from
//! a local folder, each checked against the registry's size and SHA-256 before it takes its
//! name: a file in the cache under its own name has been verified.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::hash::sha256_file;
use super::http::download;
use super::{DataFile, Dataset, RegistryError};
use crate::data::OutputLock;

/// Where a fetch takes files from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source<'a> {
    /// Each file's public URL.
    Remote,
    /// A local folder in the same layout (an air-gapped site's copy, `../shared/data`).
    Dir(&'a Path),
}

/// What happened to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileOutcome {
    /// It was already in the cache, verified.
    Present,
    /// It was downloaded (or its download completed).
    Downloaded,
    /// It was copied from a local folder.
    Copied,
}

/// What a fetch reports as it goes.
#[derive(Debug, Clone, Copy)]
pub enum FetchEvent<'a> {
    /// A file starts: `held` bytes are already there (a partial download resumed).
    Start {
        /// The file.
        file: &'a DataFile,
        /// Bytes already held.
        held: u64,
    },
    /// Bytes of the current file held so far.
    Bytes(u64),
    /// The current file is being checked (SHA-256).
    Verifying(&'a DataFile),
    /// A file is done.
    Done {
        /// The file.
        file: &'a DataFile,
        /// What happened.
        outcome: FileOutcome,
    },
}

/// The files of a dataset fetched into a folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchReport {
    /// The dataset.
    pub dataset: String,
    /// Each file's path in the folder and what happened to it.
    pub files: Vec<(PathBuf, FileOutcome)>,
}

impl FetchReport {
    /// Whether any file was new (downloaded or copied).
    pub fn fetched_any(&self) -> bool {
        self.files.iter().any(|(_, o)| *o != FileOutcome::Present)
    }
}

/// Fetches every file of `dataset` into the folder `cache` from `source`. Files already there
/// and verified are kept; a file that fails its check is removed and is an error. With
/// [`Source::Remote`], files without a public URL are skipped and reported together at the
/// end ([`RegistryError::NoSource`]) after the others are fetched.
pub fn fetch_dataset(
    dataset: &Dataset,
    cache: &Path,
    source: Source<'_>,
    progress: &mut dyn FnMut(FetchEvent<'_>),
) -> Result<FetchReport, RegistryError> {
    let mut report = FetchReport {
        dataset: dataset.name.clone(),
        files: Vec::new(),
    };
    let mut no_source = Vec::new();
    for file in &dataset.files {
        if source == Source::Remote && file.url.is_none() {
            let target = cache.join(&file.path);
            if verified(file, &target)? {
                progress(FetchEvent::Done {
                    file,
                    outcome: FileOutcome::Present,
                });
                report.files.push((target, FileOutcome::Present));
            } else {
                no_source.push(file.path.clone());
            }
            continue;
        }
        let outcome = fetch_file(dataset, file, cache, source, progress)?;
        report.files.push((cache.join(&file.path), outcome));
    }
    if no_source.is_empty() {
        Ok(report)
    } else {
        Err(RegistryError::NoSource {
            dataset: dataset.name.clone(),
            paths: no_source,
        })
    }
}

/// One file: kept when verified, else fetched into `<file>.part`, checked, renamed.
fn fetch_file(
    dataset: &Dataset,
    file: &DataFile,
    cache: &Path,
    source: Source<'_>,
    progress: &mut dyn FnMut(FetchEvent<'_>),
) -> Result<FileOutcome, RegistryError> {
    let target = cache.join(&file.path);
    let parent = target.parent().unwrap_or(cache);
    std::fs::create_dir_all(parent).map_err(RegistryError::io(parent))?;
    let _lock = OutputLock::acquire(&target)?;
    if verified(file, &target)? {
        progress(FetchEvent::Done {
            file,
            outcome: FileOutcome::Present,
        });
        return Ok(FileOutcome::Present);
    }
    if target.exists() {
        // Not what the registry names (an older version, or damaged): fetch it again.
        std::fs::remove_file(&target).map_err(RegistryError::io(&target))?;
    }
    let part = part_path(&target);
    let (outcome, source_name) = match source {
        Source::Remote => {
            let url = file.url.as_deref().unwrap_or_default();
            let held = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
            progress(FetchEvent::Start {
                file,
                held: held.min(file.bytes),
            });
            download(url, &part, file.bytes, &mut |n| {
                progress(FetchEvent::Bytes(n))
            })?;
            (FileOutcome::Downloaded, url.to_string())
        }
        Source::Dir(dir) => {
            let from = dir.join(&file.path);
            if !from.is_file() {
                return Err(RegistryError::MissingInSource {
                    path: from,
                    dataset: dataset.name.clone(),
                });
            }
            progress(FetchEvent::Start { file, held: 0 });
            copy(&from, &part, &mut |n| progress(FetchEvent::Bytes(n)))?;
            (FileOutcome::Copied, from.display().to_string())
        }
    };
    progress(FetchEvent::Verifying(file));
    check(file, &part, &source_name)?;
    std::fs::rename(&part, &target).map_err(RegistryError::io(&target))?;
    progress(FetchEvent::Done { file, outcome });
    Ok(outcome)
}

/// `<file>.part`, where a file is written until it is verified.
pub fn part_path(target: &Path) -> PathBuf {
    let mut name = target.file_name().unwrap_or_default().to_os_string();
    name.push(".part");
    target.with_file_name(name)
}

/// Whether `path` is the registry's file: its size, then its SHA-256.
fn verified(file: &DataFile, path: &Path) -> Result<bool, RegistryError> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() && m.len() == file.bytes => {
            Ok(sha256_file(path).map_err(RegistryError::io(path))? == file.sha256)
        }
        Ok(_) => Ok(false),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(RegistryError::Io {
            path: path.to_path_buf(),
            source: e,
        }),
    }
}

/// Size and SHA-256 of a fetched `.part`; it is removed when either is wrong.
fn check(file: &DataFile, part: &Path, source_name: &str) -> Result<(), RegistryError> {
    let actual = std::fs::metadata(part)
        .map_err(RegistryError::io(part))?
        .len();
    let shown = part.with_file_name(part.file_stem().unwrap_or_default());
    if actual != file.bytes {
        let _ = std::fs::remove_file(part);
        return Err(RegistryError::SizeMismatch {
            path: shown,
            source_name: source_name.to_string(),
            expected: file.bytes,
            actual,
        });
    }
    let sha = sha256_file(part).map_err(RegistryError::io(part))?;
    if sha != file.sha256 {
        let _ = std::fs::remove_file(part);
        return Err(RegistryError::ChecksumMismatch {
            path: shown,
            source_name: source_name.to_string(),
            expected: file.sha256.clone(),
            actual: sha,
        });
    }
    Ok(())
}

/// Copies a local file into `part` (from the start), telling `progress` the bytes copied.
fn copy(from: &Path, part: &Path, progress: &mut dyn FnMut(u64)) -> Result<(), RegistryError> {
    let mut reader = std::fs::File::open(from).map_err(RegistryError::io(from))?;
    let mut writer = std::fs::File::create(part).map_err(RegistryError::io(part))?;
    let mut buffer = vec![0u8; 1 << 20];
    let mut done = 0u64;
    loop {
        let n = match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(RegistryError::Io {
                    path: from.to_path_buf(),
                    source: e,
                });
            }
        };
        writer
            .write_all(&buffer[..n])
            .map_err(RegistryError::io(part))?;
        done += n as u64;
        progress(done);
    }
    writer.sync_all().map_err(RegistryError::io(part))
}
