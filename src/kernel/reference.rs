//! Stock-burn-op reference versions of the kernel ops (`select`, `select_assign` with
//! [`IndexingUpdateOp::Add`], elementwise ops). Tests and benchmarks compare the kernels with
//! them, and the ops of [`super`] run them on a backend without the extension (see
//! [`super::implementation`]). They materialize gathered E×F copies and scatter-add through an
//! index, which is what the hand-written kernels avoid. Shapes are assumed valid (no checks:
//! the callers in [`super`] check them).

use super::{GraphIndex, Readout};
use burn::tensor::{IndexingUpdateOp, Tensor};

/// `y[e] = x[source(e)]` via `select`.
pub fn gather_source(x: Tensor<2>, g: &GraphIndex) -> Tensor<2> {
    x.select(0, g.edge_source.clone())
}

/// `y[e] = x[target(e)]` via `select`.
pub fn gather_target(x: Tensor<2>, g: &GraphIndex) -> Tensor<2> {
    x.select(0, g.edge_target.clone())
}

/// `a[v] = Σ_{target(e)=v} h[e]` via `select_assign(.., Add)` into zeros.
pub fn incoming_sum(h: Tensor<2>, g: &GraphIndex) -> Tensor<2> {
    let f = h.dims()[1];
    Tensor::zeros([g.n_atoms, f], &h.device()).select_assign(
        0,
        g.edge_target.clone(),
        h,
        IndexingUpdateOp::Add,
    )
}

/// `m[e] = a[source(e)] − h[rev(e)]` with gathered copies.
pub fn dmpnn_message(h: Tensor<2>, g: &GraphIndex) -> Tensor<2> {
    let a = incoming_sum(h.clone(), g);
    a.select(0, g.edge_source.clone()) - h.select(0, g.edge_reverse.clone())
}

/// Per-molecule readout via `select_assign(.., Add)` on the atom-to-molecule index.
pub fn readout(x: Tensor<2>, g: &GraphIndex, how: Readout) -> Tensor<2> {
    let [n, f] = x.dims();
    let device = x.device();
    let sum = Tensor::zeros([g.n_molecules, f], &device).select_assign(
        0,
        g.atom_molecule.clone(),
        x,
        IndexingUpdateOp::Add,
    );
    match how {
        Readout::Sum => sum,
        Readout::NormSum(c) => sum / c,
        Readout::Mean => {
            let counts = Tensor::<2>::zeros([g.n_molecules, 1], &device).select_assign(
                0,
                g.atom_molecule.clone(),
                Tensor::ones([n, 1], &device),
                IndexingUpdateOp::Add,
            );
            sum / counts.clamp_min(1.0)
        }
    }
}
