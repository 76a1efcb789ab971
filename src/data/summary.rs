//! What `moltx inspect` reports about a dataset: rows, failures by reason, label statistics,
//! scaffolds, and molecule sizes.

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::Serialize;

use super::table::MoleculeTable;
use crate::chem::{ChemError, scaffold::scaffold_of_smiles};

/// One rejected row, as shown to the user.
#[derive(Debug, Clone, Serialize)]
pub struct FailureSummary {
    /// 0-based data row.
    pub row: usize,
    /// 1-based line number.
    pub line: u64,
    /// The SMILES as written.
    pub smiles: String,
    /// RDKit's reason.
    pub reason: String,
}

/// Label statistics of one task.
#[derive(Debug, Clone, Serialize)]
pub struct TaskSummary {
    /// Column name.
    pub name: String,
    /// `"binary"` when every label is 0 or 1, else `"regression"`.
    pub kind: &'static str,
    /// Number of labelled molecules.
    pub labelled: usize,
    /// Fraction of valid molecules without a label.
    pub missing_fraction: f64,
    /// Number of positives (binary tasks).
    pub positives: Option<usize>,
    /// Fraction of labelled molecules that are positive (binary tasks).
    pub positive_fraction: Option<f64>,
    /// Mean label (regression tasks).
    pub mean: Option<f64>,
    /// Sample standard deviation (regression tasks).
    pub sd: Option<f64>,
    /// Smallest label.
    pub min: Option<f64>,
    /// Largest label.
    pub max: Option<f64>,
}

/// Minimum, maximum, mean and median of a count.
#[derive(Debug, Clone, Serialize, Default)]
pub struct CountStats {
    /// Smallest.
    pub min: usize,
    /// Largest.
    pub max: usize,
    /// Mean.
    pub mean: f64,
    /// Median.
    pub median: f64,
}

impl CountStats {
    /// Statistics of `values` (all zero when empty).
    pub fn of(mut values: Vec<usize>) -> Self {
        if values.is_empty() {
            return Self::default();
        }
        values.sort_unstable();
        let n = values.len();
        let median = if n % 2 == 1 {
            values[n / 2] as f64
        } else {
            (values[n / 2 - 1] + values[n / 2]) as f64 / 2.0
        };
        CountStats {
            min: values[0],
            max: values[n - 1],
            mean: values.iter().sum::<usize>() as f64 / n as f64,
            median,
        }
    }
}

/// Everything `moltx inspect` prints.
#[derive(Debug, Clone, Serialize)]
pub struct DatasetSummary {
    /// The file.
    pub path: String,
    /// The SMILES column.
    pub smiles_column: String,
    /// Data rows in the file.
    pub rows: usize,
    /// Rows whose molecule RDKit accepted.
    pub valid: usize,
    /// Rows excluded.
    pub failed: usize,
    /// Failure counts by category.
    pub failures_by_reason: BTreeMap<String, usize>,
    /// The first failures, in file order.
    pub failures: Vec<FailureSummary>,
    /// Per-task label statistics.
    pub tasks: Vec<TaskSummary>,
    /// Distinct Bemis–Murcko scaffolds among valid molecules (acyclic ones share the empty scaffold).
    pub scaffolds: usize,
    /// Valid molecules without rings.
    pub acyclic: usize,
    /// Heavy atoms per molecule.
    pub atoms: CountStats,
    /// Bonds per molecule.
    pub bonds: CountStats,
}

/// Scaffold of each SMILES, computed in parallel.
pub fn scaffolds_of(smiles: &[String]) -> Vec<Result<String, ChemError>> {
    smiles.par_iter().map(|s| scaffold_of_smiles(s)).collect()
}

impl DatasetSummary {
    /// Summarizes a table, listing at most `max_failures` failures.
    pub fn of(table: &MoleculeTable, max_failures: usize) -> Self {
        let mut failures_by_reason = BTreeMap::new();
        for f in &table.failures {
            *failures_by_reason
                .entry(f.error.category().to_string())
                .or_insert(0) += 1;
        }
        let scaffolds: Vec<String> = scaffolds_of(&table.smiles)
            .into_iter()
            .zip(&table.smiles)
            .map(|(s, smiles)| s.unwrap_or_else(|_| format!("unscaffoldable:{smiles}")))
            .collect();
        let distinct: std::collections::HashSet<&str> =
            scaffolds.iter().map(String::as_str).collect();
        DatasetSummary {
            path: table.path.display().to_string(),
            smiles_column: table.smiles_column.clone(),
            rows: table.n_rows,
            valid: table.len(),
            failed: table.failures.len(),
            failures_by_reason,
            failures: table
                .failures
                .iter()
                .take(max_failures)
                .map(|f| FailureSummary {
                    row: f.row,
                    line: f.line,
                    smiles: f.smiles.clone(),
                    reason: f.error.to_string(),
                })
                .collect(),
            tasks: (0..table.n_tasks())
                .map(|j| task_summary(table, j))
                .collect(),
            scaffolds: distinct.len(),
            acyclic: scaffolds.iter().filter(|s| s.is_empty()).count(),
            atoms: CountStats::of(table.graphs.iter().map(|g| g.n_atoms()).collect()),
            bonds: CountStats::of(table.graphs.iter().map(|g| g.n_bonds()).collect()),
        }
    }
}

fn task_summary(table: &MoleculeTable, j: usize) -> TaskSummary {
    let labels: Vec<f64> = (0..table.len())
        .filter_map(|i| table.target(i, j))
        .map(f64::from)
        .collect();
    let n = labels.len();
    let binary = n > 0 && labels.iter().all(|&v| v == 0.0 || v == 1.0);
    let min = labels.iter().copied().reduce(f64::min);
    let max = labels.iter().copied().reduce(f64::max);
    let mean = (n > 0).then(|| labels.iter().sum::<f64>() / n as f64);
    let sd = mean
        .filter(|_| n > 1)
        .map(|m| (labels.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt());
    let positives = binary.then(|| labels.iter().filter(|&&v| v == 1.0).count());
    TaskSummary {
        name: table.task_names[j].clone(),
        kind: if binary { "binary" } else { "regression" },
        labelled: n,
        missing_fraction: if table.is_empty() {
            0.0
        } else {
            1.0 - n as f64 / table.len() as f64
        },
        positives,
        positive_fraction: positives.map(|p| p as f64 / n as f64),
        mean: if binary { None } else { mean },
        sd: if binary { None } else { sd },
        min,
        max,
    }
}
