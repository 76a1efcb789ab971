//! Atom and bond feature vectors, with the same content and order as chemprop v2's default
//! featurizer (`MultiHotAtomFeaturizer.v2()` and `MultiHotBondFeaturizer()`).
//!
//! Atom vector (72 values), each block a one-hot whose last slot means "other":
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0  | 38 | atomic number: H..Kr (1–36) and I (53), other |
//! | 38 | 7  | total degree (neighbours including H): 0–5, other |
//! | 45 | 6  | formal charge: −1, −2, +1, +2, 0, other |
//! | 51 | 5  | chiral tag: unspecified, CW, CCW, other-chirality, other |
//! | 56 | 6  | total H count: 0–4, other |
//! | 62 | 8  | hybridization: S, SP, SP2, SP2D, SP3, SP3D, SP3D2, other/unspecified |
//! | 70 | 1  | aromatic (0/1) |
//! | 71 | 1  | atomic mass / 100 |
//!
//! Bond vector (14 values):
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0  | 1 | null bond (1 only for the "no bond" vector) |
//! | 1  | 4 | bond type: single, double, triple, aromatic (all 0 for other types) |
//! | 5  | 1 | conjugated |
//! | 6  | 1 | in ring |
//! | 7  | 7 | stereo: none, any, Z, E, cis, trans, other |

use serde::{Deserialize, Serialize};

use super::mol::{AtomRecord, BondRecord};

/// Names a feature layout so a model file can check it is fed the features it was trained on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureLayout {
    /// Layout name.
    pub name: String,
    /// Layout version; bumped whenever any field changes meaning or order.
    pub version: u32,
    /// Length of an atom feature vector.
    pub atom_dim: usize,
    /// Length of a bond feature vector.
    pub bond_dim: usize,
}

/// Length of an atom feature vector.
pub const ATOM_DIM: usize = 72;
/// Length of a bond feature vector.
pub const BOND_DIM: usize = 14;

/// The layout this module writes: chemprop v2's default multi-hot features.
pub fn chemprop_v2_layout() -> FeatureLayout {
    FeatureLayout {
        name: "chemprop-v2-multihot".to_string(),
        version: 1,
        atom_dim: ATOM_DIM,
        bond_dim: BOND_DIM,
    }
}

const ATOMIC_NUMS: usize = 38;
const DEGREE: usize = 7;
const CHARGE: usize = 6;
const CHIRAL: usize = 5;
const NUM_HS: usize = 6;
const HYBRID: usize = 8;

/// Writes an atom's feature vector into `out` (length [`ATOM_DIM`]).
///
/// # Panics
/// If `out` is shorter than [`ATOM_DIM`] (a caller bug, not bad data).
pub fn atom_features(atom: &AtomRecord, out: &mut [f32]) {
    let out = &mut out[..ATOM_DIM];
    out.fill(0.0);
    let z = atom.atomic_num as usize;
    let z_slot = match z {
        1..=36 => z - 1,
        53 => 36,
        _ => 37,
    };
    let charge_slot = match atom.formal_charge {
        -1 => 0,
        -2 => 1,
        1 => 2,
        2 => 3,
        0 => 4,
        _ => 5,
    };
    let hybrid_slot = match atom.hybridization {
        code @ 1..=7 => code as usize - 1,
        _ => 7,
    };
    let mut base = 0;
    out[base + z_slot] = 1.0;
    base += ATOMIC_NUMS;
    out[base + (atom.total_degree as usize).min(DEGREE - 1)] = 1.0;
    base += DEGREE;
    out[base + charge_slot] = 1.0;
    base += CHARGE;
    out[base + (atom.chiral_tag as usize).min(CHIRAL - 1)] = 1.0;
    base += CHIRAL;
    out[base + (atom.total_hs as usize).min(NUM_HS - 1)] = 1.0;
    base += NUM_HS;
    out[base + hybrid_slot] = 1.0;
    base += HYBRID;
    out[base] = if atom.aromatic { 1.0 } else { 0.0 };
    out[base + 1] = 0.01 * atom.mass;
}

/// Writes a bond's feature vector into `out` (length [`BOND_DIM`]); `None` is the null bond.
///
/// # Panics
/// If `out` is shorter than [`BOND_DIM`].
pub fn bond_features(bond: Option<&BondRecord>, out: &mut [f32]) {
    let out = &mut out[..BOND_DIM];
    out.fill(0.0);
    let Some(bond) = bond else {
        out[0] = 1.0;
        return;
    };
    if (1..=4).contains(&bond.bond_type) {
        out[bond.bond_type as usize] = 1.0;
    }
    out[5] = if bond.conjugated { 1.0 } else { 0.0 };
    out[6] = if bond.in_ring { 1.0 } else { 0.0 };
    out[7 + (bond.stereo as usize).min(6)] = 1.0;
}
