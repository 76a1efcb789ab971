//! The shared-data layout: the one place that knows where each public dataset's files sit in
//! a data folder (`../shared/data` in this repository, or a cache filled by a later
//! `moltx data fetch`), and which six diseases have STARGEO signatures.

use std::path::{Path, PathBuf};

/// The six disease signatures shipped in `diseases/`: (DOID, name).
pub const DISEASES: [(&str, &str); 6] = [
    ("DOID:10652", "Alzheimer's disease"),
    ("DOID:1612", "breast cancer"),
    ("DOID:3083", "COPD"),
    ("DOID:7148", "rheumatoid arthritis"),
    ("DOID:8577", "ulcerative colitis"),
    ("DOID:9074", "systemic lupus erythematosus"),
];

/// The data folder's default location relative to the repository (used when present).
pub const DEFAULT_DATA_DIR: &str = "../shared/data";

/// A data folder laid out as the shared data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedData {
    root: PathBuf,
}

impl SharedData {
    /// The layout under `root`.
    pub fn new(root: &Path) -> Self {
        SharedData {
            root: root.to_path_buf(),
        }
    }

    /// The folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// LINCS L1000 consensus signatures of DrugBank compounds (one per row, Entrez genes
    /// as columns).
    pub fn consensus_signatures(&self) -> PathBuf {
        self.root.join("expression/consensi-drugbank.tsv.gz")
    }

    /// Structures of the profiled compounds (DrugBank id, name, SMILES).
    pub fn profiled_structures(&self) -> PathBuf {
        self.root.join("expression/l1000_drugs.tsv")
    }

    /// The L1000 gene table (Entrez id, symbol, landmark flag).
    pub fn genes(&self) -> PathBuf {
        self.root.join("expression/genes.tsv")
    }

    /// PharmacotherapyDB indications (disease, DrugBank id, category DM/SYM/NOT).
    pub fn indications(&self) -> PathBuf {
        self.root.join("repurposing/indications.tsv")
    }

    /// The STARGEO signature of a disease (`DOID:10652` → `diseases/DOID_10652…tsv.gz`).
    pub fn disease_signature(&self, doid: &str) -> PathBuf {
        self.root.join(format!(
            "diseases/{}.balanced_permutation.tsv.gz",
            doid.replace(':', "_")
        ))
    }

    /// Pathway gene sets (`pathways.tsv`).
    pub fn pathways(&self) -> PathBuf {
        self.root.join("genesets/pathways.tsv")
    }

    /// A MoleculeNet set by name (`esol`, `freesolv`, `lipophilicity`, `tox21`, `hiv`).
    pub fn molecules(&self, name: &str) -> PathBuf {
        let file = match name {
            "hiv" => "hiv.csv.gz".to_string(),
            other => format!("{other}.csv"),
        };
        self.root.join("molecules").join(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_the_shared_layout() {
        let data = SharedData::new(Path::new("/d"));
        assert_eq!(
            data.disease_signature("DOID:1612"),
            Path::new("/d/diseases/DOID_1612.balanced_permutation.tsv.gz")
        );
        assert_eq!(data.molecules("hiv"), Path::new("/d/molecules/hiv.csv.gz"));
        assert_eq!(
            data.consensus_signatures(),
            Path::new("/d/expression/consensi-drugbank.tsv.gz")
        );
        // Every named file exists in the repository's shared data, when it is there.
        let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_DATA_DIR);
        if shared.is_dir() {
            let data = SharedData::new(&shared);
            let mut files = vec![
                data.consensus_signatures(),
                data.profiled_structures(),
                data.genes(),
                data.indications(),
                data.pathways(),
                data.molecules("esol"),
                data.molecules("hiv"),
            ];
            files.extend(DISEASES.iter().map(|(d, _)| data.disease_signature(d)));
            for f in files {
                assert!(f.is_file(), "{} is missing", f.display());
            }
        }
    }
}
