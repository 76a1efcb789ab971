//! Reference signatures with precomputed ranks, stored compactly for fast
//! connectivity queries (as CMap stores its reference database).

use super::error::{ExprError, Result};
use super::signature::SignatureMatrix;
use rayon::prelude::*;

/// Many reference signatures over `n_genes` genes, with each gene's position
/// in the signature's descending order precomputed.
///
/// Per reference `r` and gene `g`: `values[r·n + g]` (f32) and
/// `ranks[r·n + g]` (u16) = 0-based position of `g` when the reference's genes
/// are sorted from the largest to the smallest value (ties broken by gene
/// index; NaN is treated as 0). 6 bytes per gene; at most 65,536 genes.
#[derive(Debug, Clone, PartialEq)]
pub struct RankedReferences {
    n_genes: usize,
    values: Vec<f32>,
    ranks: Vec<u16>,
}

/// Descending-order positions of one vector (`out[g]` = position of gene `g`;
/// ties broken by gene index, NaN treated as 0). Sorts packed integer keys
/// (order-preserving bits of `−v` above the gene index), which is several
/// times faster than sorting indices with a float comparator.
pub fn descending_positions(values: &[f32], keys: &mut Vec<u64>, out: &mut [u16]) {
    keys.clear();
    keys.extend(values.iter().enumerate().map(|(g, &v)| {
        let v = if v.is_nan() { 0.0 } else { v + 0.0 }; // + 0.0 maps −0 to +0
        // ascending order of `key` = descending order of v
        let bits = (-v).to_bits();
        let ord = if bits >> 31 == 1 {
            !bits
        } else {
            bits | 0x8000_0000
        };
        (u64::from(ord) << 16) | g as u64
    }));
    keys.sort_unstable();
    for (pos, &k) in keys.iter().enumerate() {
        out[(k & 0xFFFF) as usize] = pos as u16;
    }
}

impl RankedReferences {
    /// Ranks references given as f32 values, `values.len() = n_refs · n_genes`
    /// (parallel over references).
    pub fn from_values(n_genes: usize, values: Vec<f32>) -> Result<Self> {
        if n_genes == 0 || n_genes > u16::MAX as usize + 1 {
            return Err(ExprError::Invalid(format!(
                "ranked references need 1..=65536 genes, got {n_genes}"
            )));
        }
        if !values.len().is_multiple_of(n_genes) {
            return Err(ExprError::Shape(format!(
                "{} values is not a multiple of {n_genes} genes",
                values.len()
            )));
        }
        let mut ranks = vec![0u16; values.len()];
        ranks
            .par_chunks_mut(n_genes)
            .zip(values.par_chunks(n_genes))
            .for_each_init(
                || Vec::with_capacity(n_genes),
                |order, (r, v)| descending_positions(v, order, r),
            );
        Ok(RankedReferences {
            n_genes,
            values,
            ranks,
        })
    }

    /// Ranks the signatures of a matrix (values converted to f32).
    pub fn from_matrix(m: &SignatureMatrix) -> Result<Self> {
        Self::from_values(m.n_genes(), m.data.iter().map(|&x| x as f32).collect())
    }

    /// Number of genes per reference.
    pub fn n_genes(&self) -> usize {
        self.n_genes
    }

    /// Number of references.
    pub fn len(&self) -> usize {
        self.values.len() / self.n_genes
    }

    /// True when there is no reference.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Values of reference `r`.
    pub fn values(&self, r: usize) -> &[f32] {
        &self.values[r * self.n_genes..(r + 1) * self.n_genes]
    }

    /// Descending-order positions of reference `r`.
    pub fn ranks(&self, r: usize) -> &[u16] {
        &self.ranks[r * self.n_genes..(r + 1) * self.n_genes]
    }

    /// All values (reference after reference).
    pub fn all_values(&self) -> &[f32] {
        &self.values
    }

    /// All ranks (reference after reference).
    pub fn all_ranks(&self) -> &[u16] {
        &self.ranks
    }

    /// Keeps the references at `idx`, in that order.
    pub fn select(&self, idx: &[usize]) -> RankedReferences {
        let mut values = Vec::with_capacity(idx.len() * self.n_genes);
        let mut ranks = Vec::with_capacity(idx.len() * self.n_genes);
        for &r in idx {
            values.extend_from_slice(self.values(r));
            ranks.extend_from_slice(self.ranks(r));
        }
        RankedReferences {
            n_genes: self.n_genes,
            values,
            ranks,
        }
    }
}
