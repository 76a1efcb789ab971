//! `GraphBatch`: many molecular graphs as one disjoint union in flat arrays.
//!
//! Layout (all indices `u32`, all features `f32`, row-major):
//! - atoms `0..n_atoms`, molecule `m` owns atoms `atom_offsets[m]..atom_offsets[m+1]`;
//! - each bond `{u, v}` becomes two directed edges `u→v` and `v→u`; edges are **sorted by
//!   source atom**, so the outgoing edges of atom `v` are the contiguous range
//!   `out_offsets[v]..out_offsets[v+1]`, and molecule `m` owns edges
//!   `edge_offsets[m]..edge_offsets[m+1]`;
//! - `edge_reverse[e]` is the edge with source and target swapped (`edge_reverse[edge_reverse[e]] == e`);
//! - the incoming edges of atom `v` are `incoming_edges[incoming_offsets[v]..incoming_offsets[v+1]]`
//!   (CSR by target; with this edge order `incoming_edges[i] == edge_reverse[i]`).
use crate::chem::MolGraph;
use crate::chem::featurize::{ATOM_DIM, BOND_DIM, atom_features, bond_features};

/// A batch of molecular graphs as flat arrays (see the module doc for the layout).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GraphBatch {
    /// Number of molecules in the batch.
    pub n_molecules: usize,
    /// Width of one atom feature row.
    pub atom_dim: usize,
    /// Width of one bond (directed-edge) feature row.
    pub bond_dim: usize,
    /// `n_atoms × atom_dim` atom features.
    pub atom_features: Vec<f32>,
    /// `n_edges × bond_dim` directed-edge features (both directions of a bond carry the bond's features).
    pub edge_features: Vec<f32>,
    /// Source atom of each directed edge (non-decreasing).
    pub edge_source: Vec<u32>,
    /// Target atom of each directed edge.
    pub edge_target: Vec<u32>,
    /// Index of the reverse edge of each directed edge.
    pub edge_reverse: Vec<u32>,
    /// CSR offsets of outgoing edges per atom (`n_atoms + 1` entries).
    pub out_offsets: Vec<u32>,
    /// CSR offsets of incoming edges per atom (`n_atoms + 1` entries).
    pub incoming_offsets: Vec<u32>,
    /// Incoming edge ids grouped by target atom.
    pub incoming_edges: Vec<u32>,
    /// Atom range of each molecule (`n_molecules + 1` entries).
    pub atom_offsets: Vec<u32>,
    /// Edge range of each molecule (`n_molecules + 1` entries).
    pub edge_offsets: Vec<u32>,
}

impl GraphBatch {
    /// Number of atoms in the batch.
    pub fn n_atoms(&self) -> usize {
        self.atom_offsets.last().map_or(0, |&n| n as usize)
    }

    /// Number of directed edges in the batch (twice the number of bonds).
    pub fn n_edges(&self) -> usize {
        self.edge_source.len()
    }
}

/// The parts of the flat arrays one molecule writes.
struct MoleculeSlices<'a> {
    atom_base: u32,
    edge_base: u32,
    atom_features: &'a mut [f32],
    edge_features: &'a mut [f32],
    edge_source: &'a mut [u32],
    edge_target: &'a mut [u32],
    edge_reverse: &'a mut [u32],
    out_offsets: &'a mut [u32],
    incoming_edges: &'a mut [u32],
}

/// Splits `data` into consecutive pieces of the given lengths.
fn split_by_lengths<T>(mut data: &mut [T], lengths: impl Iterator<Item = usize>) -> Vec<&mut [T]> {
    let mut parts = Vec::new();
    for len in lengths {
        let (head, tail) = data.split_at_mut(len);
        parts.push(head);
        data = tail;
    }
    parts
}

impl GraphBatch {
    /// Builds the disjoint union of `graphs` (in order), featurizing atoms and bonds with the
    /// chemprop v2 layout. Molecules are written in parallel, each into its own slices.
    pub fn from_graphs<G>(graphs: &[G]) -> Self
    where
        G: std::borrow::Borrow<MolGraph> + Sync,
    {
        use rayon::prelude::*;
        let (atom_dim, bond_dim) = (ATOM_DIM, BOND_DIM);
        let n_molecules = graphs.len();
        let mut atom_offsets = Vec::with_capacity(n_molecules + 1);
        let mut edge_offsets = Vec::with_capacity(n_molecules + 1);
        let (mut n_atoms, mut n_edges) = (0usize, 0usize);
        atom_offsets.push(0u32);
        edge_offsets.push(0u32);
        for g in graphs {
            let g = g.borrow();
            n_atoms += g.n_atoms();
            n_edges += 2 * g.n_bonds();
            atom_offsets.push(n_atoms as u32);
            edge_offsets.push(n_edges as u32);
        }
        let mut batch = GraphBatch {
            n_molecules,
            atom_dim,
            bond_dim,
            atom_features: vec![0.0; n_atoms * atom_dim],
            edge_features: vec![0.0; n_edges * bond_dim],
            edge_source: vec![0; n_edges],
            edge_target: vec![0; n_edges],
            edge_reverse: vec![0; n_edges],
            out_offsets: vec![0; n_atoms + 1],
            incoming_offsets: Vec::new(),
            incoming_edges: vec![0; n_edges],
            atom_offsets,
            edge_offsets,
        };
        let atoms_of = |m: usize| (batch.atom_offsets[m + 1] - batch.atom_offsets[m]) as usize;
        let edges_of = |m: usize| (batch.edge_offsets[m + 1] - batch.edge_offsets[m]) as usize;
        let atom_lens: Vec<usize> = (0..n_molecules).map(atoms_of).collect();
        let edge_lens: Vec<usize> = (0..n_molecules).map(edges_of).collect();
        let slices: Vec<MoleculeSlices> = {
            let af = split_by_lengths(
                &mut batch.atom_features,
                atom_lens.iter().map(|n| n * atom_dim),
            );
            let ef = split_by_lengths(
                &mut batch.edge_features,
                edge_lens.iter().map(|n| n * bond_dim),
            );
            let es = split_by_lengths(&mut batch.edge_source, edge_lens.iter().copied());
            let et = split_by_lengths(&mut batch.edge_target, edge_lens.iter().copied());
            let er = split_by_lengths(&mut batch.edge_reverse, edge_lens.iter().copied());
            let oo = split_by_lengths(&mut batch.out_offsets, atom_lens.iter().copied());
            let ie = split_by_lengths(&mut batch.incoming_edges, edge_lens.iter().copied());
            af.into_iter()
                .zip(ef)
                .zip(es)
                .zip(et)
                .zip(er)
                .zip(oo)
                .zip(ie)
                .enumerate()
                .map(
                    |(m, ((((((af, ef), es), et), er), oo), ie))| MoleculeSlices {
                        atom_base: batch.atom_offsets[m],
                        edge_base: batch.edge_offsets[m],
                        atom_features: af,
                        edge_features: ef,
                        edge_source: es,
                        edge_target: et,
                        edge_reverse: er,
                        out_offsets: oo,
                        incoming_edges: ie,
                    },
                )
                .collect()
        };
        slices
            .into_par_iter()
            .zip(graphs.par_iter())
            .with_min_len(32)
            .for_each(|(s, g)| write_molecule(g.borrow(), s));
        batch.out_offsets[n_atoms] = n_edges as u32;
        batch.incoming_offsets = batch.out_offsets.clone();
        batch
    }
}

/// Writes one molecule: features, then directed edges grouped by source atom (each atom's
/// edges in bond order), with reverse indices and incoming lists.
fn write_molecule(graph: &MolGraph, s: MoleculeSlices) {
    let n_atoms = graph.n_atoms();
    for (atom, row) in graph
        .atoms()
        .zip(s.atom_features.chunks_exact_mut(ATOM_DIM))
    {
        atom_features(atom, row);
    }
    // Out-degree per atom → local CSR offsets.
    let mut start = vec![0u32; n_atoms + 1];
    for (a, b, _) in graph.bonds() {
        start[a + 1] += 1;
        start[b + 1] += 1;
    }
    for v in 0..n_atoms {
        start[v + 1] += start[v];
    }
    for (offset, &local) in s.out_offsets.iter_mut().zip(&start) {
        *offset = s.edge_base + local;
    }
    let mut next = start;
    for (a, b, bond) in graph.bonds() {
        let ab = next[a] as usize;
        next[a] += 1;
        let ba = next[b] as usize;
        next[b] += 1;
        for (e, src, dst, rev) in [(ab, a, b, ba), (ba, b, a, ab)] {
            s.edge_source[e] = s.atom_base + src as u32;
            s.edge_target[e] = s.atom_base + dst as u32;
            s.edge_reverse[e] = s.edge_base + rev as u32;
            bond_features(
                Some(bond),
                &mut s.edge_features[e * BOND_DIM..(e + 1) * BOND_DIM],
            );
        }
    }
    // Incoming edges of v are the reverses of its outgoing edges, in the same order.
    s.incoming_edges.copy_from_slice(s.edge_reverse);
}
