//! `explain_columns` and `explain_svg`: atom attributions of a model's predictions (the
//! facade's [`Explainer`], integrated gradients through the D-MPNN), behind `Model.explain`
//! and `Model.explain_svg`.
//!
//! Each call loads the model's networks again from the model's file or folder (or the bundled
//! model), on the model's device, and explains with its size limit and thread count.

use std::path::PathBuf;
use std::sync::Arc;

use arrow_array::Int64Array;
use moltx::api::{ApiError, Explainer, Explanation, MolError};
use moltx::chem::depict::Depiction;
use moltx::explain::describe_output;
use pyo3::prelude::*;

use crate::arrow::{self, ArrowColumn};
use crate::error::{MoltxError, api_error};
use crate::model::Model;
use crate::run::{Stop, run};

/// Molecules explained between two looks at the stop flag.
const SLICE: usize = 64;

/// Why a row without a SMILES failed.
const MISSING: &str = "missing SMILES (null)";

/// The file or folder of a Python `Model` (`None`: the bundled model), checking `steps`.
fn model_path(model: &Bound<'_, Model>, steps: usize) -> PyResult<Option<PathBuf>> {
    if steps == 0 {
        return Err(pyo3::exceptions::PyValueError::new_err(
            "steps must be at least 1",
        ));
    }
    model.getattr("path")?.extract()
}

/// Loads the explainer (inside the GIL-free work).
fn load(model: &Model, path: Option<&PathBuf>, steps: usize) -> Result<Explainer, ApiError> {
    let predictor = model.predictor();
    let explainer = match path {
        Some(p) => Explainer::load(p, predictor.device())?,
        None => Explainer::bundled()?,
    };
    Ok(explainer
        .with_steps(steps)
        .with_max_heavy_atoms(predictor.max_heavy_atoms()))
}

/// Explanations of `smiles` in slices, looking at the stop flag between slices; rows after a
/// stop are left out (the caller raises). `None` inputs fail as missing.
fn explain_all(
    explainer: &Explainer,
    smiles: &[Option<&str>],
    tasks: &[&str],
    stop: &Stop,
) -> Result<Vec<Result<Explanation, String>>, ApiError> {
    let mut out = Vec::with_capacity(smiles.len());
    for slice in smiles.chunks(SLICE) {
        if stop.requested() {
            break;
        }
        let present: Vec<&str> = slice.iter().flatten().copied().collect();
        let mut explained = explainer.explain_smiles(&present, tasks)?.into_iter();
        for s in slice {
            out.push(match s {
                None => Err(MISSING.to_string()),
                Some(_) => match explained.next() {
                    Some(r) => r.map_err(|e: MolError| e.to_string()),
                    None => Err("no explanation".to_string()),
                },
            });
        }
    }
    Ok(out)
}

/// Per-atom contributions of an Arrow string array as Arrow columns, one row per atom per
/// explained task (a failed input is one row with its `error`): `row` (the input's position),
/// `smiles`, `task`, `atom`, `element`, `contribution`, `output`, `baseline`, `error`.
#[pyfunction]
#[pyo3(signature = (model, smiles, *, tasks = None, steps = 64, threads = None))]
pub fn explain_columns(
    py: Python<'_>,
    model: &Bound<'_, Model>,
    smiles: &Bound<'_, PyAny>,
    tasks: Option<Vec<String>>,
    steps: usize,
    threads: Option<usize>,
) -> PyResult<Vec<(String, ArrowColumn)>> {
    let path = model_path(model, steps)?;
    let arrays = arrow::import(smiles)?;
    let input = arrow::strings(&arrays)?;
    let native = model.get();
    let tasks = tasks.unwrap_or_default();
    let (input, tasks) = (&input, &tasks);
    let threads = threads.or(native.threads());
    let results = run(py, threads, |stop| {
        let explainer = load(native, path.as_ref(), steps)?;
        let names: Vec<&str> = tasks.iter().map(String::as_str).collect();
        explain_all(&explainer, input, &names, stop)
    })?
    .into_result()?
    .map_err(|e| api_error(&e))?;
    Ok(columns(input, &results))
}

/// The long table of [`explain_columns`].
fn columns(
    input: &[Option<&str>],
    results: &[Result<Explanation, String>],
) -> Vec<(String, ArrowColumn)> {
    let mut row: Vec<i64> = Vec::new();
    let mut smiles: Vec<Option<&str>> = Vec::new();
    let mut task: Vec<Option<&str>> = Vec::new();
    let mut atom: Vec<Option<i64>> = Vec::new();
    let mut element: Vec<Option<&str>> = Vec::new();
    let (mut contribution, mut output, mut baseline) = (Vec::new(), Vec::new(), Vec::new());
    let mut valid: Vec<bool> = Vec::new();
    let mut error: Vec<Option<&str>> = Vec::new();
    for (i, r) in results.iter().enumerate() {
        match r {
            Ok(e) => {
                for (k, name) in e.tasks.iter().enumerate() {
                    let a = &e.attributions;
                    for (j, c) in a.task_row(k).iter().enumerate() {
                        row.push(i as i64);
                        smiles.push(input[i]);
                        task.push(Some(name));
                        atom.push(Some(j as i64));
                        element.push(e.elements.get(j).map(String::as_str));
                        contribution.push(*c);
                        output.push(a.output[k]);
                        baseline.push(a.baseline[k]);
                        valid.push(true);
                        error.push(None);
                    }
                }
            }
            Err(reason) => {
                row.push(i as i64);
                smiles.push(input[i]);
                task.push(None);
                atom.push(None);
                element.push(None);
                contribution.push(f64::NAN);
                output.push(f64::NAN);
                baseline.push(f64::NAN);
                valid.push(false);
                error.push(Some(reason));
            }
        }
    }
    let ints = |v: Vec<Option<i64>>| ArrowColumn::new(Arc::new(Int64Array::from(v)));
    vec![
        ("row".into(), ints(row.into_iter().map(Some).collect())),
        ("smiles".into(), ArrowColumn::strings(smiles)),
        ("task".into(), ArrowColumn::strings(task)),
        ("atom".into(), ints(atom)),
        ("element".into(), ArrowColumn::strings(element)),
        (
            "contribution".into(),
            ArrowColumn::floats(contribution, Some(valid.clone())),
        ),
        (
            "output".into(),
            ArrowColumn::floats(output, Some(valid.clone())),
        ),
        (
            "baseline".into(),
            ArrowColumn::floats(baseline, Some(valid)),
        ),
        ("error".into(), ArrowColumn::strings(error)),
    ]
}

/// An SVG picture of one molecule with atoms shaded by their contribution to `task` (the
/// first task when `None`), drawn by RDKit; the legend and `<title>` are `legend` (default:
/// the SMILES, the task and the prediction).
#[pyfunction]
#[pyo3(signature = (
    model, smiles, task = None, *, steps = 64, width = 500, height = 400, legend = None,
    atom_indices = false, threads = None
))]
#[allow(clippy::too_many_arguments)]
pub fn explain_svg(
    py: Python<'_>,
    model: &Bound<'_, Model>,
    smiles: String,
    task: Option<String>,
    steps: usize,
    width: u32,
    height: u32,
    legend: Option<String>,
    atom_indices: bool,
    threads: Option<usize>,
) -> PyResult<String> {
    let path = model_path(model, steps)?;
    let native = model.get();
    let threads = threads.or(native.threads());
    let (smiles, task, legend) = (&smiles, &task, &legend);
    let drawn = run(
        py,
        threads,
        |_| -> Result<Result<String, String>, ApiError> {
            let explainer = load(native, path.as_ref(), steps)?;
            let task = match task {
                Some(t) => t.clone(),
                None => explainer.tasks()[0].clone(),
            };
            let explained = explainer.explain_smiles(&[smiles.as_str()], &[task.as_str()])?;
            let e = match explained.into_iter().next() {
                Some(Ok(e)) => e,
                Some(Err(e)) => return Ok(Err(e.to_string())),
                None => return Ok(Err("no explanation".into())),
            };
            let task_type = explainer.members()[0].header.task_type;
            let legend = legend.clone().unwrap_or_else(|| {
                let output = describe_output(task_type, &task, e.attributions.output[0]);
                format!("{smiles}   {output}")
            });
            let depiction = Depiction {
                width,
                height,
                title: Some(legend.replace('\n', " ")),
                legend,
                atom_indices,
            };
            Ok(match e.svg(&task, &depiction) {
                Some(Ok(svg)) => Ok(svg),
                Some(Err(err)) => Err(err.to_string()),
                None => Err(format!("task {task} was not explained")),
            })
        },
    )?
    .into_result()?
    .map_err(|e| api_error(&e))?;
    drawn.map_err(MoltxError::new_err)
}
