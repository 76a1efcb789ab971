//! Kernel ops vs the stock-burn-op reference: forward, gradients, finite differences, threads.

use burn::tensor::{Device, Tensor, TensorData, activation::relu};
use moltx::data::batch::GraphBatch;
use moltx::kernel::testing::{MolSpec, batch_from_bonds, pseudo_random};
use moltx::kernel::{self, GraphIndex, KernelError, Readout, reference};
use proptest::prelude::*;

fn device() -> Device {
    Device::flex().autodiff()
}

fn tensor(data: Vec<f32>, rows: usize, f: usize, device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(data, [rows, f]), device)
}

fn values(t: Tensor<2>) -> Vec<f32> {
    t.into_data().iter::<f32>().collect()
}

fn assert_close(ours: &[f32], reference: &[f32], what: &str) {
    assert_eq!(ours.len(), reference.len(), "{what}: length");
    for (i, (a, b)) in ours.iter().zip(reference).enumerate() {
        let tol = 1e-5 * a.abs().max(b.abs()).max(1.0);
        assert!(
            (a - b).abs() <= tol,
            "{what}[{i}]: ours {a} vs reference {b}"
        );
    }
}

/// Molecule shapes: 0 chain, 1 ring, 2 branched tree (+ a ring closure), 3 atoms without bonds.
fn molecule(n: usize, seed: u64, kind: u8) -> MolSpec {
    let mut bonds = Vec::new();
    match kind {
        0 => bonds.extend((1..n as u32).map(|i| (i - 1, i))),
        1 => {
            bonds.extend((1..n as u32).map(|i| (i - 1, i)));
            if n >= 3 {
                bonds.push((n as u32 - 1, 0));
            }
        }
        2 => {
            let r = pseudo_random(seed, n);
            for (i, ri) in r.iter().enumerate().skip(1) {
                let parent = ((ri + 1.0) * 0.5 * i as f32) as u32 % i as u32;
                bonds.push((parent, i as u32));
            }
            if n >= 4 {
                bonds.push((0, n as u32 - 1));
            }
        }
        _ => {}
    }
    (n, bonds)
}

type Op = fn(Tensor<2>, &GraphIndex) -> Tensor<2>;

fn ours(name: &str) -> Op {
    match name {
        "gather_source" => |x, g| kernel::gather_source(x, g).expect("rows"),
        "gather_target" => |x, g| kernel::gather_target(x, g).expect("rows"),
        "incoming_sum" => |x, g| kernel::incoming_sum(x, g).expect("rows"),
        "dmpnn_message" => |x, g| kernel::dmpnn_message(x, g).expect("rows"),
        "readout_sum" => |x, g| kernel::readout(x, g, Readout::Sum).expect("rows"),
        "readout_mean" => |x, g| kernel::readout(x, g, Readout::Mean).expect("rows"),
        _ => |x, g| kernel::readout(x, g, Readout::NormSum(7.0)).expect("rows"),
    }
}

fn theirs(name: &str) -> Op {
    match name {
        "gather_source" => reference::gather_source,
        "gather_target" => reference::gather_target,
        "incoming_sum" => reference::incoming_sum,
        "dmpnn_message" => reference::dmpnn_message,
        "readout_sum" => |x, g| reference::readout(x, g, Readout::Sum),
        "readout_mean" => |x, g| reference::readout(x, g, Readout::Mean),
        _ => |x, g| reference::readout(x, g, Readout::NormSum(7.0)),
    }
}

const OPS: [&str; 7] = [
    "gather_source",
    "gather_target",
    "incoming_sum",
    "dmpnn_message",
    "readout_sum",
    "readout_mean",
    "readout_norm",
];

/// Rows of an op's input and output for a batch.
fn op_rows(name: &str, b: &GraphBatch) -> (usize, usize) {
    let (n, e, m) = (b.n_atoms(), b.n_edges(), b.n_molecules);
    match name {
        "gather_source" | "gather_target" => (n, e),
        "incoming_sum" => (e, n),
        "dmpnn_message" => (e, e),
        _ => (n, m),
    }
}

/// Forward value and input gradient of `loss = Σ op(x) ⊙ w`.
fn run(
    op: Op,
    x: &[f32],
    w: &[f32],
    rows: (usize, usize),
    f: usize,
    g: &GraphIndex,
) -> (Vec<f32>, Vec<f32>) {
    let device = device();
    let xt = tensor(x.to_vec(), rows.0, f, &device).require_grad();
    let y = op(xt.clone(), g);
    let loss = (y.clone() * tensor(w.to_vec(), rows.1, f, &device)).sum();
    let grads = loss.backward();
    let gx = match xt.grad(&grads) {
        Some(t) => values(t),
        None => {
            assert_eq!(rows.0 * f, 0, "missing gradient");
            Vec::new()
        }
    };
    (values(y), gx)
}

fn compare_all(b: &GraphBatch, f: usize, seed: u64) {
    let device = device();
    let g = GraphIndex::new(b, &device).expect("valid batch");
    for name in OPS {
        let rows = op_rows(name, b);
        let x = pseudo_random(seed, rows.0 * f);
        let w = pseudo_random(seed + 1, rows.1 * f);
        let (y1, g1) = run(ours(name), &x, &w, rows, f, &g);
        if rows.0 * rows.1 == 0 {
            assert_eq!(y1.len(), rows.1 * f, "{name}: empty output shape");
            continue; // stock ops do not all accept zero-sized tensors
        }
        let (y2, g2) = run(theirs(name), &x, &w, rows, f, &g);
        assert_close(&y1, &y2, &format!("{name} forward"));
        assert_close(&g1, &g2, &format!("{name} gradient"));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]
    #[test]
    fn ops_match_reference(
        mols in prop::collection::vec((1usize..9, any::<u64>(), 0u8..4), 0..6),
        f in 1usize..6,
        seed in any::<u64>(),
    ) {
        let specs: Vec<MolSpec> = mols.iter().map(|&(n, s, k)| molecule(n, s, k)).collect();
        let b = batch_from_bonds(&specs, 3, 2, seed);
        compare_all(&b, f, seed);
    }
}

#[test]
fn empty_batch_and_single_atoms() {
    compare_all(&batch_from_bonds(&[], 3, 2, 1), 4, 1);
    compare_all(
        &batch_from_bonds(&[(1, vec![]), (3, vec![]), (1, vec![])], 3, 2, 2),
        4,
        2,
    );
    // An empty molecule between two others: mean readout gives a zero row, no NaN.
    let b = batch_from_bonds(&[(2, vec![(0, 1)]), (0, vec![]), (1, vec![])], 3, 2, 3);
    compare_all(&b, 3, 3);
    let g = GraphIndex::new(&b, &device()).expect("valid");
    let r =
        kernel::readout(tensor(vec![1.0; 9], 3, 3, &device()), &g, Readout::Mean).expect("rows");
    assert_eq!(values(r), vec![1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0]);
}

#[test]
fn errors_instead_of_panics() {
    let device = device();
    let b = batch_from_bonds(&[molecule(4, 1, 1)], 3, 2, 1);
    let g = GraphIndex::new(&b, &device).expect("valid");
    let wrong = tensor(vec![0.0; 6], 3, 2, &device);
    assert!(matches!(
        kernel::dmpnn_message(wrong.clone(), &g),
        Err(KernelError::RowMismatch { .. })
    ));
    assert!(matches!(
        kernel::readout(wrong, &g, Readout::Sum),
        Err(KernelError::RowMismatch { .. })
    ));
    let x = tensor(vec![0.0; 8], 4, 2, &device);
    assert_eq!(
        kernel::readout(x, &g, Readout::NormSum(0.0)).err(),
        Some(KernelError::BadNorm(0.0))
    );
    let mut bad = b.clone();
    bad.edge_reverse.swap(0, 1);
    assert!(GraphIndex::new(&bad, &device).is_err());
    let mut bad = b.clone();
    bad.edge_target[0] = 99;
    assert!(GraphIndex::new(&bad, &device).is_err());
    let mut bad = b;
    bad.out_offsets[1] += 1;
    assert!(GraphIndex::new(&bad, &device).is_err());
}

/// A small D-MPNN encoder written against either implementation.
fn encoder(
    b: &GraphBatch,
    g: &GraphIndex,
    w: [&Tensor<2>; 3],
    fast: bool,
    depth: usize,
) -> Tensor<2> {
    let device = w[0].device();
    let x_atom = tensor(b.atom_features.clone(), b.n_atoms(), b.atom_dim, &device);
    let x_bond = tensor(b.edge_features.clone(), b.n_edges(), b.bond_dim, &device);
    let src = if fast {
        kernel::gather_source(x_atom.clone(), g).expect("rows")
    } else {
        reference::gather_source(x_atom.clone(), g)
    };
    let input = Tensor::cat(vec![src, x_bond], 1).matmul(w[0].clone());
    let mut h = relu(input.clone());
    for _ in 1..depth {
        let m = if fast {
            kernel::dmpnn_message(h, g).expect("rows")
        } else {
            reference::dmpnn_message(h, g)
        };
        h = relu(input.clone() + m.matmul(w[1].clone()));
    }
    let a = if fast {
        kernel::incoming_sum(h, g).expect("rows")
    } else {
        reference::incoming_sum(h, g)
    };
    let atoms = relu(Tensor::cat(vec![x_atom, a], 1).matmul(w[2].clone()));
    if fast {
        kernel::readout(atoms, g, Readout::Mean).expect("rows")
    } else {
        reference::readout(atoms, g, Readout::Mean)
    }
}

#[test]
fn dmpnn_encoder_matches_reference() {
    let device = device();
    let specs: Vec<MolSpec> = (0..6)
        .map(|i| molecule(3 + i, i as u64, (i % 4) as u8))
        .collect();
    let b = batch_from_bonds(&specs, 5, 3, 9);
    let g = GraphIndex::new(&b, &device).expect("valid");
    let hidden = 8;
    let mut results = Vec::new();
    for fast in [true, false] {
        let wi = tensor(pseudo_random(1, 8 * hidden), 8, hidden, &device).require_grad();
        let wh = tensor(pseudo_random(2, hidden * hidden), hidden, hidden, &device).require_grad();
        let wo = tensor(pseudo_random(3, (5 + hidden) * 4), 5 + hidden, 4, &device).require_grad();
        let out = encoder(&b, &g, [&wi, &wh, &wo], fast, 3);
        let grads = (out.clone() * out.clone()).sum().backward();
        let grad = |w: &Tensor<2>| w.grad(&grads).map(values).expect("gradient");
        results.push((values(out), grad(&wi), grad(&wh), grad(&wo)));
    }
    let (a, r) = (&results[0], &results[1]);
    assert_close(&a.0, &r.0, "encoder output");
    assert_close(&a.1, &r.1, "grad W_i");
    assert_close(&a.2, &r.2, "grad W_h");
    assert_close(&a.3, &r.3, "grad W_o");
}

#[test]
fn finite_differences() {
    let device = device();
    let b = batch_from_bonds(
        &[molecule(5, 1, 2), molecule(4, 2, 1), (1, vec![])],
        3,
        2,
        4,
    );
    let g = GraphIndex::new(&b, &device).expect("valid");
    let f = 3;
    let n = b.n_atoms();
    let w = pseudo_random(7, b.n_molecules * f);
    // loss(x) = Σ w ⊙ mean_readout(incoming_sum(tanh(dmpnn_message(gather_source(x)))))
    let loss = |x: Tensor<2>| {
        let h = kernel::gather_source(x, &g).expect("rows");
        let m = kernel::dmpnn_message(h, &g).expect("rows").tanh();
        let a = kernel::incoming_sum(m, &g).expect("rows");
        let r = kernel::readout(a, &g, Readout::Mean).expect("rows");
        (r * tensor(w.clone(), b.n_molecules, f, &device)).sum()
    };
    let x0 = pseudo_random(8, n * f);
    let xt = tensor(x0.clone(), n, f, &device).require_grad();
    let grads = loss(xt.clone()).backward();
    let analytic = xt.grad(&grads).map(values).expect("gradient");
    let eps = 1e-2f32;
    for i in 0..n * f {
        let at = |d: f32| {
            let mut x = x0.clone();
            x[i] += d;
            loss(tensor(x, n, f, &device)).into_scalar::<f32>()
        };
        let numeric = (at(eps) - at(-eps)) / (2.0 * eps);
        let tol = 2e-3 * numeric.abs().max(analytic[i].abs()).max(1.0);
        assert!(
            (numeric - analytic[i]).abs() <= tol,
            "x[{i}]: numeric {numeric} vs analytic {}",
            analytic[i]
        );
    }
}

#[test]
fn same_result_on_one_and_two_threads() {
    let specs: Vec<MolSpec> = (0..300)
        .map(|i| molecule(2 + i % 20, i as u64, (i % 4) as u8))
        .collect();
    let b = batch_from_bonds(&specs, 3, 2, 5);
    let f = 64;
    let h = pseudo_random(11, b.n_edges() * f);
    let x = pseudo_random(12, b.n_atoms() * f);
    let go = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool");
        pool.install(|| {
            let device = device();
            let g = GraphIndex::new(&b, &device).expect("valid");
            let mut out = Vec::new();
            for name in OPS {
                let on_edges = matches!(name, "incoming_sum" | "dmpnn_message");
                let input = if on_edges { &h } else { &x };
                let rows = op_rows(name, &b);
                let w = pseudo_random(13, rows.1 * f);
                let (y, gx) = run(ours(name), input, &w, rows, f, &g);
                out.push((y, gx));
            }
            out
        })
    };
    let (one, two) = (go(1), go(2));
    assert!(one == two, "results differ between 1 and 2 threads");
}

/// Flex devices get the kernels; every other backend gets the stock-op reference, which the
/// tests above compare with the kernels (values and gradients). The fallback itself was run on
/// NdArray, a backend without the extension, by a test behind an opt-in `check-ndarray` feature
/// (commit 3e77219: the D-MPNN encoder, its gradients and the bundled model's predictions
/// matched Flex); the feature was dropped because burn's `ndarray` build takes over 3 minutes.
#[test]
fn flex_devices_get_the_kernels() {
    use kernel::{Implementation, implementation};
    assert_eq!(implementation(&Device::flex()), Implementation::Kernel);
    assert_eq!(
        implementation(&Device::flex().autodiff()),
        Implementation::Kernel
    );
}
