//! `_moltx.Model`: a loaded model scoring SMILES in memory (the facade's [`Predictor`]).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use moltx::api::{Device, MolError, Prediction, Predictor};
use moltx::model::calibration::set_label;
use moltx::model::mc_dropout::{DropoutRate, McDropout};
use moltx::model::uncertainty::{CalibrationChoice, UncertaintyRequest, UncertaintySource};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBool;

use crate::arrow::{self, ArrowColumn};
use crate::error::api_error;
use crate::run::{Stop, run};

/// Molecules scored between two looks at the stop flag.
const SLICE: usize = 4096;

/// Why a row without a SMILES failed.
const MISSING: &str = "missing SMILES (null)";

/// A loaded model (file, ensemble folder, neighbour model or fusion folder, or the bundled
/// Tox21 model) with the embeddings of its first network, loaded on first use.
#[pyclass(module = "moltx._moltx", name = "Model", frozen)]
pub struct Model {
    /// Boxed: the predictor is aligned beyond the 16 bytes Python's allocator gives the
    /// object it is stored in.
    predictor: Box<Predictor>,
    /// The model's file or folder; `None` for the bundled model.
    source: Option<PathBuf>,
    embedder: Mutex<Option<Arc<Predictor>>>,
    threads: Option<usize>,
}

impl Model {
    /// The predictor.
    pub fn predictor(&self) -> &Predictor {
        &self.predictor
    }

    /// The default thread count of calls on this model.
    pub fn threads(&self) -> Option<usize> {
        self.threads
    }

    fn new(
        predictor: Predictor,
        source: Option<PathBuf>,
        threads: Option<usize>,
        max_atoms: Option<usize>,
    ) -> Self {
        let predictor = match max_atoms {
            Some(n) => predictor.with_max_heavy_atoms(n),
            None => predictor,
        };
        Model {
            predictor: Box::new(predictor),
            source,
            embedder: Mutex::new(None),
            threads,
        }
    }

    fn embedder(&self) -> Result<Arc<Predictor>, moltx::api::ApiError> {
        let mut slot = self.embedder.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = &*slot {
            return Ok(Arc::clone(e));
        }
        let e = match &self.source {
            Some(path) => Predictor::load_embedder(path, self.predictor.device())?,
            None => Predictor::bundled_embedder()?,
        };
        let e = Arc::new(e.with_max_heavy_atoms(self.predictor.max_heavy_atoms()));
        *slot = Some(Arc::clone(&e));
        Ok(e)
    }
}

/// The request of `Model.load`'s uncertainty arguments: `uncertainty` (`"ensemble"`,
/// `"dropout"` or `None`), MC dropout's `samples`, `seed` and `dropout_p` (a probability of its
/// own for every dropout layer), and `calibration` (`None` or
/// `True`: the model's own file when it exists; `False`: none; a path: that file).
fn uncertainty_request(
    uncertainty: Option<&str>,
    samples: Option<usize>,
    seed: Option<u64>,
    dropout_p: Option<f64>,
    calibration: Option<&Bound<'_, PyAny>>,
) -> PyResult<UncertaintyRequest> {
    let value_error =
        |e: moltx::model::uncertainty::UncertaintyError| PyValueError::new_err(e.to_string());
    let estimator = match uncertainty {
        Some("dropout") => {
            let mut mc = McDropout::new(
                samples.unwrap_or(McDropout::DEFAULT_SAMPLES),
                seed.unwrap_or(0),
            )
            .map_err(value_error)?;
            if let Some(p) = dropout_p {
                mc = mc.with_rate(DropoutRate::new(p).map_err(value_error)?);
            }
            Some(UncertaintySource::Dropout(mc))
        }
        Some("ensemble") | None if samples.is_some() || seed.is_some() || dropout_p.is_some() => {
            return Err(PyValueError::new_err(
                "samples, seed and dropout_p go with uncertainty=\"dropout\"",
            ));
        }
        Some("ensemble") => Some(UncertaintySource::Spread),
        None => None,
        Some(other) => {
            return Err(PyValueError::new_err(format!(
                "uncertainty={other:?}: expected \"ensemble\", \"dropout\" or None"
            )));
        }
    };
    let calibration = match calibration {
        None => CalibrationChoice::Auto,
        Some(c) if c.is_instance_of::<PyBool>() => {
            if c.extract::<bool>()? {
                CalibrationChoice::Auto
            } else {
                CalibrationChoice::Off
            }
        }
        Some(c) => CalibrationChoice::File(c.extract::<PathBuf>()?),
    };
    Ok(UncertaintyRequest {
        estimator,
        calibration,
    })
}

/// Predictions of `smiles` in slices, looking at the stop flag between slices; rows after a
/// stop are left out (the caller raises). `None` inputs fail as missing.
fn predict_all(
    predictor: &Predictor,
    smiles: &[Option<&str>],
    stop: &Stop,
) -> Vec<Result<Prediction, String>> {
    let mut out = Vec::with_capacity(smiles.len());
    for slice in smiles.chunks(SLICE) {
        if stop.requested() {
            break;
        }
        let present: Vec<&str> = slice.iter().flatten().copied().collect();
        let mut scored = predictor.predict_smiles(&present).into_iter();
        for s in slice {
            out.push(match s {
                None => Err(MISSING.to_string()),
                Some(_) => match scored.next() {
                    Some(r) => r.map_err(|e: MolError| e.to_string()),
                    None => Err("no prediction".to_string()),
                },
            });
        }
    }
    out
}

#[pymethods]
impl Model {
    /// Loads a model file, a folder of them (an ensemble), a nearest-neighbour model file or
    /// a fusion folder, with an uncertainty estimate and calibration ([`uncertainty_request`]).
    #[staticmethod]
    #[pyo3(signature = (
        path, *, threads = None, max_atoms = None, uncertainty = None, samples = None,
        seed = None, dropout_p = None, calibration = None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn load(
        py: Python<'_>,
        path: PathBuf,
        threads: Option<usize>,
        max_atoms: Option<usize>,
        uncertainty: Option<&str>,
        samples: Option<usize>,
        seed: Option<u64>,
        dropout_p: Option<f64>,
        calibration: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let device = Device::flex();
        let request = uncertainty_request(uncertainty, samples, seed, dropout_p, calibration)?;
        let loaded = run(py, threads, |_| {
            Predictor::load_with(&path, &request, &device)
        })?
        .into_result()?;
        let predictor = loaded.map_err(|e| api_error(&e))?;
        Ok(Self::new(predictor, Some(path), threads, max_atoms))
    }

    /// The bundled 12-task Tox21 D-MPNN.
    #[staticmethod]
    #[pyo3(signature = (*, threads = None, max_atoms = None))]
    fn bundled(py: Python<'_>, threads: Option<usize>, max_atoms: Option<usize>) -> PyResult<Self> {
        let loaded = run(py, threads, |_| Predictor::bundled())?.into_result()?;
        let predictor = loaded.map_err(|e| api_error(&e))?;
        Ok(Self::new(predictor, None, threads, max_atoms))
    }

    /// Output names, in order.
    #[getter]
    fn tasks(&self) -> Vec<String> {
        self.predictor.tasks().to_vec()
    }

    /// What the model reads, as JSON.
    #[getter]
    fn input_spec_json(&self) -> PyResult<String> {
        serde_json::to_string(&self.predictor.input_spec())
            .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))
    }

    /// True for ensembles: predictions carry a standard deviation per task.
    #[getter]
    fn has_spread(&self) -> bool {
        self.predictor.has_spread()
    }

    /// The uncertainty estimator in effect: `"ensemble"`, `"dropout"` or `None`.
    #[getter]
    fn uncertainty(&self) -> Option<&'static str> {
        self.predictor.estimator().map(|e| match e {
            UncertaintySource::Spread => "ensemble",
            UncertaintySource::Dropout(_) => "dropout",
        })
    }

    /// The calibration applied to every prediction, as JSON (`None`: none).
    #[getter]
    fn calibration_json(&self) -> PyResult<Option<String>> {
        self.predictor
            .calibration()
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| PyValueError::new_err(e.to_string()))
    }

    /// The model's file or folder (`None` for the bundled model).
    #[getter]
    fn path(&self) -> Option<PathBuf> {
        self.source.clone()
    }

    /// The size limit: molecules of more heavy atoms fail.
    #[getter]
    fn max_atoms(&self) -> usize {
        self.predictor.max_heavy_atoms()
    }

    /// The default thread count (`None`: one per core).
    #[getter(threads)]
    fn threads_py(&self) -> Option<usize> {
        self.threads
    }

    /// Predictions of an Arrow string array (or chunked array) as Arrow columns, in order:
    /// `smiles`, `<task>…`, `<task>_std…` (ensembles), `error`.
    #[pyo3(signature = (smiles, *, threads = None))]
    fn predict_columns(
        &self,
        py: Python<'_>,
        smiles: &Bound<'_, PyAny>,
        threads: Option<usize>,
    ) -> PyResult<Vec<(String, ArrowColumn)>> {
        let arrays = arrow::import(smiles)?;
        let input = arrow::strings(&arrays)?;
        let predictor = &self.predictor;
        let input = &input;
        let results = run(py, threads.or(self.threads), |stop| {
            predict_all(predictor, input, stop)
        })?
        .into_result()?;
        Ok(prediction_columns(predictor, input, &results))
    }

    /// Embeddings of an Arrow string array: `(rows, dimensions, values, errors)` with the
    /// values row-major (NaN rows where a molecule failed) and `errors` a string column.
    #[pyo3(signature = (smiles, *, threads = None))]
    fn embed_columns(
        &self,
        py: Python<'_>,
        smiles: &Bound<'_, PyAny>,
        threads: Option<usize>,
    ) -> PyResult<(usize, usize, ArrowColumn, ArrowColumn)> {
        let arrays = arrow::import(smiles)?;
        let input = arrow::strings(&arrays)?;
        let input = &input;
        let outcome = run(py, threads.or(self.threads), |stop| {
            self.embedder()
                .map(|e| (predict_all(&e, input, stop), e.tasks().len()))
        })?
        .into_result()?;
        let (results, d) = outcome.map_err(|e| api_error(&e))?;
        let mut values = Vec::with_capacity(results.len() * d);
        for r in &results {
            match r {
                Ok(p) => values.extend_from_slice(&p.values),
                Err(_) => values.extend(std::iter::repeat_n(f64::NAN, d)),
            }
        }
        let errors =
            ArrowColumn::strings(results.iter().map(|r| r.as_ref().err().map(|e| e.as_str())));
        Ok((results.len(), d, ArrowColumn::floats(values, None), errors))
    }

    fn __repr__(&self) -> String {
        let source = match &self.source {
            Some(p) => format!("{:?}", p.display().to_string()),
            None => "bundled".to_string(),
        };
        format!("Model({source}, {} tasks)", self.predictor.tasks().len())
    }
}

/// The columns of predictions: `smiles`, one per task, one `_std` per task for ensembles
/// (`_unc` when an uncertainty was asked for or a calibration applies), `_lo` and `_hi` per
/// task for conformal intervals, `_set` per task for conformal sets, `error`.
fn prediction_columns(
    predictor: &Predictor,
    input: &[Option<&str>],
    results: &[Result<Prediction, String>],
) -> Vec<(String, ArrowColumn)> {
    let tasks = predictor.tasks();
    let n = results.len();
    let valid: Vec<bool> = results.iter().map(Result::is_ok).collect();
    let mut columns = vec![(
        "smiles".to_string(),
        ArrowColumn::strings(input.iter().take(n).copied()),
    )];
    let column = |j: usize, spread: bool| -> Vec<f64> {
        results
            .iter()
            .map(|r| match r {
                Ok(p) if spread => p.spread.as_ref().map_or(f64::NAN, |s| s[j]),
                Ok(p) => p.values[j],
                Err(_) => f64::NAN,
            })
            .collect()
    };
    for (j, t) in tasks.iter().enumerate() {
        columns.push((
            t.clone(),
            ArrowColumn::floats(column(j, false), Some(valid.clone())),
        ));
    }
    if predictor.has_spread() {
        let uncertain = predictor.estimator().is_some() || predictor.calibration().is_some();
        let suffix = if uncertain { "unc" } else { "std" };
        for (j, t) in tasks.iter().enumerate() {
            columns.push((
                format!("{t}_{suffix}"),
                ArrowColumn::floats(column(j, true), Some(valid.clone())),
            ));
        }
    }
    let calibration = predictor.calibration();
    if calibration.is_some_and(|c| c.has_intervals()) {
        for (bound, suffix) in [(0, "lo"), (1, "hi")] {
            for (j, t) in tasks.iter().enumerate() {
                let values = results
                    .iter()
                    .map(|r| match r {
                        Ok(Prediction {
                            interval: Some(i), ..
                        }) => i.get(j).map_or(f64::NAN, |(lo, hi)| [*lo, *hi][bound]),
                        _ => f64::NAN,
                    })
                    .collect();
                columns.push((
                    format!("{t}_{suffix}"),
                    ArrowColumn::floats(values, Some(valid.clone())),
                ));
            }
        }
    }
    if calibration.is_some_and(|c| c.has_sets()) {
        for (j, t) in tasks.iter().enumerate() {
            let sets = results.iter().map(|r| match r {
                Ok(Prediction { set: Some(s), .. }) => s.get(j).map(|s| set_label(*s)),
                _ => None,
            });
            columns.push((format!("{t}_set"), ArrowColumn::strings(sets)));
        }
    }
    columns.push((
        "error".to_string(),
        ArrowColumn::strings(results.iter().map(|r| r.as_ref().err().map(String::as_str))),
    ));
    columns
}
