//! RDKit's 2D molecular descriptors (`RDKit::Descriptors::Properties`: exact and average
//! molecular weight, Lipinski donors/acceptors, rotatable bonds, ring and heteroatom counts,
//! fraction sp3, Labute ASA, TPSA, Crippen logP and MR, chi and kappa shape indices, ...), the
//! molecule-level features (generator `rdkit_2d`) appended to learned embeddings.

use std::sync::OnceLock;

use super::{error::ChemError, ffi::bridge, mol::Molecule};

/// Names of the descriptors, in the order [`Molecule::rdkit_descriptors`] returns them.
pub fn rdkit_descriptor_names() -> &'static [String] {
    static NAMES: OnceLock<Vec<String>> = OnceLock::new();
    NAMES.get_or_init(|| {
        bridge::rdkit_descriptor_names()
            .into_iter()
            .map(|s| s.to_string())
            .collect()
    })
}

impl Molecule {
    /// Every RDKit 2D descriptor of the molecule (see [`rdkit_descriptor_names`]).
    pub fn rdkit_descriptors(&self) -> Result<Vec<f64>, ChemError> {
        bridge::rdkit_descriptors(self.raw()).map_err(|e| ChemError::Computation {
            what: "RDKit descriptors",
            reason: e.what().to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ethanol_descriptors_match_known_values() {
        let names = rdkit_descriptor_names();
        assert!(names.len() >= 40, "{names:?}");
        let d = Molecule::from_smiles("CCO")
            .unwrap()
            .rdkit_descriptors()
            .unwrap();
        assert_eq!(d.len(), names.len());
        let get = |n: &str| d[names.iter().position(|x| x == n).unwrap()];
        approx::assert_abs_diff_eq!(get("amw"), 46.069, epsilon = 1e-3);
        approx::assert_abs_diff_eq!(get("exactmw"), 46.0419, epsilon = 1e-4);
        approx::assert_abs_diff_eq!(get("tpsa"), 20.23, epsilon = 1e-2);
        assert_eq!(get("NumHBD"), 1.0);
        assert_eq!(get("NumHeavyAtoms"), 3.0);
        approx::assert_abs_diff_eq!(get("CrippenClogP"), -0.0014, epsilon = 1e-3);
    }
}
