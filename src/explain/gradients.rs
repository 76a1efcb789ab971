//! Integrated gradients of one model file, batched (see the parent module for the method).
//!
//! Work is cut into *units*: `steps` interpolated copies of one molecule for one task (split
//! into several units when `steps` copies would exceed the pass budget), and one unit per
//! molecule of two copies at `α = 1` and `α = 0` for the outputs. Units are packed in order
//! into passes of about `max_atoms_per_pass` atoms; each pass is one forward and one backward
//! on `device.autodiff()`, with the network's weights untracked and the scaled atom and bond
//! feature tensors as the only tracked leaves.

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::{AtomAttributions, ExplainError, IgSettings};
use crate::chem::MolGraph;
use crate::data::GraphBatch;
use crate::kernel::KernelError;
use crate::model::config::TaskType;
use crate::model::dmpnn::GraphTensors;
use crate::model::{BatchTensors, Checkpoint, InputError, MoleculeInput, StructureInput};
use crate::model::{PropertyNet, StructureTensors};

/// The graphs of the inputs, or which input is not one.
pub(super) fn graphs_of<'a>(
    inputs: &[&'a MoleculeInput],
) -> Result<Vec<&'a MolGraph>, ExplainError> {
    inputs
        .iter()
        .enumerate()
        .map(|(index, input)| match &input.structure {
            StructureInput::Graph(g) => Ok(g),
            other => Err(ExplainError::Input {
                index,
                source: InputError::WrongStructure {
                    expected: "a molecular graph",
                    found: match other {
                        StructureInput::Morgan(_) => "Morgan fingerprint bits",
                        _ => "no structure",
                    },
                },
            }),
        })
        .collect()
}

/// One copy of a molecule in a pass.
#[derive(Debug, Clone, Copy)]
struct Replica {
    /// Which input.
    input: usize,
    /// Interpolation factor of its features.
    alpha: f32,
    /// What to do with it: `Some(k)`: its gradient of explained task `k` counts `1/S`;
    /// `None`: its outputs are `f(x)` (α = 1) or `f(x')` (α = 0).
    task: Option<usize>,
}

/// The copies of every unit, cut into passes of about `budget` atoms.
fn plan(graphs: &[&MolGraph], n_tasks: usize, settings: &IgSettings) -> Vec<Vec<Replica>> {
    let steps = settings.steps;
    let budget = settings.max_atoms_per_pass.max(1);
    let mut units: Vec<(usize, Vec<Replica>)> = Vec::new();
    for (input, g) in graphs.iter().enumerate() {
        let atoms = g.n_atoms().max(1);
        let ends = [1.0, 0.0].map(|alpha| Replica {
            input,
            alpha,
            task: None,
        });
        units.push((2 * atoms, ends.to_vec()));
        let per_unit = (budget / atoms).max(1);
        for k in 0..n_tasks {
            let all: Vec<Replica> = (0..steps)
                .map(|s| Replica {
                    input,
                    alpha: ((s as f64 + 0.5) / steps as f64) as f32,
                    task: Some(k),
                })
                .collect();
            for chunk in all.chunks(per_unit) {
                units.push((chunk.len() * atoms, chunk.to_vec()));
            }
        }
    }
    let mut passes = Vec::new();
    let (mut pass, mut atoms) = (Vec::new(), 0usize);
    for (size, copies) in units {
        if !pass.is_empty() && atoms + size > budget {
            passes.push(std::mem::take(&mut pass));
            atoms = 0;
        }
        atoms += size;
        pass.extend(copies);
    }
    if !pass.is_empty() {
        passes.push(pass);
    }
    passes
}

/// Attributions of one model (see [`super::integrated_gradients`]), in the model's units.
pub(super) fn explain_checkpoint(
    model: &Checkpoint,
    inputs: &[&MoleculeInput],
    graphs: &[&MolGraph],
    tasks: &[usize],
    settings: &IgSettings,
    device: &Device,
) -> Result<Vec<AtomAttributions>, ExplainError> {
    let autodiff = device.clone().without_autodiff().autodiff();
    let net = model.net.clone().no_grad().fork(&autodiff);
    let mut out: Vec<AtomAttributions> = graphs
        .iter()
        .map(|g| AtomAttributions {
            n_atoms: g.n_atoms(),
            tasks: tasks.to_vec(),
            contributions: vec![0.0; tasks.len() * g.n_atoms()],
            output: vec![0.0; tasks.len()],
            baseline: vec![0.0; tasks.len()],
        })
        .collect();
    for pass in plan(graphs, tasks.len(), settings) {
        run_pass(
            model, &net, inputs, graphs, tasks, settings, &pass, &autodiff, &mut out,
        )?;
    }
    if let (TaskType::Regression, Some(scaling)) =
        (model.header.task_type, &model.header.target_scaling)
    {
        for a in &mut out {
            for (k, &j) in tasks.iter().enumerate() {
                let (sd, mean) = (scaling.sd[j], scaling.mean[j]);
                let n = a.n_atoms;
                a.contributions[k * n..(k + 1) * n]
                    .iter_mut()
                    .for_each(|c| *c *= sd);
                a.output[k] = a.output[k] * sd + mean;
                a.baseline[k] = a.baseline[k] * sd + mean;
            }
        }
    }
    Ok(out)
}

/// Floats of a tensor.
fn floats(t: Tensor<2>) -> Result<Vec<f32>, KernelError> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .map_err(|e| KernelError::InvalidBatch(format!("{e:?}")))
}

/// One forward/backward over the copies of a pass, adding each copy's share into `out`.
#[allow(clippy::too_many_arguments)]
fn run_pass(
    model: &Checkpoint,
    net: &PropertyNet,
    inputs: &[&MoleculeInput],
    graphs: &[&MolGraph],
    tasks: &[usize],
    settings: &IgSettings,
    pass: &[Replica],
    device: &Device,
    out: &mut [AtomAttributions],
) -> Result<(), ExplainError> {
    let config = &model.header.model;
    let copy_inputs: Vec<&MoleculeInput> = pass.iter().map(|c| inputs[c.input]).collect();
    let copy_graphs: Vec<&MolGraph> = pass.iter().map(|c| graphs[c.input]).collect();
    // The descriptors (if any) and the index come from the usual batch; the graph features
    // are replaced by scaled copies that are the tracked leaves.
    let mut batch = BatchTensors::new(&copy_inputs, config, device)?;
    let StructureTensors::Graph(graph) = &batch.structure else {
        return Err(KernelError::InvalidBatch("a D-MPNN batch without graphs".into()).into());
    };
    let index = graph.index.clone();
    let flat = GraphBatch::from_graphs(&copy_graphs);
    let (a_dim, b_dim) = (flat.atom_dim, flat.bond_dim);
    let (n, e) = (flat.n_atoms(), flat.n_edges());
    let mut atoms = flat.atom_features.clone();
    let mut bonds = flat.edge_features.clone();
    for (c, copy) in pass.iter().enumerate() {
        let (a0, a1) = (
            flat.atom_offsets[c] as usize,
            flat.atom_offsets[c + 1] as usize,
        );
        let (e0, e1) = (
            flat.edge_offsets[c] as usize,
            flat.edge_offsets[c + 1] as usize,
        );
        atoms[a0 * a_dim..a1 * a_dim]
            .iter_mut()
            .chain(&mut bonds[e0 * b_dim..e1 * b_dim])
            .for_each(|x| *x *= copy.alpha);
    }
    let atoms = Tensor::<2>::from_data(TensorData::new(atoms, [n, a_dim]), device).require_grad();
    let bonds = Tensor::<2>::from_data(TensorData::new(bonds, [e, b_dim]), device).require_grad();
    batch.structure = StructureTensors::Graph(Box::new(GraphTensors {
        index,
        atoms: atoms.clone(),
        bonds: bonds.clone(),
    }));
    let y = net.forward(config, &batch, false, &mut ChaCha8Rng::seed_from_u64(0))?;
    let n_out = config.n_tasks;
    let weight = 1.0 / settings.steps as f32;
    let mut w = vec![0.0f32; pass.len() * n_out];
    for (c, copy) in pass.iter().enumerate() {
        if let Some(k) = copy.task {
            w[c * n_out + tasks[k]] = weight;
        }
    }
    let w = Tensor::<2>::from_data(TensorData::new(w, [pass.len(), n_out]), device);
    let grads = (y.clone() * w).sum().backward();
    let zeros = |rows: usize, dim: usize| vec![0.0f32; rows * dim];
    let g_atoms = match atoms.grad(&grads) {
        Some(g) => floats(g)?,
        None => zeros(n, a_dim),
    };
    let g_bonds = match bonds.grad(&grads) {
        Some(g) => floats(g)?,
        None => zeros(e, b_dim),
    };
    let y = floats(y)?;
    let dot = |x: &[f32], g: &[f32]| -> f64 {
        x.iter()
            .zip(g)
            .map(|(&x, &g)| f64::from(x) * f64::from(g))
            .sum()
    };
    for (c, copy) in pass.iter().enumerate() {
        let target = &mut out[copy.input];
        let Some(k) = copy.task else {
            let values = if copy.alpha > 0.5 {
                &mut target.output
            } else {
                &mut target.baseline
            };
            for (slot, &j) in values.iter_mut().zip(tasks) {
                *slot = f64::from(y[c * n_out + j]);
            }
            continue;
        };
        let a0 = flat.atom_offsets[c] as usize;
        let row = &mut target.contributions[k * target.n_atoms..(k + 1) * target.n_atoms];
        for (local, slot) in row.iter_mut().enumerate() {
            let v = (a0 + local) * a_dim;
            *slot += dot(&flat.atom_features[v..v + a_dim], &g_atoms[v..v + a_dim]);
        }
        let (e0, e1) = (
            flat.edge_offsets[c] as usize,
            flat.edge_offsets[c + 1] as usize,
        );
        for edge in e0..e1 {
            let x = edge * b_dim;
            let half = dot(&flat.edge_features[x..x + b_dim], &g_bonds[x..x + b_dim]) / 2.0;
            row[flat.edge_source[edge] as usize - a0] += half;
            row[flat.edge_target[edge] as usize - a0] += half;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_cover_every_step_once_and_respect_the_budget() {
        let small = MolGraph::from_smiles("CCO").unwrap();
        let big = MolGraph::from_smiles("c1ccccc1CCCCCCCCCC").unwrap();
        let settings = IgSettings {
            steps: 10,
            max_atoms_per_pass: 40,
        };
        let passes = plan(&[&small, &big], 2, &settings);
        let mut seen = vec![0usize; 2 * 2];
        let mut ends = [0usize; 2];
        for pass in &passes {
            let atoms: usize = pass.iter().map(|c| [&small, &big][c.input].n_atoms()).sum();
            // A unit is never split, and one unit alone may exceed the budget only when a
            // single copy does.
            assert!(atoms <= 40 || pass.len() == 1, "a pass of {atoms} atoms");
            for c in pass {
                match c.task {
                    Some(k) => seen[c.input * 2 + k] += 1,
                    None => ends[c.input] += 1,
                }
            }
        }
        assert_eq!(seen, vec![10; 4]);
        assert_eq!(ends, [2, 2]);
    }
}
