//! `moltx.data`: the public reference datasets, fetched into moltx's cache (as
//! `moltx data fetch` does) and located there (`moltx data path`).

use std::path::PathBuf;

use moltx::data::registry::{
    DatasetStatus, Registry, RegistryError, Source, dataset_status, default_cache_dir,
    fetch_dataset,
};
use pyo3::prelude::*;

use crate::error::{MoltxError, message};
use crate::run::run;

/// The registry: the file `$MOLTX_REGISTRY` names, else the built-in one (as the command).
fn registry() -> Result<Registry, RegistryError> {
    match std::env::var_os("MOLTX_REGISTRY").filter(|v| !v.is_empty()) {
        Some(file) => Registry::from_file(&PathBuf::from(file)),
        None => Ok(Registry::builtin()),
    }
}

/// The cache folder: `cache`, else `$MOLTX_DATA`, else the XDG cache (`~/.cache/moltx`).
fn cache_dir(cache: Option<PathBuf>) -> Result<PathBuf, RegistryError> {
    match cache {
        Some(dir) => Ok(dir),
        None => default_cache_dir(),
    }
}

fn py_err(e: &RegistryError) -> PyErr {
    MoltxError::new_err(message(e))
}

/// Fetches datasets into the cache (downloads from their pinned public sources, or copies
/// from `from_dir`), each file verified by size and SHA-256; returns the cache folder, laid
/// out as the shared data.
#[pyfunction]
#[pyo3(signature = (names, from_dir=None, cache=None))]
pub fn data_fetch(
    py: Python<'_>,
    names: Vec<String>,
    from_dir: Option<PathBuf>,
    cache: Option<PathBuf>,
) -> PyResult<String> {
    let registry = registry().map_err(|e| py_err(&e))?;
    let cache = cache_dir(cache).map_err(|e| py_err(&e))?;
    let wanted: Vec<&str> = names.iter().map(String::as_str).collect();
    let datasets = registry.select(&wanted).map_err(|e| py_err(&e))?;
    let source = from_dir.as_deref().map_or(Source::Remote, Source::Dir);
    let result = run(py, None, |_| {
        for d in datasets {
            fetch_dataset(d, &cache, source, &mut |_| {})?;
        }
        Ok::<(), RegistryError>(())
    })?
    .into_result()?;
    result.map_err(|e| py_err(&e))?;
    Ok(cache.display().to_string())
}

/// The cache folder holding `names` complete (a folder in the shared-data layout); an error
/// naming the `moltx data fetch` command when one is missing or incomplete.
#[pyfunction]
#[pyo3(signature = (names, cache=None))]
pub fn data_path(names: Vec<String>, cache: Option<PathBuf>) -> PyResult<String> {
    let registry = registry().map_err(|e| py_err(&e))?;
    let cache = cache_dir(cache).map_err(|e| py_err(&e))?;
    let wanted: Vec<&str> = names.iter().map(String::as_str).collect();
    let missing: Vec<&str> = registry
        .select(&wanted)
        .map_err(|e| py_err(&e))?
        .into_iter()
        .filter(|d| dataset_status(d, &cache) != DatasetStatus::Complete)
        .map(|d| d.name.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(MoltxError::new_err(format!(
            "{} not in the cache {}; run `moltx data fetch {}` (or moltx.data.fetch)",
            missing.join(", "),
            cache.display(),
            missing.join(" ")
        )));
    }
    Ok(cache.display().to_string())
}
