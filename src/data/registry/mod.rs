//! Reference data out of the box: the registry of public datasets (each file's pinned public
//! source, size, SHA-256 and licence), fetching them into a cache (resumable downloads, or a
//! copy from a local folder, always verified), and finding the data folder a command reads.
//!
//! The cache uses the shared-data layout (`expression/consensi-drugbank.tsv.gz`,
//! `molecules/esol.csv`, …), so [`SharedData`](crate::data::SharedData) reads either. It is
//! `$MOLTX_DATA`, else `$XDG_CACHE_HOME/moltx`, else `~/.cache/moltx`
//! ([`default_cache_dir`]).
//!
//! ```no_run
//! use moltx::data::registry::{Registry, Source, default_cache_dir, fetch_dataset};
//!
//! let registry = Registry::builtin();
//! let cache = default_cache_dir()?;
//! let report = fetch_dataset(registry.get("esol")?, &cache, Source::Remote, &mut |_| {})?;
//! println!("{:?}", report.files);
//! # Ok::<(), moltx::data::registry::RegistryError>(())
//! ```

mod cache;
mod catalog;
mod error;
mod fetch;
mod hash;
mod http;

pub use cache::{
    CACHE_ENV, DataSearch, DatasetStatus, FileCheck, dataset_status, default_cache_dir,
    resolve_data_dir, verify_dataset,
};
pub use catalog::{DataFile, Dataset, Registry};
pub use error::RegistryError;
pub use fetch::{FetchEvent, FetchReport, FileOutcome, Source, fetch_dataset, part_path};
pub use hash::{sha256_bytes, sha256_file};
