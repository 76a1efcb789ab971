//! Labelled molecule tables: a SMILES column and target columns read from CSV/TSV (optionally
//! gzipped). Missing labels are kept as a mask; rows whose SMILES RDKit rejects are reported.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::error::DataError;
use super::reader::csv_reader_with_lines;
use crate::chem::{ChemError, MolGraph};

/// Which columns to read.
#[derive(Debug, Clone)]
pub struct TableOptions {
    /// The SMILES column; default: the first column whose name contains "smiles" (any case).
    pub smiles_column: Option<String>,
    /// Target columns; default: every other column whose cells are all numbers or blank.
    pub target_columns: Option<Vec<String>>,
    /// Molecules with more heavy atoms are failed rows, never parsed
    /// ([`crate::chem::DEFAULT_MAX_HEAVY_ATOMS`] by default).
    pub max_heavy_atoms: usize,
}

impl Default for TableOptions {
    fn default() -> Self {
        TableOptions {
            smiles_column: None,
            target_columns: None,
            max_heavy_atoms: crate::chem::DEFAULT_MAX_HEAVY_ATOMS,
        }
    }
}

/// A row whose molecule could not be read.
#[derive(Debug, Clone, PartialEq)]
pub struct RowFailure {
    /// 0-based data row (header excluded), as in split files.
    pub row: usize,
    /// 1-based line number in the file.
    pub line: u64,
    /// The SMILES as written (trimmed).
    pub smiles: String,
    /// Why the row was left out.
    pub error: RowError,
}

/// Why one row of a table was left out (the rest are read).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RowError {
    /// RDKit rejected the molecule (or it is over the size limit).
    #[error(transparent)]
    Molecule(#[from] ChemError),
    /// The row itself is broken: the wrong number of fields, or bytes that are not UTF-8.
    #[error("malformed row: {0}")]
    Malformed(String),
}

impl RowError {
    /// A short category for counting failures by kind.
    pub fn category(&self) -> &'static str {
        match self {
            RowError::Molecule(e) => e.category(),
            RowError::Malformed(_) => "malformed row",
        }
    }
}

/// The valid molecules of a dataset with their (possibly missing) labels.
///
/// Entry `i` came from data row `rows[i]`; its targets are `targets[i*t..(i+1)*t]` with
/// `mask[i*t + j] == false` where task `j` has no label (the target is then 0).
#[derive(Debug, Clone, Default)]
pub struct MoleculeTable {
    /// The file it was read from.
    pub path: PathBuf,
    /// The SMILES column's name.
    pub smiles_column: String,
    /// Target column names, in order.
    pub task_names: Vec<String>,
    /// Number of data rows in the file.
    pub n_rows: usize,
    /// Data row of each entry.
    pub rows: Vec<usize>,
    /// SMILES of each entry (trimmed, as written).
    pub smiles: Vec<String>,
    /// Graph of each entry.
    pub graphs: Vec<MolGraph>,
    /// Row-major `len × n_tasks` targets (0 where missing).
    pub targets: Vec<f32>,
    /// Row-major `len × n_tasks` label mask.
    pub mask: Vec<bool>,
    /// Rows that were excluded, with reasons.
    pub failures: Vec<RowFailure>,
}

impl MoleculeTable {
    /// Number of valid molecules.
    pub fn len(&self) -> usize {
        self.smiles.len()
    }

    /// True when no molecule was valid.
    pub fn is_empty(&self) -> bool {
        self.smiles.is_empty()
    }

    /// Number of tasks.
    pub fn n_tasks(&self) -> usize {
        self.task_names.len()
    }

    /// Target of entry `i`, task `j`, or `None` when missing.
    pub fn target(&self, i: usize, j: usize) -> Option<f32> {
        let k = i * self.n_tasks() + j;
        self.mask[k].then(|| self.targets[k])
    }

    /// Reads a CSV/TSV file (`.gz` allowed), parsing every SMILES with RDKit in parallel.
    pub fn read(path: &Path, options: &TableOptions) -> Result<Self, DataError> {
        let (mut reader, line_of) = csv_reader_with_lines(path)?;
        let malformed = |e: csv::Error| {
            let line = line_of.line_of(e.position());
            DataError::Malformed {
                path: path.to_path_buf(),
                line,
                reason: e.to_string(),
            }
        };
        let header: Vec<String> = reader
            .headers()
            .map_err(malformed)?
            .iter()
            .map(|h| h.trim().to_string())
            .collect();
        let available = header.join(", ");
        let find = |name: &str| {
            header
                .iter()
                .position(|h| h == name.trim())
                .ok_or_else(|| DataError::MissingColumn {
                    path: path.to_path_buf(),
                    column: name.to_string(),
                    available: available.clone(),
                })
        };
        let smiles_idx = match &options.smiles_column {
            Some(name) => find(name)?,
            None => super::reader::find_smiles_column(&header).ok_or_else(|| {
                DataError::NoSmilesColumn {
                    path: path.to_path_buf(),
                    available: available.clone(),
                }
            })?,
        };

        // A row with the wrong number of fields or bytes that are not UTF-8 is reported and
        // left out; the rest are read. Other errors (I/O) end the read.
        let mut entries: Vec<Result<csv::StringRecord, String>> = Vec::new();
        let mut lines = Vec::new();
        for result in reader.records() {
            match result {
                Ok(record) => {
                    lines.push(line_of.line_of(record.position()));
                    entries.push(Ok(record));
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        csv::ErrorKind::UnequalLengths { .. } | csv::ErrorKind::Utf8 { .. }
                    ) =>
                {
                    lines.push(line_of.line_of(e.position()));
                    entries.push(Err(e.to_string()));
                }
                Err(e) => return Err(malformed(e)),
            }
        }
        let records: Vec<&csv::StringRecord> =
            entries.iter().filter_map(|e| e.as_ref().ok()).collect();

        let target_idx: Vec<usize> = match &options.target_columns {
            Some(names) => names.iter().map(|n| find(n)).collect::<Result<_, _>>()?,
            None => (0..header.len())
                .filter(|&c| c != smiles_idx)
                .filter(|&c| {
                    records.iter().all(|r| {
                        !matches!(
                            parse_label(r.get(c).unwrap_or("")),
                            Err(LabelError::NotANumber)
                        )
                    })
                })
                .collect(),
        };

        let parsed: Vec<Result<MolGraph, RowError>> = entries
            .par_iter()
            .map(|entry| match entry {
                Ok(r) => Ok(MolGraph::from_smiles_limited(
                    r.get(smiles_idx).unwrap_or(""),
                    options.max_heavy_atoms,
                )?),
                Err(reason) => Err(RowError::Malformed(reason.clone())),
            })
            .collect();

        let n_tasks = target_idx.len();
        let mut table = MoleculeTable {
            path: path.to_path_buf(),
            smiles_column: header[smiles_idx].clone(),
            task_names: target_idx.iter().map(|&c| header[c].clone()).collect(),
            n_rows: entries.len(),
            ..Default::default()
        };
        let empty = csv::StringRecord::new();
        for (row, ((entry, graph), &line)) in entries.iter().zip(parsed).zip(&lines).enumerate() {
            let record = entry.as_ref().unwrap_or(&empty);
            let smiles = record.get(smiles_idx).unwrap_or("").trim().to_string();
            let graph = match graph {
                Ok(graph) => graph,
                Err(error) => {
                    table.failures.push(RowFailure {
                        row,
                        line,
                        smiles,
                        error,
                    });
                    continue;
                }
            };
            let mut labels = Vec::with_capacity(n_tasks);
            for &c in &target_idx {
                let cell = record.get(c).unwrap_or("");
                let value = parse_label(cell).map_err(|reason| DataError::BadTarget {
                    path: path.to_path_buf(),
                    row,
                    line,
                    column: header[c].clone(),
                    value: cell.to_string(),
                    reason,
                })?;
                labels.push(value);
            }
            table.rows.push(row);
            table.smiles.push(smiles);
            table.graphs.push(graph);
            for label in labels {
                table.targets.push(label.unwrap_or(0.0));
                table.mask.push(label.is_some());
            }
        }
        Ok(table)
    }
}

/// Why a label cell is not a usable number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LabelError {
    /// The cell is not a number at all.
    #[error("is not a number")]
    NotANumber,
    /// The cell is a number but not a finite `f32` (`inf`, `-inf`, `1e400`, `1e39`): a loss
    /// over it would be infinite or NaN.
    #[error("is not a finite number (labels must lie within ±3.4e38)")]
    NotFinite,
}

/// Parses a label cell: a finite number, or `None` for blank / `nan` / `NA`.
///
/// Infinite values, and finite values beyond the `f32` range that would become infinite,
/// are refused ([`LabelError::NotFinite`]) rather than trained on.
pub fn parse_label(cell: &str) -> Result<Option<f32>, LabelError> {
    let cell = cell.trim();
    if cell.is_empty() || cell.eq_ignore_ascii_case("nan") || cell.eq_ignore_ascii_case("na") {
        return Ok(None);
    }
    let value: f64 = cell.parse().map_err(|_| LabelError::NotANumber)?;
    if value.is_nan() {
        return Ok(None);
    }
    let single = value as f32;
    if !single.is_finite() {
        return Err(LabelError::NotFinite);
    }
    Ok(Some(single))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_must_be_finite_f32() {
        assert_eq!(parse_label(" 1.5 "), Ok(Some(1.5)));
        assert_eq!(parse_label(""), Ok(None));
        assert_eq!(parse_label("NaN"), Ok(None));
        assert_eq!(parse_label("NA"), Ok(None));
        assert_eq!(parse_label("oops"), Err(LabelError::NotANumber));
        for cell in ["inf", "-inf", "Infinity", "1e400", "-1e39", "3.5e38"] {
            assert_eq!(parse_label(cell), Err(LabelError::NotFinite), "{cell}");
        }
        assert_eq!(parse_label("3.4e38"), Ok(Some(3.4e38)));
    }
}
