//! `moltx data list | fetch NAME… | path [NAME…] | verify [NAME…]`: the public reference
//! datasets in a local cache.

use std::path::{Path, PathBuf};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use super::data_args::registry;
use crate::data::registry::{
    DatasetStatus, FetchEvent, FileCheck, FileOutcome, Registry, RegistryError, Source,
    dataset_status, default_cache_dir, fetch_dataset, verify_dataset,
};

/// Flags of `moltx data`.
#[derive(Debug, clap::Args)]
pub struct DataCommandArgs {
    /// Cache folder (default: $MOLTX_DATA, else $XDG_CACHE_HOME/moltx, else ~/.cache/moltx).
    #[arg(long, global = true)]
    pub cache: Option<PathBuf>,
    /// A registry file (JSON) replacing the built-in registry; also $MOLTX_REGISTRY.
    #[arg(long, global = true, hide = true)]
    pub registry: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub action: DataAction,
}

/// The `moltx data` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum DataAction {
    /// The datasets: files, size, whether the cache holds them, what they are.
    List,
    /// Download datasets into the cache (resuming partial downloads), or copy them from a
    /// local folder with --from, checking every file's size and SHA-256.
    Fetch {
        /// Dataset names (`moltx data list`), or `all`.
        #[arg(required = true)]
        names: Vec<String>,
        /// Copy the files from this folder (same layout, e.g. ../shared/data) instead of
        /// downloading them.
        #[arg(long)]
        from: Option<PathBuf>,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// Print the cached files of datasets, one path a line (the cache folder without a
    /// name).
    Path {
        /// Dataset names.
        names: Vec<String>,
    },
    /// Check the sizes and SHA-256 of the cached files (of every dataset the cache holds,
    /// or of those named).
    Verify {
        /// Dataset names (default: every dataset with a file in the cache).
        names: Vec<String>,
    },
}

/// Runs `moltx data`.
pub fn run(args: &DataCommandArgs) -> anyhow::Result<()> {
    let registry = registry(args.registry.as_deref())?;
    let cache = match &args.cache {
        Some(dir) => dir.clone(),
        None => default_cache_dir()?,
    };
    match &args.action {
        DataAction::List => list(&registry, &cache),
        DataAction::Fetch { names, from, quiet } => {
            fetch(&registry, &cache, names, from.as_deref(), *quiet)
        }
        DataAction::Path { names } => path(&registry, &cache, names),
        DataAction::Verify { names } => verify(&registry, &cache, names),
    }
}

/// `1234567` → `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn list(registry: &Registry, cache: &Path) -> anyhow::Result<()> {
    println!(
        "{:<16} {:>5} {:>12}  {:<9} description",
        "dataset", "files", "bytes", "cache"
    );
    for d in registry.datasets() {
        let status = match dataset_status(d, cache) {
            DatasetStatus::Complete => "complete".to_string(),
            DatasetStatus::Partial(n) => format!("{n} of {}", d.files.len()),
            DatasetStatus::Missing => "-".to_string(),
        };
        println!(
            "{:<16} {:>5} {:>12}  {:<9} {}",
            d.name,
            d.files.len(),
            thousands(d.total_bytes()),
            status,
            d.description
        );
    }
    println!("cache: {}", cache.display());
    Ok(())
}

fn names_of(names: &[String]) -> Vec<&str> {
    names.iter().map(String::as_str).collect()
}

fn fetch(
    registry: &Registry,
    cache: &Path,
    names: &[String],
    from: Option<&Path>,
    quiet: bool,
) -> anyhow::Result<()> {
    let datasets = registry.select(&names_of(names))?;
    if let Some(dir) = from {
        anyhow::ensure!(dir.is_dir(), "--from {}: no such folder", dir.display());
    }
    let source = from.map_or(Source::Remote, Source::Dir);
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(0)
    };
    bar.set_style(
        ProgressStyle::with_template(
            "  {msg:<40} {bar:30} {bytes:>10}/{total_bytes:<10} {bytes_per_sec}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut failures: Vec<String> = Vec::new();
    let (mut files, mut fetched) = (0usize, 0usize);
    for d in datasets {
        println!(
            "{} ({} files, {} bytes)",
            d.name,
            d.files.len(),
            thousands(d.total_bytes())
        );
        if dataset_status(d, cache) != DatasetStatus::Complete {
            // First fetch into this cache: say under which terms the data comes.
            println!("  licence: {}", d.licence);
        }
        let result = fetch_dataset(d, cache, source, &mut |event| match event {
            FetchEvent::Start { file, held } => {
                bar.reset();
                bar.set_length(file.bytes);
                bar.set_position(held);
                bar.set_message(file.path.clone());
            }
            FetchEvent::Bytes(n) => bar.set_position(n),
            FetchEvent::Verifying(_) => {}
            FetchEvent::Done { file, outcome } => {
                let what = match outcome {
                    FileOutcome::Present => "in the cache",
                    FileOutcome::Downloaded => "downloaded",
                    FileOutcome::Copied => "copied",
                };
                bar.suspend(|| {
                    println!(
                        "  {:<40} {:>12} bytes  {what}, sha256 verified",
                        file.path,
                        thousands(file.bytes)
                    )
                });
                files += 1;
                fetched += usize::from(outcome != FileOutcome::Present);
            }
        });
        bar.finish_and_clear();
        if let Err(e) = result {
            let hint = match &e {
                RegistryError::NoSource { dataset, .. } => {
                    format!(" (`moltx data fetch {dataset} --from DIR`)")
                }
                _ => String::new(),
            };
            failures.push(format!("{e}{hint}"));
        }
    }
    println!(
        "cache: {} ({files} files verified, {fetched} new)",
        cache.display()
    );
    match failures.len() {
        0 => Ok(()),
        1 => anyhow::bail!("{}", failures[0]),
        n => anyhow::bail!("{n} datasets failed:\n  {}", failures.join("\n  ")),
    }
}

fn path(registry: &Registry, cache: &Path, names: &[String]) -> anyhow::Result<()> {
    if names.is_empty() {
        println!("{}", cache.display());
        return Ok(());
    }
    let datasets = registry.select(&names_of(names))?;
    let missing: Vec<&str> = datasets
        .iter()
        .filter(|d| dataset_status(d, cache) != DatasetStatus::Complete)
        .map(|d| d.name.as_str())
        .collect();
    anyhow::ensure!(
        missing.is_empty(),
        "{} not in the cache {}; run `moltx data fetch {}`",
        missing.join(", "),
        cache.display(),
        missing.join(" ")
    );
    for d in datasets {
        for f in &d.files {
            println!("{}", cache.join(&f.path).display());
        }
    }
    Ok(())
}

fn verify(registry: &Registry, cache: &Path, names: &[String]) -> anyhow::Result<()> {
    let datasets = if names.is_empty() {
        registry
            .datasets()
            .iter()
            .filter(|d| dataset_status(d, cache) != DatasetStatus::Missing)
            .collect()
    } else {
        registry.select(&names_of(names))?
    };
    let mut bad: Vec<String> = Vec::new();
    for d in &datasets {
        let checks = verify_dataset(d, cache)
            .with_context(|| format!("verifying {} in {}", d.name, cache.display()))?;
        let ok = checks.iter().filter(|(_, c)| *c == FileCheck::Ok).count();
        println!("{}: {ok} of {} files verified", d.name, checks.len());
        for (file, check) in &checks {
            let problem = match check {
                FileCheck::Ok => continue,
                FileCheck::Missing => "missing".to_string(),
                FileCheck::WrongSize(n) => {
                    format!(
                        "{} bytes, expected {}",
                        thousands(*n),
                        thousands(file.bytes)
                    )
                }
                FileCheck::Mismatch(sha) => {
                    format!("checksum mismatch (sha256 {sha}, expected {})", file.sha256)
                }
            };
            println!("  {}: {problem}", file.path);
            if !bad.contains(&d.name) {
                bad.push(d.name.clone());
            }
        }
    }
    if datasets.is_empty() {
        println!("the cache {} holds no dataset", cache.display());
    }
    anyhow::ensure!(
        bad.is_empty(),
        "{} failed verification; run `moltx data fetch {}` to fetch the damaged or missing \
         files again",
        bad.join(", "),
        bad.join(" ")
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::thousands;

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(10_238_967), "10,238,967");
    }
}
