//! Connectivity of a query signature or gene set against reference signatures.
//!
//! ```
//! use moltx::api::connectivity::{Query, References, score};
//! use moltx::expr::Score;
//! use std::path::Path;
//!
//! let references = References::read(Path::new("fixtures/expr/refs.tsv"))?;
//! let query = Query::read(Path::new("fixtures/expr/query.gmt"))?;
//! let ranking = score(&query, &references, Score::Wtcs)?;
//! // Most reversing first: DB00001 is the fixture's reverser.
//! assert_eq!(ranking[0].id, "DB00001");
//! assert!(ranking[0].score < 0.0);
//! # Ok::<(), moltx::api::ApiError>(())
//! ```

use std::path::Path;
use std::sync::Arc;

use super::ApiError;
use crate::expr::matrix::{Layout, read_signatures as read_matrix};
use crate::expr::normalize::{ConnectOptions, connect, group_ids};
use crate::expr::query::{align_query, read_query};
use crate::expr::{
    GeneQuery, GeneSpace, MetaTable, RankedReferences, Score, ScoreParams, SignatureMatrix,
};

pub use crate::expr::query::QueryInput as Query;

impl Query {
    /// Reads a query file of any supported kind (GMT pair, up/down table, STARGEO
    /// disease table, two-column gene/value table, signature file); the first query
    /// when the file holds several.
    pub fn read(path: &std::path::Path) -> Result<Self, ApiError> {
        Ok(read_query(path, None, Layout::Rows)?)
    }

    /// A query of up- and down-regulated genes.
    pub fn from_genes(name: &str, up: Vec<String>, down: Vec<String>) -> Self {
        Query::Genes(GeneQuery {
            name: name.to_string(),
            up,
            down,
        })
    }

    /// A full signature query: one value per gene.
    pub fn from_signature(name: &str, genes: Vec<String>, values: Vec<f64>) -> Self {
        Query::Signature {
            name: name.to_string(),
            ids: genes,
            values,
        }
    }
}

/// Reads signatures from a GCT, GCTX or delimited file (one signature per row), with
/// their gene and signature metadata.
pub fn read_signatures(path: &Path) -> Result<SignatureMatrix, ApiError> {
    Ok(read_matrix(path, Layout::Rows)?)
}

/// Reference signatures with their genes' aliases and per-signature ranks, ready to
/// score many queries against.
#[derive(Debug, Clone)]
pub struct References {
    matrix: SignatureMatrix,
    genes: GeneSpace,
    ranked: RankedReferences,
}

impl References {
    /// Reads a GCT, GCTX or delimited signature file (one signature per row).
    pub fn read(path: &Path) -> Result<Self, ApiError> {
        Self::from_matrix(read_signatures(path)?)
    }

    /// In-memory signatures without metadata: `values` holds one signature after another
    /// (row-major `ids.len() × genes.len()`).
    pub fn from_values(
        genes: Vec<String>,
        ids: Vec<String>,
        values: Vec<f64>,
    ) -> Result<Self, ApiError> {
        let genes = Arc::new(GeneSpace::new(genes)?);
        let empty = MetaTable::empty;
        Self::from_matrix(SignatureMatrix::new(genes, ids, values, empty(), empty())?)
    }

    /// The signatures.
    pub fn matrix(&self) -> &SignatureMatrix {
        &self.matrix
    }

    /// Prepares in-memory signatures; `pr_gene_id`/`pr_gene_symbol` row metadata
    /// become aliases of the genes.
    pub fn from_matrix(matrix: SignatureMatrix) -> Result<Self, ApiError> {
        let mut genes = (*matrix.genes).clone();
        for field in ["pr_gene_id", "pr_gene_symbol"] {
            if let Some(v) = matrix.gene_meta.field(field) {
                genes.add_aliases(v)?;
            }
        }
        let ranked = RankedReferences::from_matrix(&matrix)?;
        Ok(References {
            matrix,
            genes,
            ranked,
        })
    }

    /// Signature ids, in file order.
    pub fn ids(&self) -> &[String] {
        &self.matrix.ids
    }
}

/// Settings of a connectivity ranking (the CLI's defaults).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Up and down genes taken from a signature or disease query.
    pub n_genes: usize,
    /// Random background queries for tau (WTCS; 0: no tau).
    pub tau_background: usize,
    /// Seed of the background.
    pub seed: u64,
    /// Score parameters (XSum's N).
    pub params: ScoreParams,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            n_genes: 150,
            tau_background: 1000,
            seed: 42,
            params: ScoreParams::default(),
        }
    }
}

/// One reference's connectivity to the query.
#[derive(Debug, Clone, PartialEq)]
pub struct Connection {
    /// Reference signature id.
    pub id: String,
    /// Raw score (negative: the reference reverses the query).
    pub score: f64,
    /// NCS (WTCS) or Lamb's scaled score (KS).
    pub normalized: Option<f64>,
    /// Tau (WTCS with a background).
    pub tau: Option<f64>,
}

/// Every reference scored against the query, most reversing first (by the normalized
/// score where the score has one), with [`Settings::default`].
pub fn score(
    query: &Query,
    references: &References,
    score: Score,
) -> Result<Vec<Connection>, ApiError> {
    score_with(query, references, score, &Settings::default())
}

/// [`score`] with explicit settings.
pub fn score_with(
    query: &Query,
    references: &References,
    score: Score,
    settings: &Settings,
) -> Result<Vec<Connection>, ApiError> {
    let aligned = align_query(query, &references.genes, None, settings.n_genes)?;
    let options = ConnectOptions {
        params: settings.params,
        groups: group_ids(&references.matrix.meta, &[], references.ids().len())?,
        tau_background: settings.tau_background,
        seed: settings.seed,
    };
    let table = connect(&aligned, &references.ranked, score, &options)?;
    let mut out: Vec<Connection> = references
        .ids()
        .iter()
        .enumerate()
        .map(|(r, id)| Connection {
            id: id.clone(),
            score: table.raw[r],
            normalized: table.normalized.as_ref().map(|n| n[r]),
            tau: table.tau.as_ref().map(|t| t[r]),
        })
        .collect();
    out.sort_by(|a, b| {
        let key = |c: &Connection| c.normalized.unwrap_or(c.score);
        key(a).total_cmp(&key(b)).then(a.score.total_cmp(&b.score))
    });
    Ok(out)
}
