//! Morgan (ECFP-like) bit fingerprints computed by RDKit.

use super::{error::ChemError, ffi::bridge, mol::Molecule};

/// A folded bit fingerprint: its length and the indices of its set bits (ascending).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// Number of bits.
    pub n_bits: u32,
    /// Indices of the set bits, ascending.
    pub on_bits: Vec<u32>,
}

impl Fingerprint {
    /// Writes the fingerprint as 0/1 values into `out` (length `n_bits`).
    pub fn write_dense(&self, out: &mut [f32]) {
        out.fill(0.0);
        for &b in &self.on_bits {
            if let Some(slot) = out.get_mut(b as usize) {
                *slot = 1.0;
            }
        }
    }

    /// Tanimoto similarity `|A ∩ B| / |A ∪ B|` (1 for two empty fingerprints).
    pub fn tanimoto(&self, other: &Fingerprint) -> f64 {
        let (mut i, mut j, mut common) = (0, 0, 0usize);
        while i < self.on_bits.len() && j < other.on_bits.len() {
            match self.on_bits[i].cmp(&other.on_bits[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    common += 1;
                    i += 1;
                    j += 1;
                }
            }
        }
        let union = self.on_bits.len() + other.on_bits.len() - common;
        if union == 0 {
            1.0
        } else {
            common as f64 / union as f64
        }
    }
}

impl Molecule {
    /// Morgan fingerprint of the given radius folded to `n_bits` bits
    /// (RDKit `GetMorganFingerprintAsBitVect(mol, radius, nBits)`; radius 2 ≈ ECFP4).
    pub fn morgan_fingerprint(&self, radius: u32, n_bits: u32) -> Result<Fingerprint, ChemError> {
        if n_bits == 0 {
            return Err(ChemError::Computation {
                what: "Morgan fingerprint",
                reason: "the fingerprint needs at least one bit".into(),
            });
        }
        let mut on_bits =
            bridge::morgan_on_bits(self.raw(), radius, n_bits, false).map_err(|e| {
                ChemError::Computation {
                    what: "Morgan fingerprint",
                    reason: e.what().to_string(),
                }
            })?;
        on_bits.sort_unstable();
        Ok(Fingerprint { n_bits, on_bits })
    }
}
