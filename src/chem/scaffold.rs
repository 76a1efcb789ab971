//! Bemis–Murcko scaffolds (ring systems plus the linkers between them), as chemprop groups them.

use super::{error::ChemError, ffi::bridge, mol::Molecule};

impl Molecule {
    /// Non-isomeric canonical SMILES of the Bemis–Murcko scaffold, as RDKit's
    /// `MurckoScaffoldSmiles(mol, includeChirality=False)`; empty for acyclic molecules.
    pub fn murcko_scaffold(&self) -> Result<String, ChemError> {
        bridge::murcko_scaffold_smiles(self.raw()).map_err(|e| ChemError::Computation {
            what: "Murcko scaffold",
            reason: e.what().to_string(),
        })
    }
}

/// The scaffold of a SMILES string (parses it first).
pub fn scaffold_of_smiles(smiles: &str) -> Result<String, ChemError> {
    Molecule::from_smiles(smiles)?.murcko_scaffold()
}
