//! Hand-optimized message passing over a [`GraphBatch`], as a burn backend extension.
//!
//! # Ops (N atoms, E directed edges, M molecules, F features; all row-major `f32`)
//!
//! | function | math | backward |
//! |---|---|---|
//! | [`gather_source`] (N×F → E×F) | `y[e] = x[source(e)]` | `g_x[v] = Σ_{e ∈ out(v)} g_y[e]` (contiguous segment sum) |
//! | [`gather_target`] (N×F → E×F) | `y[e] = x[target(e)]` | `g_x[v] = Σ_{e ∈ in(v)} g_y[e]` (CSR sum over incoming edges) |
//! | [`incoming_sum`] (E×F → N×F) | `a[v] = Σ_{e: target(e)=v} h[e]` | `g_h[e] = g_a[target(e)]` (row gather) |
//! | [`dmpnn_message`] (E×F → E×F) | `m[e] = a[source(e)] − h[rev(e)]` | `g_h[e'] = Σ_{e ∈ out(target(e'))} g_m[e] − g_m[rev(e')]` |
//! | [`readout`] (N×F → M×F) | `r[m] = c_m Σ_{v ∈ atoms(m)} x[v]` | `g_x[v] = c_m g_r[m]` (broadcast) |
//!
//! with `c_m = 1` (sum), `1/|atoms(m)|` (mean, 0 for an empty molecule: a zero row, no NaN)
//! or `1/norm` (normalized sum). Every op is linear in its float input, so each backward is the
//! adjoint op, itself a hand-written kernel (see [`autodiff`]).
//!
//! **D-MPNN message, two in-cache passes per chunk of molecules.** The incoming edges of `v`
//! are exactly the reverses of its outgoing edges, and the outgoing edges of `v` are the
//! contiguous rows `out_offsets[v]..out_offsets[v+1]`. For each chunk of whole molecules the
//! forward (1) reads `h` once in edge order, adding each row into the sum `a[target(e)]` of
//! its target atom (a per-chunk buffer that stays in cache), then (2) writes
//! `m[e] = a[source(e)] − h[rev(e)]` in edge order, re-reading `h` from cache. The backward
//! has the same shape with roles swapped: `s[t] = Σ_{e ∈ out(t)} g_m[e]`, then
//! `g_h[e'] = s[source(rev e')] − g_m[rev e']`, written in order. Neither direction
//! materializes a gathered E×F copy: each moves one E×F read and one E×F write from memory.
//!
//! # Memory layout and why it is fast
//! Features are contiguous rows; an op reads whole rows and writes whole rows, so inner loops
//! are plain loops over F floats that LLVM vectorizes. Outputs are split into chunks of about
//! [`cpu::CHUNK_BYTES`] (an L2 cache), one rayon task each, each output row written by exactly
//! one task: no atomics, no locks, no reduction buffers, and bitwise-identical results for any
//! thread count. A task writes its rows in order through a write cursor into uninitialized
//! memory (no zero-fill pass; the cursor checks every row was written), and outputs larger
//! than [`cpu::STREAM_MIN_BYTES`] use non-temporal stores (no write-allocate read). Stock burn
//! ops instead gather an E×F copy and scatter-add through an index (see [`mod@reference`]), moving
//! several times more memory. Allocation matters as much as the kernels: with glibc malloc a
//! fresh 256 MB output is mapped and unmapped on every call (about 4× slower ops); the `moltx`
//! binary and the benches use mimalloc.
//!
//! # Use
//! Build a [`GraphIndex`] once per batch on the model's device, then call the functions on
//! `burn::Tensor`s; `loss.backward()` flows through them on `device.autodiff()`.
//!
//! ```rust,ignore
//! let g = GraphIndex::new(&batch, &device)?;                 // once per batch
//! let x_src = kernel::gather_source(x_atom.clone(), &g)?;     // N×A -> E×A
//! let h0 = relu(w_i.forward(Tensor::cat(vec![x_src, x_bond], 1)));
//! let mut h = h0.clone();
//! for _ in 1..depth {
//!     h = relu(h0.clone() + w_h.forward(kernel::dmpnn_message(h, &g)?));
//! }
//! let a = kernel::incoming_sum(h, &g)?;                      // E×H -> N×H
//! let atoms = relu(w_o.forward(Tensor::cat(vec![x_atom, a], 1)));
//! let mol = kernel::readout(atoms, &g, Readout::Mean)?;      // N×H -> M×H
//! ```
//! The backend extension is implemented for Flex and `Autodiff<Flex>`. On any other backend
//! (where burn's dispatch would panic) the functions of this module run the stock-op reference
//! of [`mod@reference`] instead, with autodiff through stock ops: same results, more memory
//! traffic. [`implementation`] says which one a device gets.

#![warn(missing_docs)]

pub mod autodiff;
pub mod cpu;
mod flex;
pub mod reference;
#[doc(hidden)]
pub mod testing;

use crate::data::batch::GraphBatch;
use burn::backend::tensor::{FloatTensor, IntTensor};
use burn::backend::{Backend, Dispatch, DispatchDevice, backend_extension};
use burn::tensor::{Device, Int, Tensor, TensorData};

/// Errors of the kernel layer.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum KernelError {
    /// The batch's index arrays are inconsistent (message says which check failed).
    #[error("invalid graph batch: {0}")]
    InvalidBatch(String),
    /// An input tensor has the wrong number of rows for the batch.
    #[error("{op}: expected {expected} rows, got {got}")]
    RowMismatch {
        /// The operation that was called.
        op: &'static str,
        /// Rows the batch implies (atoms or edges).
        expected: usize,
        /// Rows of the tensor passed.
        got: usize,
    },
    /// A normalized-sum readout with a non-positive or non-finite constant.
    #[error("readout normalization constant must be finite and positive, got {0}")]
    BadNorm(f32),
}

/// The message-passing ops a D-MPNN needs, as a burn backend extension.
///
/// Arguments are primitives of the backend; index tensors are 1-D ints (I32 on Flex, I64
/// elsewhere; both accepted). Use the functions of this module rather than calling the trait.
#[backend_extension(Autodiff, Flex)]
pub trait KernelBackend: Backend {
    /// `out[i] = x[idx[i]]`. `(inv_offsets, inv_items)` is the CSR of `idx` grouped by value
    /// (used by the backward, a CSR sum).
    fn gather_rows(
        x: FloatTensor<Self>,
        idx: IntTensor<Self>,
        inv_offsets: IntTensor<Self>,
        inv_items: IntTensor<Self>,
    ) -> FloatTensor<Self>;
    /// `out[r] = Σ_{j ∈ offsets[r]..offsets[r+1]} x[items[j]]`; `inv_idx[i]` is the row `i`
    /// contributes to (used by the backward, a gather).
    fn csr_sum(
        x: FloatTensor<Self>,
        offsets: IntTensor<Self>,
        items: IntTensor<Self>,
        inv_idx: IntTensor<Self>,
    ) -> FloatTensor<Self>;
    /// `out[s] = c_s Σ_{i ∈ offsets[s]..offsets[s+1]} x[i]`, `c_s = scale / count_s` if `mean`
    /// (0 for an empty segment), else `scale`.
    fn segment_reduce(
        x: FloatTensor<Self>,
        offsets: IntTensor<Self>,
        mean: bool,
        scale: f32,
    ) -> FloatTensor<Self>;
    /// Adjoint of `segment_reduce`: `out[i] = c_s g[s]` for `i` in segment `s`.
    fn segment_broadcast(
        g: FloatTensor<Self>,
        offsets: IntTensor<Self>,
        mean: bool,
        scale: f32,
    ) -> FloatTensor<Self>;
    /// Fused D-MPNN message `m[e] = Σ_{k→v} h[k→v] − h[rev(e)]` for `e = v→w`.
    fn dmpnn_message(
        h: FloatTensor<Self>,
        out_offsets: IntTensor<Self>,
        reverse: IntTensor<Self>,
        atom_offsets: IntTensor<Self>,
    ) -> FloatTensor<Self>;
    /// Adjoint of `dmpnn_message`: `g_h[e'] = Σ_{e ∈ out(target(e'))} g[e] − g[rev(e')]`.
    fn dmpnn_message_backward(
        g: FloatTensor<Self>,
        out_offsets: IntTensor<Self>,
        reverse: IntTensor<Self>,
        atom_offsets: IntTensor<Self>,
    ) -> FloatTensor<Self>;
}

/// The index arrays of one [`GraphBatch`] as int tensors on a device, validated once.
///
/// Build it once per batch (cost O(atoms + edges)) and pass it to every op of the batch.
#[derive(Debug, Clone)]
pub struct GraphIndex {
    /// Number of atoms N.
    pub n_atoms: usize,
    /// Number of directed edges E.
    pub n_edges: usize,
    /// Number of molecules M.
    pub n_molecules: usize,
    /// Source atom of each edge (E).
    pub edge_source: Tensor<1, Int>,
    /// Target atom of each edge (E).
    pub edge_target: Tensor<1, Int>,
    /// Reverse edge of each edge (E).
    pub edge_reverse: Tensor<1, Int>,
    /// `0..E` (the CSR items of `edge_source`, whose edges are already grouped by source).
    pub edge_ids: Tensor<1, Int>,
    /// CSR offsets of outgoing edges per atom (N + 1).
    pub out_offsets: Tensor<1, Int>,
    /// CSR offsets of incoming edges per atom (N + 1).
    pub incoming_offsets: Tensor<1, Int>,
    /// Incoming edge ids grouped by target atom (E).
    pub incoming_edges: Tensor<1, Int>,
    /// Atom range of each molecule (M + 1).
    pub atom_offsets: Tensor<1, Int>,
    /// Molecule of each atom (N), used by the stock-op reference.
    pub atom_molecule: Tensor<1, Int>,
}

fn ints(v: &[u32], device: &Device) -> Tensor<1, Int> {
    let data: Vec<i64> = v.iter().map(|&x| i64::from(x)).collect();
    let n = data.len();
    Tensor::from_data(TensorData::new(data, [n]), device)
}

fn check(ok: bool, what: &str) -> Result<(), KernelError> {
    if ok {
        Ok(())
    } else {
        Err(KernelError::InvalidBatch(what.to_string()))
    }
}

/// Offsets must have `n + 1` entries, start at 0, not decrease, and end at `total`.
/// An empty slice stands for `[0]` when `n == 0`.
fn check_offsets(o: &[u32], n: usize, total: usize, name: &str) -> Result<Vec<u32>, KernelError> {
    if o.is_empty() && n == 0 && total == 0 {
        return Ok(vec![0]);
    }
    check(
        o.len() == n + 1,
        &format!("{name} must have {} entries", n + 1),
    )?;
    check(o[0] == 0, &format!("{name} must start at 0"))?;
    check(
        o.windows(2).all(|w| w[0] <= w[1]),
        &format!("{name} must not decrease"),
    )?;
    check(
        o[n] as usize == total,
        &format!("{name} must end at {total}"),
    )?;
    Ok(o.to_vec())
}

impl GraphIndex {
    /// Validates `batch`'s index arrays and uploads them to `device`.
    ///
    /// Errors if any CSR array is malformed, an index is out of range, edges are not sorted by
    /// source, `edge_reverse` is not an involution swapping source and target, an edge joins two
    /// molecules, or the batch has 2³¹ or more atoms or edges.
    pub fn new(batch: &GraphBatch, device: &Device) -> Result<Self, KernelError> {
        let (m, n, e) = (batch.n_molecules, batch.n_atoms(), batch.n_edges());
        check(
            n < i32::MAX as usize && e < i32::MAX as usize,
            "batch too large",
        )?;
        let atom_offsets = check_offsets(&batch.atom_offsets, m, n, "atom_offsets")?;
        let out_offsets = check_offsets(&batch.out_offsets, n, e, "out_offsets")?;
        let in_offsets = check_offsets(&batch.incoming_offsets, n, e, "incoming_offsets")?;
        let (src, tgt, rev) = (&batch.edge_source, &batch.edge_target, &batch.edge_reverse);
        check(
            tgt.len() == e && rev.len() == e,
            "edge arrays differ in length",
        )?;
        check(
            batch.incoming_edges.len() == e,
            "incoming_edges must have E entries",
        )?;
        let mut mol_of = vec![0u32; n];
        for (k, w) in atom_offsets.windows(2).enumerate() {
            mol_of[w[0] as usize..w[1] as usize].fill(k as u32);
        }
        for (v, w) in out_offsets.windows(2).enumerate() {
            let ok = src[w[0] as usize..w[1] as usize]
                .iter()
                .all(|&s| s as usize == v);
            check(ok, "edges must be sorted by source and match out_offsets")?;
        }
        for i in 0..e {
            let (t, r) = (tgt[i] as usize, rev[i] as usize);
            check(t < n && r < e, "edge target or reverse out of range")?;
            check(
                r != i && rev[r] as usize == i,
                "edge_reverse must be an involution",
            )?;
            check(
                src[r] == tgt[i] && tgt[r] == src[i],
                "reverse edge must swap ends",
            )?;
            check(
                mol_of[t] == mol_of[src[i] as usize],
                "edge joins two molecules",
            )?;
        }
        let mut seen = vec![false; e];
        for (v, w) in in_offsets.windows(2).enumerate() {
            for &j in &batch.incoming_edges[w[0] as usize..w[1] as usize] {
                let j = j as usize;
                check(j < e && !seen[j], "incoming_edges must list each edge once")?;
                check(tgt[j] as usize == v, "incoming edge has another target")?;
                seen[j] = true;
            }
        }
        let ids: Vec<u32> = (0..e as u32).collect();
        Ok(Self {
            n_atoms: n,
            n_edges: e,
            n_molecules: m,
            edge_source: ints(src, device),
            edge_target: ints(tgt, device),
            edge_reverse: ints(rev, device),
            edge_ids: ints(&ids, device),
            out_offsets: ints(&out_offsets, device),
            incoming_offsets: ints(&in_offsets, device),
            incoming_edges: ints(&batch.incoming_edges, device),
            atom_offsets: ints(&atom_offsets, device),
            atom_molecule: ints(&mol_of, device),
        })
    }
}

fn rows(x: &Tensor<2>, expected: usize, op: &'static str) -> Result<(), KernelError> {
    let got = x.dims()[0];
    if got == expected {
        Ok(())
    } else {
        Err(KernelError::RowMismatch { op, expected, got })
    }
}

fn d(t: &Tensor<1, Int>) -> burn::backend::DispatchTensor {
    t.clone().into_dispatch()
}

/// Which implementation of the message-passing ops runs on a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Implementation {
    /// The hand-written kernels of [`KernelBackend`] (Flex, plain or under autodiff).
    Kernel,
    /// The stock-op reference of [`mod@reference`] (every other backend), differentiated by
    /// burn's own autodiff.
    Reference,
}

/// The implementation the ops of this module use for tensors on `device`: the kernels where
/// its backend has the extension (Flex, or autodiff over Flex), else the stock-op reference.
pub fn implementation(device: &Device) -> Implementation {
    fn extended(device: &DispatchDevice) -> bool {
        match device {
            DispatchDevice::Flex(_) => true,
            DispatchDevice::Autodiff(inner) => extended(inner),
            // Backends compiled in besides Flex (e.g. burn's `cuda`, `ndarray` features).
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }
    if extended(device.as_dispatch()) {
        Implementation::Kernel
    } else {
        Implementation::Reference
    }
}

/// True when `x`'s device lacks the extension, so the reference must run.
fn on_reference(x: &Tensor<2>) -> bool {
    implementation(&x.device()) == Implementation::Reference
}

/// Atom rows at each edge's source: `y[e] = x[source(e)]` (N×F → E×F).
pub fn gather_source(x: Tensor<2>, g: &GraphIndex) -> Result<Tensor<2>, KernelError> {
    rows(&x, g.n_atoms, "gather_source")?;
    if on_reference(&x) {
        return Ok(reference::gather_source(x, g));
    }
    let out = <Dispatch as KernelBackend>::gather_rows(
        x.into_dispatch(),
        d(&g.edge_source),
        d(&g.out_offsets),
        d(&g.edge_ids),
    );
    Ok(Tensor::from_dispatch(out))
}

/// Atom rows at each edge's target: `y[e] = x[target(e)]` (N×F → E×F).
pub fn gather_target(x: Tensor<2>, g: &GraphIndex) -> Result<Tensor<2>, KernelError> {
    rows(&x, g.n_atoms, "gather_target")?;
    if on_reference(&x) {
        return Ok(reference::gather_target(x, g));
    }
    let out = <Dispatch as KernelBackend>::gather_rows(
        x.into_dispatch(),
        d(&g.edge_target),
        d(&g.incoming_offsets),
        d(&g.incoming_edges),
    );
    Ok(Tensor::from_dispatch(out))
}

/// Sum of incoming edge rows per atom: `a[v] = Σ_{e: target(e)=v} h[e]` (E×F → N×F).
pub fn incoming_sum(h: Tensor<2>, g: &GraphIndex) -> Result<Tensor<2>, KernelError> {
    rows(&h, g.n_edges, "incoming_sum")?;
    if on_reference(&h) {
        return Ok(reference::incoming_sum(h, g));
    }
    let out = <Dispatch as KernelBackend>::csr_sum(
        h.into_dispatch(),
        d(&g.incoming_offsets),
        d(&g.incoming_edges),
        d(&g.edge_target),
    );
    Ok(Tensor::from_dispatch(out))
}

/// Fused D-MPNN message `m[e] = a[source(e)] − h[rev(e)]`, `a = incoming_sum(h)` (E×F → E×F).
pub fn dmpnn_message(h: Tensor<2>, g: &GraphIndex) -> Result<Tensor<2>, KernelError> {
    rows(&h, g.n_edges, "dmpnn_message")?;
    if on_reference(&h) {
        return Ok(reference::dmpnn_message(h, g));
    }
    let out = <Dispatch as KernelBackend>::dmpnn_message(
        h.into_dispatch(),
        d(&g.out_offsets),
        d(&g.edge_reverse),
        d(&g.atom_offsets),
    );
    Ok(Tensor::from_dispatch(out))
}

/// How [`readout`] pools the atom rows of a molecule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Readout {
    /// `Σ x[v]`.
    Sum,
    /// `Σ x[v] / n_atoms` (a zero row for a molecule without atoms).
    Mean,
    /// `Σ x[v] / norm` (chemprop's "norm" aggregation, norm e.g. 100).
    NormSum(f32),
}

/// Per-molecule readout of atom rows (N×F → M×F).
pub fn readout(x: Tensor<2>, g: &GraphIndex, how: Readout) -> Result<Tensor<2>, KernelError> {
    rows(&x, g.n_atoms, "readout")?;
    let (mean, scale) = match how {
        Readout::Sum => (false, 1.0),
        Readout::Mean => (true, 1.0),
        Readout::NormSum(c) if c.is_finite() && c > 0.0 => (false, 1.0 / c),
        Readout::NormSum(c) => return Err(KernelError::BadNorm(c)),
    };
    if on_reference(&x) {
        return Ok(reference::readout(x, g, how));
    }
    let out = <Dispatch as KernelBackend>::segment_reduce(
        x.into_dispatch(),
        d(&g.atom_offsets),
        mean,
        scale,
    );
    Ok(Tensor::from_dispatch(out))
}
