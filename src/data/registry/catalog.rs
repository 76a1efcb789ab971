//! The registry itself: datasets, their files, sources, sizes, checksums and licences.
//!
//! The built-in registry is `registry.json` beside this file, compiled in. A registry file of
//! the same shape can replace it (tests point one at a local server):
//!
//! ```json
//! { "datasets": [ { "name": "tox21", "description": "…", "licence": "…",
//!     "files": [ { "path": "molecules/tox21.csv", "url": "https://…",
//!                  "bytes": 458635, "sha256": "b58c…" } ] } ] }
//! ```
//!
//! `path` is where the file sits in a data folder, in the shared-data layout that
//! [`SharedData`](crate::data::SharedData) knows; `url` may be left out for a file made
//! locally, which only a local folder can supply.

use std::path::{Component, Path};

use serde::{Deserialize, Serialize};

use super::RegistryError;

/// The built-in registry's text.
const BUILTIN: &str = include_str!("registry.json");

/// One file of a dataset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataFile {
    /// Where the file sits in a data folder: relative, `/`-separated
    /// (`expression/consensi-drugbank.tsv.gz`).
    pub path: String,
    /// Its public source, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Its size in bytes.
    pub bytes: u64,
    /// Its SHA-256, lowercase hex.
    pub sha256: String,
}

/// A named dataset: one or more files fetched together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dataset {
    /// The name commands use (`l1000-consensus`).
    pub name: String,
    /// What it is, in a line.
    pub description: String,
    /// Its licence, in a line.
    pub licence: String,
    /// Its files.
    pub files: Vec<DataFile>,
}

impl Dataset {
    /// The size of all its files.
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }
}

/// The datasets `moltx data` knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registry {
    datasets: Vec<Dataset>,
}

impl Registry {
    /// The built-in registry (the public datasets at pinned versions).
    pub fn builtin() -> Registry {
        // The compiled-in text is checked by this module's tests.
        Registry::from_json(BUILTIN, "built-in").expect("the built-in registry is valid")
    }

    /// A registry from its JSON text; `origin` names it in errors.
    pub fn from_json(text: &str, origin: &str) -> Result<Registry, RegistryError> {
        let registry: Registry = serde_json::from_str(text).map_err(|e| RegistryError::Parse {
            origin: origin.to_string(),
            reason: e.to_string(),
        })?;
        registry.validate(origin)?;
        Ok(registry)
    }

    /// A registry from a JSON file.
    pub fn from_file(path: &Path) -> Result<Registry, RegistryError> {
        let text = std::fs::read_to_string(path).map_err(RegistryError::io(path))?;
        Registry::from_json(&text, &path.display().to_string())
    }

    /// Its datasets, in order.
    pub fn datasets(&self) -> &[Dataset] {
        &self.datasets
    }

    /// The dataset of a name.
    pub fn get(&self, name: &str) -> Result<&Dataset, RegistryError> {
        self.datasets
            .iter()
            .find(|d| d.name == name)
            .ok_or_else(|| RegistryError::UnknownDataset {
                name: name.to_string(),
                known: self.names().join(", "),
            })
    }

    /// The datasets of some names, in the order given and each once; `all` names every one.
    pub fn select(&self, names: &[&str]) -> Result<Vec<&Dataset>, RegistryError> {
        let mut out: Vec<&Dataset> = Vec::new();
        for &name in names {
            let found: Vec<&Dataset> = if name == "all" {
                self.datasets.iter().collect()
            } else {
                vec![self.get(name)?]
            };
            for d in found {
                if !out.iter().any(|o| o.name == d.name) {
                    out.push(d);
                }
            }
        }
        Ok(out)
    }

    /// The names of its datasets.
    pub fn names(&self) -> Vec<&str> {
        self.datasets.iter().map(|d| d.name.as_str()).collect()
    }

    /// Names unique, paths safe and each in one dataset, checksums well-formed.
    fn validate(&self, origin: &str) -> Result<(), RegistryError> {
        let invalid = |reason: String| RegistryError::Invalid {
            origin: origin.to_string(),
            reason,
        };
        let mut names = std::collections::HashSet::new();
        let mut paths = std::collections::HashSet::new();
        for d in &self.datasets {
            let name_ok = !d.name.is_empty()
                && d.name != "all"
                && d.name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            if !name_ok {
                return Err(invalid(format!(
                    "dataset name {:?}: use lowercase letters, digits and '-' (not \"all\")",
                    d.name
                )));
            }
            if !names.insert(d.name.as_str()) {
                return Err(invalid(format!("dataset {} appears twice", d.name)));
            }
            if d.files.is_empty() {
                return Err(invalid(format!("dataset {} has no files", d.name)));
            }
            for f in &d.files {
                if !is_safe_relative(&f.path) {
                    return Err(invalid(format!(
                        "dataset {}: file path {:?} must be relative, '/'-separated, without \
                         '..' (and not end in .part)",
                        d.name, f.path
                    )));
                }
                if !paths.insert(f.path.as_str()) {
                    return Err(invalid(format!("file {} appears twice", f.path)));
                }
                let hex = f.sha256.len() == 64
                    && f.sha256
                        .chars()
                        .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c));
                if !hex {
                    return Err(invalid(format!(
                        "file {}: sha256 must be 64 lowercase hex digits",
                        f.path
                    )));
                }
                if let Some(url) = &f.url
                    && !(url.starts_with("https://") || url.starts_with("http://"))
                {
                    return Err(invalid(format!(
                        "file {}: url {url:?} is not http(s)",
                        f.path
                    )));
                }
            }
        }
        Ok(())
    }
}

/// A relative path of normal components only (no `.` or `..`, no root, not a `.part` or lock
/// file).
fn is_safe_relative(path: &str) -> bool {
    !path.is_empty()
        && !path.contains('\\')
        && !path.ends_with(".part")
        && !path.ends_with(".moltx-lock")
        && path
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
        && Path::new(path)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_registry_is_valid_and_names_the_twelve_datasets() {
        let r = Registry::builtin();
        assert_eq!(
            r.names(),
            [
                "tox21",
                "esol",
                "freesolv",
                "lipophilicity",
                "hiv",
                "l1000-consensus",
                "l1000-genes",
                "indications",
                "diseases",
                "pathways",
                "hallmark",
                "moses"
            ]
        );
        // Every file but the locally made join has a pinned public source.
        for d in r.datasets() {
            for f in &d.files {
                match &f.url {
                    Some(url) => assert!(url.starts_with("https://"), "{url}"),
                    None => assert_eq!(f.path, "expression/l1000_drugs.tsv"),
                }
            }
        }
    }

    #[test]
    fn the_shared_data_layout_is_the_registry_layout() {
        use crate::data::SharedData;
        use crate::data::datasets::DISEASES;
        let r = Registry::builtin();
        let registered = |p: std::path::PathBuf| {
            let rel = p.strip_prefix("/d").unwrap().to_str().unwrap().to_string();
            assert!(
                r.datasets()
                    .iter()
                    .any(|d| d.files.iter().any(|f| f.path == rel)),
                "{rel} is in no dataset"
            );
        };
        let data = SharedData::new(Path::new("/d"));
        registered(data.consensus_signatures());
        registered(data.profiled_structures());
        registered(data.genes());
        registered(data.indications());
        registered(data.pathways());
        for name in ["esol", "freesolv", "lipophilicity", "tox21", "hiv"] {
            registered(data.molecules(name));
        }
        for (doid, _) in DISEASES {
            registered(data.disease_signature(doid));
        }
    }

    #[test]
    fn select_expands_all_and_keeps_order_without_repeats() {
        let r = Registry::builtin();
        let names: Vec<&str> = r
            .select(&["indications", "tox21", "indications"])
            .unwrap()
            .iter()
            .map(|d| d.name.as_str())
            .collect();
        assert_eq!(names, ["indications", "tox21"]);
        assert_eq!(r.select(&["all"]).unwrap().len(), 12);
        let err = r.select(&["tox22"]).unwrap_err();
        assert!(
            err.to_string().contains("no dataset named \"tox22\""),
            "{err}"
        );
        assert!(err.to_string().contains("tox21"), "{err}");
    }

    #[test]
    fn unsafe_paths_bad_checksums_and_duplicates_are_refused() {
        let entry = |path: &str, sha: &str| {
            format!(
                r#"{{"datasets": [{{"name": "x", "description": "", "licence": "",
                "files": [{{"path": "{path}", "bytes": 1, "sha256": "{sha}"}}]}}]}}"#
            )
        };
        let good = "a".repeat(64);
        assert!(Registry::from_json(&entry("m/x.csv", &good), "t").is_ok());
        for path in ["../x", "/etc/passwd", "a//b", "a/./b", "x.part", ""] {
            let err = Registry::from_json(&entry(path, &good), "t").unwrap_err();
            assert!(
                matches!(err, RegistryError::Invalid { .. }),
                "{path}: {err}"
            );
        }
        let err = Registry::from_json(&entry("m/x.csv", "ABC"), "t").unwrap_err();
        assert!(err.to_string().contains("64 lowercase hex"), "{err}");
        let err = Registry::from_json("{\"datasets\": 3}", "t.json").unwrap_err();
        assert!(matches!(err, RegistryError::Parse { .. }), "{err}");
        assert!(err.to_string().starts_with("registry t.json: "), "{err}");
        let twice = format!(
            r#"{{"datasets": [{{"name": "x", "description": "", "licence": "", "files": [
            {{"path": "a", "bytes": 1, "sha256": "{good}"}},
            {{"path": "a", "bytes": 1, "sha256": "{good}"}}]}}]}}"#
        );
        let err = Registry::from_json(&twice, "t").unwrap_err();
        assert!(err.to_string().contains("appears twice"), "{err}");
    }
}
