//! Atom attributions: how much each atom of a molecule contributes to a D-MPNN's prediction,
//! by integrated gradients (Sundararajan, Taly & Yan 2017) through the message passing.
//!
//! # Method
//! For a model output `f` (one task), an input `x` (the molecule's atom features `X_a` and
//! bond features `X_b`) and a baseline `x'`, the attribution of input feature `i` is
//!
//! ```text
//! IG_i = (x_i − x'_i) · ∫₀¹ ∂f/∂x_i (x' + α (x − x')) dα
//!      ≈ (x_i − x'_i) · (1/S) Σ_{k<S} ∂f/∂x_i (x' + α_k (x − x')),   α_k = (k + ½)/S
//! ```
//!
//! (the midpoint rule, error O(1/S²)). The baseline is the same graph with every atom and bond
//! feature zero: the molecule's shape without its chemistry. The attribution of atom `a` is
//! the sum of `IG_i` over its atom features plus half the attribution of each incident bond
//! (a bond's attribution is the sum over its features and both of its directed edges, which
//! carry the same features). The method is complete: the attributions of a molecule sum to
//! `f(x) − f(x')`, up to the quadrature error ([`AtomAttributions::completeness_gap`]
//! reports it; more [`IgSettings::steps`] shrink it).
//!
//! Why integrated gradients rather than occlusion: the kernel's ops are linear in their float
//! input and their backward is their hand-written adjoint ([`crate::kernel::autodiff`]), so
//! gradients reach the atom and bond feature tensors exactly on `Autodiff<Flex>` (and through
//! the stock-op reference elsewhere). Occlusion (removing an atom's messages) answers "what if
//! this atom were not there", a molecule the model never saw, needs one forward pass per atom,
//! and its attributions do not add up to anything; integrated gradients costs `S` gradient
//! evaluations per task whatever the molecule's size, all batched into a few forward/backward
//! passes, and its completeness is a checkable property.
//!
//! # Batching
//! The `S` interpolated copies of each (molecule, task) are put side by side in one graph
//! batch (a disjoint union, so copies do not interact), with two more copies per molecule at
//! `α = 1` and `α = 0` for `f(x)` and `f(x')`. One backward of `Σ_copies w_c · f_{task(c)}`
//! (with `w_c = 1/S`) gives every copy's gradient at once. Passes hold about
//! [`IgSettings::max_atoms_per_pass`] atoms.
//!
//! # Units
//! Regression: attributions and outputs in the task's units (the model's standardized output
//! times the training standard deviation; the mean cancels in `f(x) − f(x')`). Classification:
//! in logits (probabilities saturate, which would hide the contributions of confident
//! predictions). An ensemble's attributions are the mean of its members' (integrated gradients
//! are linear in `f`, so this is the attribution of the mean prediction).

mod gradients;
pub mod report;

use burn::tensor::Device;

use crate::kernel::KernelError;
use crate::model::config::TaskType;
use crate::model::{Checkpoint, InputError, ModelKind, MoleculeInput};

pub use report::{ExplainOptions, ExplainSummary, SkippedRow, write_explanations};

/// How integrated gradients are computed.
#[derive(Debug, Clone, PartialEq)]
pub struct IgSettings {
    /// Interpolation steps `S` between the baseline and the molecule (at least 1).
    pub steps: usize,
    /// Atoms per forward/backward pass, over all copies (bounds memory; at least one copy of
    /// a molecule is always put in a pass).
    pub max_atoms_per_pass: usize,
}

impl Default for IgSettings {
    fn default() -> Self {
        IgSettings {
            steps: 64,
            max_atoms_per_pass: 8192,
        }
    }
}

/// Why attributions could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    /// The model does not read molecular graphs, so it has no atoms to attribute to.
    #[error(
        "atom attributions need a D-MPNN (a model that reads molecular graphs); this is a \
         {kind} model"
    )]
    NotAGraphModel {
        /// The model kind.
        kind: String,
    },
    /// No model to explain.
    #[error("no model to explain (an empty ensemble)")]
    NoModels,
    /// A task name the model does not predict.
    #[error("unknown task {task:?} (the model predicts {known})")]
    UnknownTask {
        /// The name asked for.
        task: String,
        /// The model's tasks, comma-separated.
        known: String,
    },
    /// Settings that cannot work.
    #[error("{0}")]
    Settings(String),
    /// An input is not a molecular graph.
    #[error("input {index}: {source}")]
    Input {
        /// Position of the input.
        index: usize,
        /// What is wrong with it.
        source: InputError,
    },
    /// The network could not run.
    #[error(transparent)]
    Kernel(#[from] KernelError),
    /// The compound file could not be opened or read.
    #[error(transparent)]
    Data(#[from] crate::data::DataError),
    /// An output file could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: std::path::PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// The attributions of one molecule for some of a model's tasks.
#[derive(Debug, Clone, PartialEq)]
pub struct AtomAttributions {
    /// Number of atoms (RDKit's atom order, the [`crate::chem::MolGraph`] nodes).
    pub n_atoms: usize,
    /// The explained tasks, as indices into the model's tasks, in the order of the rows below.
    pub tasks: Vec<usize>,
    /// `tasks.len() × n_atoms` contributions, row-major (see the module doc for units).
    pub contributions: Vec<f64>,
    /// The model's output `f(x)` per explained task, in the contributions' units.
    pub output: Vec<f64>,
    /// The output at the baseline `f(x')` (all atom and bond features zero), per task.
    pub baseline: Vec<f64>,
}

impl AtomAttributions {
    /// The contributions of every atom to the `k`-th explained task.
    pub fn task_row(&self, k: usize) -> &[f64] {
        &self.contributions[k * self.n_atoms..(k + 1) * self.n_atoms]
    }

    /// `Σ contributions − (f(x) − f(x'))` for the `k`-th explained task: zero for exact
    /// integrated gradients, the quadrature error here.
    pub fn completeness_gap(&self, k: usize) -> f64 {
        self.task_row(k).iter().sum::<f64>() - (self.output[k] - self.baseline[k])
    }
}

/// The indices of `names` among `tasks` (all tasks when `names` is empty), in the order
/// given, without repeats.
pub fn task_indices(tasks: &[String], names: &[String]) -> Result<Vec<usize>, ExplainError> {
    if names.is_empty() {
        return Ok((0..tasks.len()).collect());
    }
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let j = tasks
            .iter()
            .position(|t| t == name)
            .ok_or_else(|| ExplainError::UnknownTask {
                task: name.clone(),
                known: tasks.join(", "),
            })?;
        if !out.contains(&j) {
            out.push(j);
        }
    }
    Ok(out)
}

/// A picture legend's account of an output: `task p=0.837` (classification: the
/// probability of the logit) or `task = 2.031` (regression).
pub fn describe_output(task_type: TaskType, task: &str, output: f64) -> String {
    match task_type {
        TaskType::Classification => format!("{task} p={:.3}", 1.0 / (1.0 + (-output).exp())),
        TaskType::Regression => format!("{task} = {output:.3}"),
    }
}

/// Checks that `members` can be explained together: at least one, all D-MPNNs.
pub fn check_models(members: &[Checkpoint]) -> Result<(), ExplainError> {
    if members.is_empty() {
        return Err(ExplainError::NoModels);
    }
    for m in members {
        if m.header.model.kind != ModelKind::Dmpnn {
            return Err(ExplainError::NotAGraphModel {
                kind: format!("{:?}", m.header.model.kind),
            });
        }
    }
    Ok(())
}

/// Integrated-gradient attributions of `inputs` (prepared for the models, graphs) for the
/// output columns `tasks` of a model, or the mean over an ensemble's members, computed on
/// `device` (gradients on `device.autodiff()`). One result per input, in order.
pub fn integrated_gradients(
    members: &[Checkpoint],
    inputs: &[&MoleculeInput],
    tasks: &[usize],
    settings: &IgSettings,
    device: &Device,
) -> Result<Vec<AtomAttributions>, ExplainError> {
    check_models(members)?;
    if settings.steps == 0 {
        return Err(ExplainError::Settings(
            "integrated gradients need at least one step".into(),
        ));
    }
    let n_tasks = members[0].header.tasks.len();
    if let Some(&j) = tasks.iter().find(|&&j| j >= n_tasks) {
        return Err(ExplainError::Settings(format!(
            "task index {j} of a model of {n_tasks} tasks"
        )));
    }
    let graphs = gradients::graphs_of(inputs)?;
    let mut total: Option<Vec<AtomAttributions>> = None;
    for member in members {
        let one = gradients::explain_checkpoint(member, inputs, &graphs, tasks, settings, device)?;
        total = Some(match total {
            None => one,
            Some(mut sum) => {
                for (s, o) in sum.iter_mut().zip(&one) {
                    add(&mut s.contributions, &o.contributions);
                    add(&mut s.output, &o.output);
                    add(&mut s.baseline, &o.baseline);
                }
                sum
            }
        });
    }
    let mut mean = total.unwrap_or_default();
    let k = members.len() as f64;
    if members.len() > 1 {
        for m in &mut mean {
            for v in m
                .contributions
                .iter_mut()
                .chain(&mut m.output)
                .chain(&mut m.baseline)
            {
                *v /= k;
            }
        }
    }
    Ok(mean)
}

fn add(sum: &mut [f64], more: &[f64]) {
    for (s, m) in sum.iter_mut().zip(more) {
        *s += m;
    }
}

#[cfg(test)]
mod tests;
