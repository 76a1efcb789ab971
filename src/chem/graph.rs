//! `MolGraph`: a molecule as a petgraph graph of atoms and bonds.

use petgraph::graph::{NodeIndex, UnGraph};

use super::{error::ChemError, mol::AtomRecord, mol::BondRecord, mol::Molecule};

/// A molecular graph: node `i` is RDKit atom `i`, edge `k` is RDKit bond `k`.
/// Feature vectors are written from these records by [`super::featurize`].
#[derive(Debug, Clone, Default)]
pub struct MolGraph {
    /// The graph; node and edge weights are RDKit's atom and bond records.
    pub graph: UnGraph<AtomRecord, BondRecord>,
}

impl MolGraph {
    /// Reads the atoms and bonds of a molecule (one FFI call).
    pub fn from_molecule(mol: &Molecule) -> Result<Self, ChemError> {
        let (atoms, bonds) = mol.atoms_and_bonds()?;
        let mut graph = UnGraph::with_capacity(atoms.len(), bonds.len());
        for atom in atoms {
            graph.add_node(atom);
        }
        for bond in bonds {
            graph.add_edge(
                NodeIndex::new(bond.begin as usize),
                NodeIndex::new(bond.end as usize),
                bond,
            );
        }
        Ok(MolGraph { graph })
    }

    /// Parses a SMILES string and builds its graph (at most
    /// [`super::DEFAULT_MAX_HEAVY_ATOMS`] heavy atoms).
    pub fn from_smiles(smiles: &str) -> Result<Self, ChemError> {
        Self::from_molecule(&Molecule::from_smiles(smiles)?)
    }

    /// Parses a SMILES string of at most `max_heavy_atoms` heavy atoms and builds its graph.
    pub fn from_smiles_limited(smiles: &str, max_heavy_atoms: usize) -> Result<Self, ChemError> {
        Self::from_molecule(&Molecule::from_smiles_limited(smiles, max_heavy_atoms)?)
    }

    /// Number of (heavy) atoms.
    pub fn n_atoms(&self) -> usize {
        self.graph.node_count()
    }

    /// Number of bonds.
    pub fn n_bonds(&self) -> usize {
        self.graph.edge_count()
    }

    /// Atom records in atom-index order.
    pub fn atoms(&self) -> impl Iterator<Item = &AtomRecord> {
        self.graph.node_weights()
    }

    /// `(begin, end, bond)` in bond-index order.
    pub fn bonds(&self) -> impl Iterator<Item = (usize, usize, &BondRecord)> {
        self.graph.edge_indices().filter_map(|e| {
            let (a, b) = self.graph.edge_endpoints(e)?;
            Some((a.index(), b.index(), &self.graph[e]))
        })
    }
}
