//! The error type of the `expr` layer.

use std::path::PathBuf;

/// Every error the `expr` layer can return.
///
/// Errors that come from a file carry the file path and, where it makes
/// sense, the 1-based line number and the column or gene involved.
#[derive(Debug, thiserror::Error)]
pub enum ExprError {
    /// The file could not be opened, read or written.
    #[error("{path}: {source}")]
    Io {
        /// File involved.
        path: PathBuf,
        /// Underlying I/O error.
        source: std::io::Error,
    },
    /// A line of a text file could not be parsed.
    #[error("{path}:{line}{}: {message}", column.as_ref().map(|c| format!(" (column {c})")).unwrap_or_default())]
    Parse {
        /// File involved.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// Column name or gene id involved, if any.
        column: Option<String>,
        /// What was wrong.
        message: String,
    },
    /// The same identifier appears twice where ids must be unique.
    #[error("{path}:{line}: duplicate id '{id}'")]
    DuplicateId {
        /// File involved.
        path: PathBuf,
        /// 1-based line number of the second occurrence (0 for binary files).
        line: usize,
        /// The repeated identifier.
        id: String,
    },
    /// An HDF5 (GCTX) file has an unexpected layout or could not be read.
    #[error("{path}: HDF5: {message}")]
    Hdf5 {
        /// File involved.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// Dimensions of in-memory objects do not agree.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// A query none of whose genes is in the reference's gene space.
    #[error(
        "query '{query}': none of its {n_looked_for} gene ids matched the reference's \
         {n_reference} genes (looked for: {looked_for}; the reference's ids look like: \
         {reference_examples}). Use the reference's identifiers (e.g. Entrez ids for L1000) \
         or give a gene table that maps yours to them"
    )]
    NoGeneMatched {
        /// Query name.
        query: String,
        /// How many ids the query has.
        n_looked_for: usize,
        /// The first few of them, comma-separated.
        looked_for: String,
        /// How many genes the reference has.
        n_reference: usize,
        /// The reference's first few ids, comma-separated.
        reference_examples: String,
    },
    /// An argument is out of its valid range or inconsistent.
    #[error("invalid input: {0}")]
    Invalid(String),
}

impl ExprError {
    /// Builds a [`ExprError::Parse`] without a column.
    pub fn parse(path: impl Into<PathBuf>, line: usize, message: impl Into<String>) -> Self {
        ExprError::Parse {
            path: path.into(),
            line,
            column: None,
            message: message.into(),
        }
    }

    /// Builds a [`ExprError::Parse`] naming the column or gene involved.
    pub fn parse_at(
        path: impl Into<PathBuf>,
        line: usize,
        column: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        ExprError::Parse {
            path: path.into(),
            line,
            column: Some(column.into()),
            message: message.into(),
        }
    }

    /// Builds a [`ExprError::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ExprError::Io {
            path: path.into(),
            source,
        }
    }
}

/// Result alias of the `expr` layer.
pub type Result<T> = std::result::Result<T, ExprError>;
