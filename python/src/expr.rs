//! Signatures and connectivity: `Query`, `References`, `connect`, `read_signatures`.

use std::path::PathBuf;

use moltx::api::ApiError;
use moltx::api::connectivity::{
    Connection, Query, References, Settings, read_signatures as read_matrix, score_with,
};
use moltx::expr::{MetaTable, Score, ScoreParams};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::arrow::{self, ArrowColumn};
use crate::error::api_error;
use crate::run::run;

/// A facade result as a Python result.
fn api<T>(r: Result<T, ApiError>) -> PyResult<T> {
    r.map_err(|e| api_error(&e))
}

/// A connectivity query: up/down gene sets or a full signature (boxed, as every value
/// stored in a Python object: Python's allocator aligns to 16 bytes only).
#[pyclass(module = "moltx._moltx", name = "Query", frozen)]
pub struct PyQuery(Box<Query>);

#[pymethods]
impl PyQuery {
    /// Reads a query file (GMT pair, up/down table, STARGEO disease table, two-column
    /// gene/value table, signature file).
    #[staticmethod]
    fn read(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let r = run(py, None, |_| Query::read(&path))?.into_result()?;
        Ok(PyQuery(Box::new(api(r)?)))
    }

    /// Up- and down-regulated genes.
    #[staticmethod]
    fn genes(name: &str, up: Vec<String>, down: Vec<String>) -> Self {
        PyQuery(Box::new(Query::from_genes(name, up, down)))
    }

    /// A full signature: gene ids and a float64 Arrow array of their values.
    #[staticmethod]
    fn signature(name: &str, genes: Vec<String>, values: &Bound<'_, PyAny>) -> PyResult<Self> {
        let values = arrow::floats(&arrow::import(values)?, "query values")?;
        if values.len() != genes.len() {
            return Err(PyValueError::new_err(format!(
                "query: {} genes, {} values",
                genes.len(),
                values.len()
            )));
        }
        Ok(PyQuery(Box::new(Query::from_signature(
            name, genes, values,
        ))))
    }
}

/// Reference signatures, ranked once for any number of queries.
#[pyclass(module = "moltx._moltx", name = "References", frozen)]
pub struct PyReferences(Box<References>);

#[pymethods]
impl PyReferences {
    /// Reads a GCT, GCTX or delimited signature file (one signature per row).
    #[staticmethod]
    fn read(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let r = run(py, None, |_| References::read(&path))?.into_result()?;
        Ok(PyReferences(Box::new(api(r)?)))
    }

    /// In-memory signatures: gene ids, signature ids and a float64 Arrow array of the values,
    /// one signature after another (row-major `len(ids) × len(genes)`).
    #[staticmethod]
    fn from_values(
        py: Python<'_>,
        genes: Vec<String>,
        ids: Vec<String>,
        values: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        let values = arrow::floats(&arrow::import(values)?, "reference values")?;
        let r = run(py, None, move |_| {
            References::from_values(genes, ids, values)
        })?
        .into_result()?;
        Ok(PyReferences(Box::new(api(r)?)))
    }

    /// Signature ids, in order.
    #[getter]
    fn ids(&self) -> Vec<String> {
        self.0.ids().to_vec()
    }

    /// Number of signatures.
    fn __len__(&self) -> usize {
        self.0.ids().len()
    }
}

/// Ranks every reference by connectivity to the query; the columns of the ranking:
/// `id`, `<score>`, then `ncs` (WTCS; `normalized` for KS) and `tau` where the score has
/// them, most reversing first (`order="mimic"`: most similar first).
#[pyfunction]
#[pyo3(signature = (
    query, references, score = "wtcs", *, n_genes = 150, tau_background = 1000, seed = 42,
    xsum_n = 100, order = "reverse", top = None
))]
#[allow(clippy::too_many_arguments)]
pub fn connect(
    py: Python<'_>,
    query: &Bound<'_, PyQuery>,
    references: &Bound<'_, PyReferences>,
    score: &str,
    n_genes: usize,
    tau_background: usize,
    seed: u64,
    xsum_n: usize,
    order: &str,
    top: Option<usize>,
) -> PyResult<Vec<(String, ArrowColumn)>> {
    let score = Score::parse(score).map_err(|e| api_error(&ApiError::from(e)))?;
    let mimic = match order {
        "reverse" => false,
        "mimic" => true,
        other => {
            return Err(PyValueError::new_err(format!(
                "unknown order {other:?} (known: reverse, mimic)"
            )));
        }
    };
    let settings = Settings {
        n_genes,
        tau_background,
        seed,
        params: ScoreParams { xsum_n },
    };
    let (q, r) = (&query.get().0, &references.get().0);
    let ranking = run(py, None, |_| score_with(q, r, score, &settings))?.into_result()?;
    let mut ranking = api(ranking)?;
    if mimic {
        // Most positive first; ties keep the reference order, as `moltx connect --order mimic`.
        let key = |c: &Connection| c.normalized.unwrap_or(c.score);
        ranking.sort_by(|a, b| key(b).total_cmp(&key(a)).then(b.score.total_cmp(&a.score)));
    }
    ranking.truncate(top.unwrap_or(usize::MAX));
    let mut columns = vec![
        (
            "id".to_string(),
            ArrowColumn::strings(ranking.iter().map(|c| Some(c.id.as_str()))),
        ),
        (
            score.name().to_string(),
            ArrowColumn::floats(ranking.iter().map(|c| c.score).collect(), None),
        ),
    ];
    let normalized: Option<Vec<f64>> = ranking.iter().map(|c| c.normalized).collect();
    if let Some(n) = normalized.filter(|_| !ranking.is_empty()) {
        let name = if score == Score::Ks {
            "normalized"
        } else {
            "ncs"
        };
        columns.push((name.to_string(), ArrowColumn::floats(n, None)));
    }
    let tau: Option<Vec<f64>> = ranking.iter().map(|c| c.tau).collect();
    if let Some(t) = tau.filter(|_| !ranking.is_empty()) {
        columns.push(("tau".to_string(), ArrowColumn::floats(t, None)));
    }
    Ok(columns)
}

/// Metadata fields as `(name, values)` pairs.
fn meta(table: &MetaTable) -> Vec<(String, Vec<String>)> {
    table
        .fields
        .iter()
        .cloned()
        .zip(table.values.iter().cloned())
        .collect()
}

/// The signatures of a GCT, GCTX or delimited file: `(genes, ids, values, gene metadata,
/// signature metadata)`, the values one signature after another (row-major
/// `len(ids) × len(genes)`).
#[pyfunction]
#[allow(clippy::type_complexity)]
pub fn read_signatures(
    py: Python<'_>,
    path: PathBuf,
) -> PyResult<(
    Vec<String>,
    Vec<String>,
    ArrowColumn,
    Vec<(String, Vec<String>)>,
    Vec<(String, Vec<String>)>,
)> {
    let m = run(py, None, |_| read_matrix(&path))?.into_result()?;
    let m = api(m)?;
    Ok((
        m.genes.ids().to_vec(),
        m.ids.clone(),
        ArrowColumn::floats(m.data.clone(), None),
        meta(&m.gene_meta),
        meta(&m.meta),
    ))
}
