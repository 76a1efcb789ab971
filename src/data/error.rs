//! Errors of the data layer, with file, row, line and column where they apply.

use std::path::PathBuf;

/// Why a dataset, split or batch could not be built.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The CSV/TSV structure is broken (e.g. a row with the wrong number of fields).
    #[error("{path}: line {line}: {reason}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// A requested column is not in the header.
    #[error("{path}: no column named {column:?} (columns: {available})")]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The requested column.
        column: String,
        /// The header, comma-separated.
        available: String,
    },
    /// No column looks like SMILES and none was named.
    #[error("{path}: no SMILES column (name one; columns: {available})")]
    NoSmilesColumn {
        /// The file.
        path: PathBuf,
        /// The header, comma-separated.
        available: String,
    },
    /// A target cell is neither a finite number nor blank/`nan`.
    #[error("{path}: row {row} (line {line}), column {column:?}: {value:?} {reason}")]
    BadTarget {
        /// The file.
        path: PathBuf,
        /// 0-based data row (header excluded).
        row: usize,
        /// 1-based line number.
        line: u64,
        /// Column name.
        column: String,
        /// The cell as written.
        value: String,
        /// What is wrong with it.
        reason: crate::data::table::LabelError,
    },
    /// Split sizes or parameters that cannot work.
    #[error("invalid split: {0}")]
    InvalidSplit(String),
    /// A split file that does not match the dataset.
    #[error("{path}: line {line}: {reason}")]
    SplitFile {
        /// The split file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        reason: String,
    },
}
