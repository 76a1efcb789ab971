//! `--data DIR`, the reference-data folder of the commands that read the public datasets, and
//! the registry the `moltx data` commands use.
//!
//! A command flattens [`DataArgs`] and asks for the datasets it reads:
//!
//! ```ignore
//! #[command(flatten)]
//! pub data: super::data_args::DataArgs,
//! // …
//! let data = args.data.resolve(&["l1000-consensus", "indications"])?;
//! ```

use std::path::{Path, PathBuf};

use crate::data::datasets::DEFAULT_DATA_DIR;
use crate::data::registry::{DataSearch, Registry, RegistryError, default_cache_dir};

/// The environment variable naming a registry file that replaces the built-in registry (a
/// local mirror, or the tests' fixture server).
pub const REGISTRY_ENV: &str = "MOLTX_REGISTRY";

/// `--data DIR`: where the reference data is.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct DataArgs {
    /// Reference-data folder in the shared-data layout (expression/, diseases/,
    /// repurposing/, …); default: the `moltx data` cache when it holds the datasets, else
    /// ../shared/data.
    #[arg(long)]
    pub data: Option<PathBuf>,
}

impl DataArgs {
    /// The data folder holding `datasets` (registry names such as `l1000-consensus`):
    /// `--data` when given, else the cache when it holds them, else `../shared/data` when it
    /// has their files, else an error naming the `moltx data fetch` command to run.
    pub fn resolve(&self, datasets: &[&str]) -> anyhow::Result<PathBuf> {
        let registry = registry(None)?;
        let search = DataSearch {
            registry: &registry,
            cache: default_cache_dir().ok(),
            fallback: PathBuf::from(DEFAULT_DATA_DIR),
        };
        search
            .resolve(self.data.as_deref(), datasets)
            .map_err(|e| match e {
                RegistryError::MissingData { .. } => anyhow::anyhow!("{e} (or pass --data DIR)"),
                other => other.into(),
            })
    }
}

/// The registry: the file `explicit` names, else the one `$MOLTX_REGISTRY` names, else the
/// built-in one.
pub fn registry(explicit: Option<&Path>) -> anyhow::Result<Registry> {
    let from_env = std::env::var_os(REGISTRY_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    match explicit.map(Path::to_path_buf).or(from_env) {
        Some(file) => Ok(Registry::from_file(&file)?),
        None => Ok(Registry::builtin()),
    }
}
