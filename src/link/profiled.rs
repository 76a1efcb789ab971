//! Profiled compounds: the join of measured signatures with structures on the compound id,
//! their known indications, and the fingerprints and gene alignments the models built on
//! them read.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::neighbors::NeighborConfig;
use crate::chem::{ChemError, Fingerprint, MolGraph, Molecule};
use crate::data::reader::{csv_reader, csv_reader_with_lines};
use crate::data::{DataError, MoleculeTable, RowFailure};
use crate::expr::matrix::{Layout, read_signatures};
use crate::expr::{ExprError, GeneSpace};

/// Why profiled compounds or their labels could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// A table could not be read.
    #[error(transparent)]
    Data(#[from] DataError),
    /// A CSV/TSV file could not be read.
    #[error("{path}: {source}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// The csv crate's error.
        source: csv::Error,
    },
    /// A row of a CSV/TSV file could not be read.
    #[error("{path}: row {row}: {source}")]
    CsvRow {
        /// The file.
        path: PathBuf,
        /// 0-based data row.
        row: usize,
        /// The csv crate's error.
        source: csv::Error,
    },
    /// A signature file could not be read.
    #[error("reading {path}: {source}")]
    Signatures {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: ExprError,
    },
    /// A molecule's Morgan fingerprint could not be computed.
    #[error("fingerprint of {smiles}: {source}")]
    Fingerprint {
        /// The molecule.
        smiles: String,
        /// RDKit's reason.
        source: ChemError,
    },
    /// Inputs that do not fit together (the message says how).
    #[error("{0}")]
    Invalid(String),
}

/// Compounds with a structure and a measured signature, as a labelled table whose tasks are
/// the genes.
#[derive(Debug, Clone)]
pub struct ProfiledCompounds {
    /// SMILES and signatures (targets `len × n_genes`, no missing labels).
    pub table: MoleculeTable,
    /// Compound id of each table entry.
    pub ids: Vec<String>,
    /// Signatures whose compound has no usable structure (no SMILES, or not in the file).
    pub without_structure: Vec<String>,
}

/// Joins a signature matrix (one signature per row, genes as columns) with a structure table
/// (an id column and a SMILES column) on the compound id.
pub fn read_profiled(
    signatures: &Path,
    structures: &Path,
    id_column: Option<&str>,
) -> Result<ProfiledCompounds, LinkError> {
    let sigs =
        read_signatures(signatures, Layout::Rows).map_err(|source| LinkError::Signatures {
            path: signatures.to_path_buf(),
            source,
        })?;
    let (mut reader, lines) = csv_reader_with_lines(structures)?;
    let header: Vec<String> = reader
        .headers()
        .map_err(|source| LinkError::Csv {
            path: structures.to_path_buf(),
            source,
        })?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let id_idx = match id_column {
        Some(c) => header
            .iter()
            .position(|h| h == c)
            .ok_or_else(|| DataError::MissingColumn {
                path: structures.to_path_buf(),
                column: c.to_string(),
                available: header.join(", "),
            })?,
        None => 0,
    };
    let smiles_idx = crate::data::reader::find_smiles_column(&header).ok_or_else(|| {
        DataError::NoSmilesColumn {
            path: structures.to_path_buf(),
            available: header.join(", "),
        }
    })?;
    let mut by_id = std::collections::HashMap::new();
    for (row, record) in reader.records().enumerate() {
        let record = record.map_err(|source| LinkError::CsvRow {
            path: structures.to_path_buf(),
            row,
            source,
        })?;
        let smiles = record.get(smiles_idx).unwrap_or("").trim().to_string();
        let line = lines.line_of(record.position());
        if let Some(id) = record.get(id_idx)
            && !smiles.is_empty()
        {
            by_id.insert(id.trim().to_string(), (row, line, smiles));
        }
    }
    let mut entries = Vec::new();
    let mut without_structure = Vec::new();
    for (s, id) in sigs.ids.iter().enumerate() {
        match by_id.get(id) {
            Some((row, line, smiles)) => entries.push((s, *row, *line, smiles.clone())),
            None => without_structure.push(id.clone()),
        }
    }
    let graphs: Vec<_> = entries
        .par_iter()
        .map(|(_, _, _, smiles)| MolGraph::from_smiles(smiles))
        .collect();
    let genes: Vec<String> = sigs.genes.ids().to_vec();
    let g = genes.len();
    let mut table = MoleculeTable {
        path: signatures.to_path_buf(),
        smiles_column: header[smiles_idx].clone(),
        task_names: genes,
        n_rows: sigs.n_signatures(),
        ..MoleculeTable::default()
    };
    let mut ids = Vec::new();
    for ((s, row, line, smiles), graph) in entries.into_iter().zip(graphs) {
        match graph {
            Ok(graph) => {
                let values = sigs.column(s);
                table.targets.extend(values.iter().map(|&v| v as f32));
                table.mask.extend(values.iter().map(|v| v.is_finite()));
                table.rows.push(s);
                table.smiles.push(smiles);
                table.graphs.push(graph);
                ids.push(sigs.ids[s].clone());
            }
            Err(error) => table.failures.push(RowFailure {
                row,
                line,
                smiles,
                error: error.into(),
            }),
        }
    }
    for (v, m) in table.targets.iter_mut().zip(&table.mask) {
        if !m {
            *v = 0.0;
        }
    }
    debug_assert_eq!(table.targets.len(), table.len() * g);
    Ok(ProfiledCompounds {
        table,
        ids,
        without_structure,
    })
}

/// [`read_profiled`] on a data folder laid out as the shared data: the consensus
/// signatures joined with the profiled compounds' structures.
pub fn read_profiled_data(data: &Path) -> Result<ProfiledCompounds, LinkError> {
    let shared = crate::data::SharedData::new(data);
    read_profiled(
        &shared.consensus_signatures(),
        &shared.profiled_structures(),
        None,
    )
}

/// Morgan fingerprints of SMILES (RDKit), in order.
pub fn morgan_fingerprints(
    smiles: &[String],
    config: &NeighborConfig,
) -> Result<Vec<Fingerprint>, LinkError> {
    smiles
        .par_iter()
        .map(|s| {
            Molecule::from_smiles(s)
                .and_then(|m| m.morgan_fingerprint(config.radius, config.bits))
                .map_err(|source| LinkError::Fingerprint {
                    smiles: s.clone(),
                    source,
                })
        })
        .collect()
}

/// Generator name of measured-signature features.
pub const SIGNATURE_FEATURES: &str = "l1000_signature";

/// Multi-label indication targets for profiled compounds.
#[derive(Debug, Clone)]
pub struct IndicationLabels {
    /// Disease names (one task each).
    pub diseases: Vec<String>,
    /// Row-major `compounds × diseases` 0/1 labels, in the order of the profiled table.
    pub labels: Vec<f32>,
}

/// Reads disease-modifying indications and keeps diseases with at least `min_drugs` of the
/// profiled compounds.
pub fn read_indications(
    path: &Path,
    profiled: &ProfiledCompounds,
    min_drugs: usize,
) -> Result<IndicationLabels, LinkError> {
    let mut reader = csv_reader(path)?;
    let header: Vec<String> = reader
        .headers()
        .map_err(|source| LinkError::Csv {
            path: path.to_path_buf(),
            source,
        })?
        .iter()
        .map(str::to_string)
        .collect();
    let col = |n: &str| {
        header
            .iter()
            .position(|h| h == n)
            .ok_or_else(|| DataError::MissingColumn {
                path: path.to_path_buf(),
                column: n.to_string(),
                available: header.join(", "),
            })
    };
    let (disease, drug, category) = (col("disease")?, col("drugbank_id")?, col("category")?);
    let known: HashSet<&str> = profiled.ids.iter().map(String::as_str).collect();
    let mut by_disease: BTreeMap<String, HashSet<String>> = BTreeMap::new();
    for (row, record) in reader.records().enumerate() {
        let record = record.map_err(|source| LinkError::CsvRow {
            path: path.to_path_buf(),
            row,
            source,
        })?;
        let (d, id, c) = (
            record.get(disease).unwrap_or(""),
            record.get(drug).unwrap_or(""),
            record.get(category).unwrap_or(""),
        );
        if c == "DM" && known.contains(id) {
            by_disease
                .entry(d.to_string())
                .or_default()
                .insert(id.to_string());
        }
    }
    by_disease.retain(|_, drugs| drugs.len() >= min_drugs);
    let diseases: Vec<String> = by_disease.keys().cloned().collect();
    let index: HashMap<&str, usize> = profiled
        .ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let t = diseases.len();
    let mut labels = vec![0.0f32; profiled.ids.len() * t];
    for (j, drugs) in by_disease.values().enumerate() {
        for id in drugs {
            if let Some(&i) = index.get(id.as_str()) {
                labels[i * t + j] = 1.0;
            }
        }
    }
    Ok(IndicationLabels { diseases, labels })
}

/// Values of signature `s` of `m` in the order of `genes` (NaN where `m` lacks a gene).
pub fn values_in(genes: &[String], space: &GeneSpace, column: &[f64]) -> Vec<f64> {
    genes
        .iter()
        .map(|g| {
            space
                .lookup(g, None)
                .and_then(|i| column.get(i).copied())
                .unwrap_or(f64::NAN)
        })
        .collect()
}
