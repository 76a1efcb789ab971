//! Errors of the chemistry layer: every failure carries RDKit's own reason.

/// Why a molecule could not be read or processed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChemError {
    /// The SMILES string was empty or only whitespace.
    #[error("empty SMILES")]
    EmptySmiles,
    /// RDKit rejected the SMILES (syntax, kekulization, valence, ...).
    #[error("invalid SMILES {smiles:?}: {reason}")]
    InvalidSmiles {
        /// The input as given.
        smiles: String,
        /// RDKit's message.
        reason: String,
    },
    /// RDKit rejected a molfile / SDF record.
    #[error("invalid molfile: {reason}")]
    InvalidMolBlock {
        /// RDKit's message.
        reason: String,
    },
    /// The molecule has more heavy atoms than the limit, counted from its text before any
    /// parsing (see [`super::size`]).
    #[error("too large: {heavy_atoms} heavy atoms, limit {limit}")]
    TooLarge {
        /// Heavy atoms the text declares.
        heavy_atoms: usize,
        /// The limit in force.
        limit: usize,
    },
    /// RDKit failed while computing something from a valid molecule.
    #[error("RDKit failed computing {what}: {reason}")]
    Computation {
        /// What was being computed (e.g. "Murcko scaffold").
        what: &'static str,
        /// RDKit's message.
        reason: String,
    },
}

impl ChemError {
    /// A short category for counting failures by kind (the full reason varies by atom index).
    pub fn category(&self) -> &'static str {
        let reason = match self {
            ChemError::EmptySmiles => return "empty SMILES",
            ChemError::InvalidSmiles { reason, .. } | ChemError::InvalidMolBlock { reason } => {
                reason
            }
            ChemError::Computation { .. } => return "computation error",
            ChemError::TooLarge { .. } => return "too large",
        };
        if reason.contains("kekulize") {
            "kekulization error"
        } else if reason.contains("valence") {
            "valence error"
        } else if reason.contains("Parse Error") || reason.contains("syntax") {
            "syntax error"
        } else if reason.contains("ring") {
            "ring closure error"
        } else {
            "other RDKit error"
        }
    }
}
