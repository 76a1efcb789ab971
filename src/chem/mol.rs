//! `Molecule`: an RDKit molecule behind a safe Rust handle.

use cxx::SharedPtr;

use super::error::ChemError;
use super::ffi::bridge::{self, ROMol};
pub use super::ffi::{AtomRecord, BondRecord};
use super::size::{DEFAULT_MAX_HEAVY_ATOMS, heavy_atoms_in_molblock, heavy_atoms_in_smiles};

/// A sanitized RDKit molecule.
///
/// `Send` (it can move to another thread; create one per thread when parsing in parallel) but
/// not `Sync`: RDKit computes some properties lazily, so one molecule must not be read from
/// two threads at once.
pub struct Molecule {
    ptr: SharedPtr<ROMol>,
}

// SAFETY: the handle is the only owner of its ROMol (it is never cloned or shared), and RDKit
// molecules have no thread affinity; `Molecule` is deliberately not `Sync`.
unsafe impl Send for Molecule {}

impl std::fmt::Debug for Molecule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Molecule")
            .field("smiles", &self.canonical_smiles().unwrap_or_default())
            .finish()
    }
}

impl Molecule {
    /// Parses and sanitizes a SMILES string (surrounding whitespace is ignored), refusing
    /// molecules of more than [`DEFAULT_MAX_HEAVY_ATOMS`] heavy atoms.
    ///
    /// Errors carry RDKit's reason: syntax errors, kekulization failures, valence errors.
    pub fn from_smiles(smiles: &str) -> Result<Self, ChemError> {
        Self::from_smiles_limited(smiles, DEFAULT_MAX_HEAVY_ATOMS)
    }

    /// Parses and sanitizes a SMILES string whose text declares at most `max_heavy_atoms`
    /// heavy atoms; a larger one is [`ChemError::TooLarge`] and never reaches RDKit.
    pub fn from_smiles_limited(smiles: &str, max_heavy_atoms: usize) -> Result<Self, ChemError> {
        let text = smiles.trim();
        if text.is_empty() {
            return Err(ChemError::EmptySmiles);
        }
        let heavy_atoms = heavy_atoms_in_smiles(text);
        if heavy_atoms > max_heavy_atoms {
            return Err(ChemError::TooLarge {
                heavy_atoms,
                limit: max_heavy_atoms,
            });
        }
        bridge::parse_smiles(text, true)
            .map(|ptr| Molecule { ptr })
            .map_err(|e| ChemError::InvalidSmiles {
                smiles: text.to_string(),
                reason: e.what().to_string(),
            })
    }

    /// Parses and sanitizes one MDL molfile block (as found in an SDF record before `$$$$`),
    /// refusing molecules of more than [`DEFAULT_MAX_HEAVY_ATOMS`] heavy atoms.
    pub fn from_molblock(block: &str) -> Result<Self, ChemError> {
        Self::from_molblock_limited(block, DEFAULT_MAX_HEAVY_ATOMS)
    }

    /// Parses and sanitizes one molfile block that declares at most `max_heavy_atoms` heavy
    /// atoms; a larger one is [`ChemError::TooLarge`] and never reaches RDKit.
    pub fn from_molblock_limited(block: &str, max_heavy_atoms: usize) -> Result<Self, ChemError> {
        let heavy_atoms = heavy_atoms_in_molblock(block);
        if heavy_atoms > max_heavy_atoms {
            return Err(ChemError::TooLarge {
                heavy_atoms,
                limit: max_heavy_atoms,
            });
        }
        bridge::parse_molblock(block, true)
            .map(|ptr| Molecule { ptr })
            .map_err(|e| ChemError::InvalidMolBlock {
                reason: e.what().to_string(),
            })
    }

    /// RDKit's canonical isomeric SMILES.
    pub fn canonical_smiles(&self) -> Result<String, ChemError> {
        bridge::canonical_smiles(&self.ptr, true).map_err(|e| ChemError::Computation {
            what: "canonical SMILES",
            reason: e.what().to_string(),
        })
    }

    /// RDKit's canonical SMILES without stereochemistry: the same string for every
    /// stereoisomer, so it identifies the constitution.
    pub fn canonical_smiles_without_stereo(&self) -> Result<String, ChemError> {
        bridge::canonical_smiles(&self.ptr, false).map_err(|e| ChemError::Computation {
            what: "canonical SMILES",
            reason: e.what().to_string(),
        })
    }

    /// The molecule's name (`_Name`, the first line of a molfile), if it has one.
    pub fn name(&self) -> Option<String> {
        let name = bridge::mol_name(&self.ptr);
        (!name.is_empty()).then_some(name)
    }

    /// Each atom's element symbol (RDKit's periodic table), in atom order.
    pub fn atom_symbols(&self) -> Vec<String> {
        bridge::atom_symbols(&self.ptr)
    }

    /// All heavy atoms and bonds, read in one call across the FFI boundary.
    pub fn atoms_and_bonds(&self) -> Result<(Vec<AtomRecord>, Vec<BondRecord>), ChemError> {
        let mut atoms = Vec::new();
        let mut bonds = Vec::new();
        bridge::mol_tables(&self.ptr, &mut atoms, &mut bonds).map_err(|e| {
            ChemError::Computation {
                what: "atom and bond tables",
                reason: e.what().to_string(),
            }
        })?;
        Ok((atoms, bonds))
    }

    pub(crate) fn raw(&self) -> &SharedPtr<ROMol> {
        &self.ptr
    }
}
