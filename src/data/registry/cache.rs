//! The cache folder, what it holds, and which data folder a command reads.

use std::path::{Path, PathBuf};

use super::hash::sha256_file;
use super::{DataFile, Dataset, Registry, RegistryError};
use crate::data::datasets::DEFAULT_DATA_DIR;

/// The environment variable naming the cache folder.
pub const CACHE_ENV: &str = "MOLTX_DATA";

/// The cache folder: `$MOLTX_DATA`, else `$XDG_CACHE_HOME/moltx`, else `~/.cache/moltx`.
pub fn default_cache_dir() -> Result<PathBuf, RegistryError> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(dir) = var(CACHE_ENV) {
        return Ok(PathBuf::from(dir));
    }
    if let Some(dir) = var("XDG_CACHE_HOME") {
        return Ok(PathBuf::from(dir).join("moltx"));
    }
    match var("HOME") {
        Some(home) => Ok(PathBuf::from(home).join(".cache").join("moltx")),
        None => Err(RegistryError::NoCacheDir),
    }
}

/// How much of a dataset a folder holds (by file presence and size; [`verify_dataset`]
/// checks contents).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatasetStatus {
    /// Every file, each of the registry's size.
    Complete,
    /// Some files (this many of the dataset's).
    Partial(usize),
    /// None of its files.
    Missing,
}

/// Whether a file is in `dir` with the registry's size.
fn present(file: &DataFile, dir: &Path) -> bool {
    std::fs::metadata(dir.join(&file.path)).is_ok_and(|m| m.is_file() && m.len() == file.bytes)
}

/// How much of `dataset` the folder `dir` holds.
pub fn dataset_status(dataset: &Dataset, dir: &Path) -> DatasetStatus {
    let n = dataset.files.iter().filter(|f| present(f, dir)).count();
    match n {
        0 => DatasetStatus::Missing,
        n if n == dataset.files.len() => DatasetStatus::Complete,
        n => DatasetStatus::Partial(n),
    }
}

/// The check of one file in a folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileCheck {
    /// Its size and SHA-256 are the registry's.
    Ok,
    /// It is not there.
    Missing,
    /// It has another size.
    WrongSize(u64),
    /// It has the size but another SHA-256.
    Mismatch(String),
}

/// Checks each file of `dataset` in `dir` (size, then SHA-256), in the registry's order.
pub fn verify_dataset<'a>(
    dataset: &'a Dataset,
    dir: &Path,
) -> Result<Vec<(&'a DataFile, FileCheck)>, RegistryError> {
    dataset
        .files
        .iter()
        .map(|file| {
            let path = dir.join(&file.path);
            let check = match std::fs::metadata(&path) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => FileCheck::Missing,
                Err(e) => return Err(RegistryError::Io { path, source: e }),
                Ok(m) if !m.is_file() => FileCheck::Missing,
                Ok(m) if m.len() != file.bytes => FileCheck::WrongSize(m.len()),
                Ok(_) => {
                    let sha = sha256_file(&path).map_err(RegistryError::io(&path))?;
                    if sha == file.sha256 {
                        FileCheck::Ok
                    } else {
                        FileCheck::Mismatch(sha)
                    }
                }
            };
            Ok((file, check))
        })
        .collect()
}

/// Where a command looks for reference data, in order after an explicit folder.
#[derive(Debug, Clone)]
pub struct DataSearch<'a> {
    /// The registry that names the datasets' files.
    pub registry: &'a Registry,
    /// The cache folder (`None` when none can be named).
    pub cache: Option<PathBuf>,
    /// The repository's shared data (`../shared/data`), used when it holds the files.
    pub fallback: PathBuf,
}

impl DataSearch<'_> {
    /// The data folder to read `datasets` from: `explicit` when given (it must be a folder),
    /// else the cache when it holds them all, else the fallback when it has their files,
    /// else [`RegistryError::MissingData`] with the command that fills the cache.
    pub fn resolve(
        &self,
        explicit: Option<&Path>,
        datasets: &[&str],
    ) -> Result<PathBuf, RegistryError> {
        let wanted = self.registry.select(datasets)?;
        if let Some(dir) = explicit {
            return if dir.is_dir() {
                Ok(dir.to_path_buf())
            } else {
                Err(RegistryError::NotADirectory {
                    path: dir.to_path_buf(),
                })
            };
        }
        let mut searched = Vec::new();
        let mut missing: Vec<String> = wanted.iter().map(|d| d.name.clone()).collect();
        if let Some(cache) = &self.cache {
            missing = wanted
                .iter()
                .filter(|d| dataset_status(d, cache) != DatasetStatus::Complete)
                .map(|d| d.name.clone())
                .collect();
            if missing.is_empty() {
                return Ok(cache.clone());
            }
            searched.push(cache.clone());
        }
        let fallback_has = |d: &&Dataset| {
            d.files
                .iter()
                .all(|f| self.fallback.join(&f.path).is_file())
        };
        if self.fallback.is_dir() && wanted.iter().all(fallback_has) {
            return Ok(self.fallback.clone());
        }
        searched.push(self.fallback.clone());
        Err(RegistryError::MissingData {
            command: format!("moltx data fetch {}", missing.join(" ")),
            missing,
            searched,
        })
    }
}

/// The data folder for `datasets` with the built-in registry, the default cache
/// ([`default_cache_dir`]) and `../shared/data`: `explicit` wins, then the cache when it holds
/// them, then `../shared/data` when present, else an error carrying the fetch command.
pub fn resolve_data_dir(
    explicit: Option<&Path>,
    datasets: &[&str],
) -> Result<PathBuf, RegistryError> {
    let registry = Registry::builtin();
    DataSearch {
        registry: &registry,
        cache: default_cache_dir().ok(),
        fallback: PathBuf::from(DEFAULT_DATA_DIR),
    }
    .resolve(explicit, datasets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::registry::hash::sha256_bytes;

    fn registry() -> Registry {
        let file = |path: &str, bytes: &[u8]| {
            format!(
                r#"{{"path": "{path}", "bytes": {}, "sha256": "{}"}}"#,
                bytes.len(),
                sha256_bytes(bytes)
            )
        };
        let text = format!(
            r#"{{"datasets": [
              {{"name": "a", "description": "", "licence": "", "files": [{}]}},
              {{"name": "b", "description": "", "licence": "", "files": [{}, {}]}}]}}"#,
            file("x/a.txt", b"aaa"),
            file("x/b1.txt", b"b1"),
            file("y/b2.txt", b"b2")
        );
        Registry::from_json(&text, "test").unwrap()
    }

    fn put(dir: &Path, path: &str, bytes: &[u8]) {
        std::fs::create_dir_all(dir.join(path).parent().unwrap()).unwrap();
        std::fs::write(dir.join(path), bytes).unwrap();
    }

    #[test]
    fn explicit_wins_then_the_complete_cache_then_the_fallback_else_the_fetch_command() {
        let r = registry();
        let tmp = tempfile::tempdir().unwrap();
        let (cache, fallback) = (tmp.path().join("cache"), tmp.path().join("shared"));
        let search = DataSearch {
            registry: &r,
            cache: Some(cache.clone()),
            fallback: fallback.clone(),
        };
        let err = search.resolve(None, &["a", "b"]).unwrap_err();
        match &err {
            RegistryError::MissingData {
                missing, command, ..
            } => {
                assert_eq!(missing, &["a", "b"]);
                assert_eq!(command, "moltx data fetch a b");
            }
            other => panic!("{other}"),
        }
        assert!(
            err.to_string().contains("run `moltx data fetch a b`"),
            "{err}"
        );
        // Explicit: any folder, checked to be one.
        assert_eq!(
            search.resolve(Some(tmp.path()), &["a"]).unwrap(),
            tmp.path()
        );
        let err = search
            .resolve(Some(&tmp.path().join("nope")), &["a"])
            .unwrap_err();
        assert!(matches!(err, RegistryError::NotADirectory { .. }), "{err}");
        // A fallback holding the files is used while the cache lacks them.
        put(&fallback, "x/a.txt", b"aaa");
        assert_eq!(search.resolve(None, &["a"]).unwrap(), fallback);
        // The cache holding only `a` asks for `b` alone.
        put(&cache, "x/a.txt", b"aaa");
        assert_eq!(search.resolve(None, &["a"]).unwrap(), cache);
        put(&cache, "x/b1.txt", b"b1");
        assert_eq!(
            dataset_status(r.get("b").unwrap(), &cache),
            DatasetStatus::Partial(1)
        );
        let err = search.resolve(None, &["a", "b"]).unwrap_err();
        assert!(err.to_string().contains("`moltx data fetch b`"), "{err}");
        put(&cache, "y/b2.txt", b"b2");
        assert_eq!(search.resolve(None, &["b", "a"]).unwrap(), cache);
        // A file of the wrong size does not count.
        put(&cache, "y/b2.txt", b"b2!");
        assert_eq!(
            dataset_status(r.get("b").unwrap(), &cache),
            DatasetStatus::Partial(1)
        );
        // Unknown names are errors, not silently ignored.
        let err = search.resolve(None, &["c"]).unwrap_err();
        assert!(matches!(err, RegistryError::UnknownDataset { .. }), "{err}");
    }

    #[test]
    fn verify_reports_missing_resized_and_altered_files() {
        let r = registry();
        let tmp = tempfile::tempdir().unwrap();
        let b = r.get("b").unwrap();
        let checks = |dir: &Path| -> Vec<FileCheck> {
            verify_dataset(b, dir)
                .unwrap()
                .into_iter()
                .map(|(_, c)| c)
                .collect()
        };
        assert_eq!(checks(tmp.path()), [FileCheck::Missing, FileCheck::Missing]);
        put(tmp.path(), "x/b1.txt", b"b1");
        put(tmp.path(), "y/b2.txt", b"b22");
        assert_eq!(checks(tmp.path()), [FileCheck::Ok, FileCheck::WrongSize(3)]);
        put(tmp.path(), "y/b2.txt", b"B2");
        assert_eq!(
            checks(tmp.path()),
            [FileCheck::Ok, FileCheck::Mismatch(sha256_bytes(b"B2"))]
        );
    }
}
