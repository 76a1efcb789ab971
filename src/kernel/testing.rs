//! Builders of small [`GraphBatch`]es by hand, shared by tests, benchmarks and examples.

use crate::data::batch::GraphBatch;

/// One molecule for [`batch_from_bonds`]: its atom count and its bonds as local atom pairs.
pub type MolSpec = (usize, Vec<(u32, u32)>);

/// Deterministic pseudo-random numbers in `[-1, 1)` (SplitMix64), for reproducible features.
pub fn pseudo_random(seed: u64, n: usize) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            (z >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

/// Builds a batch from `(n_atoms, bonds)` per molecule, with pseudo-random features of widths
/// `atom_dim` and `bond_dim` drawn from `seed`.
///
/// Each bond `(u, v)` (local atom indices) becomes edges `u→v` and `v→u`, sorted by source
/// (stable, so a source's edges keep bond order); incoming edges per atom are listed in
/// increasing edge id (not in `edge_reverse` order, to exercise the general CSR).
///
/// # Panics
/// If a bond names an atom outside its molecule or joins an atom to itself (test input bug).
pub fn batch_from_bonds(
    mols: &[MolSpec],
    atom_dim: usize,
    bond_dim: usize,
    seed: u64,
) -> GraphBatch {
    let mut b = GraphBatch {
        n_molecules: mols.len(),
        atom_dim,
        bond_dim,
        atom_offsets: vec![0],
        edge_offsets: vec![0],
        out_offsets: vec![0],
        ..GraphBatch::default()
    };
    let mut bond_ids = Vec::new();
    let mut n_bonds = 0u32;
    for (n_atoms, bonds) in mols {
        let base = *b.atom_offsets.last().unwrap_or(&0);
        let e0 = b.edge_source.len() as u32;
        // (local source, local target, bond id)
        let mut edges: Vec<(u32, u32, u32)> = Vec::with_capacity(2 * bonds.len());
        for (k, &(u, v)) in bonds.iter().enumerate() {
            assert!(
                u != v && (u as usize) < *n_atoms && (v as usize) < *n_atoms,
                "bad bond"
            );
            edges.push((u, v, n_bonds + k as u32));
            edges.push((v, u, n_bonds + k as u32));
        }
        edges.sort_by_key(|&(s, _, _)| s);
        let mut first_of_bond = std::collections::HashMap::new();
        let mut rev = vec![0u32; edges.len()];
        for (i, &(_, _, bond)) in edges.iter().enumerate() {
            if let Some(&j) = first_of_bond.get(&bond) {
                rev[i] = e0 + j as u32;
                rev[j] = e0 + i as u32;
            } else {
                first_of_bond.insert(bond, i);
            }
        }
        let mut deg = vec![0u32; *n_atoms];
        for &(s, t, bond) in &edges {
            b.edge_source.push(base + s);
            b.edge_target.push(base + t);
            bond_ids.push(bond);
            deg[s as usize] += 1;
        }
        b.edge_reverse.extend(rev);
        for d in deg {
            let last = *b.out_offsets.last().unwrap_or(&0);
            b.out_offsets.push(last + d);
        }
        n_bonds += bonds.len() as u32;
        b.atom_offsets.push(base + *n_atoms as u32);
        b.edge_offsets.push(b.edge_source.len() as u32);
    }
    let (n, e) = (b.n_atoms(), b.n_edges());
    let mut incoming: Vec<Vec<u32>> = vec![Vec::new(); n];
    for (i, &t) in b.edge_target.iter().enumerate() {
        incoming[t as usize].push(i as u32);
    }
    b.incoming_offsets.push(0);
    for list in incoming {
        b.incoming_edges.extend(&list);
        b.incoming_offsets.push(b.incoming_edges.len() as u32);
    }
    b.atom_features = pseudo_random(seed, n * atom_dim);
    let bond_feats = pseudo_random(seed ^ 0xB0B, n_bonds as usize * bond_dim);
    b.edge_features = Vec::with_capacity(e * bond_dim);
    for &bond in &bond_ids {
        let k = bond as usize * bond_dim;
        b.edge_features
            .extend_from_slice(&bond_feats[k..k + bond_dim]);
    }
    b
}
