//! Chemistry, done by RDKit. The only module that touches RDKit: everything above it sees
//! Rust types ([`Molecule`], [`MolGraph`], [`AtomRecord`], [`BondRecord`]), never pointers.

pub mod depict;
pub mod descriptors;
pub mod error;
pub mod featurize;
mod ffi;
pub mod fingerprint;
pub mod graph;
pub mod mol;
pub mod scaffold;
pub mod sdf;
pub mod size;

pub use error::ChemError;
pub use featurize::{FeatureLayout, chemprop_v2_layout};
pub use fingerprint::Fingerprint;
pub use graph::MolGraph;
pub use mol::{AtomRecord, BondRecord, Molecule};
pub use size::DEFAULT_MAX_HEAVY_ATOMS;

/// Routes RDKit's log messages into per-thread buffers (they become our error reasons) so RDKit
/// never writes to stderr. Called automatically before parsing; idempotent.
pub fn silence_rdkit_logs() {
    ffi::bridge::init_rdkit_logs();
}
