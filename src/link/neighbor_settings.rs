//! How nearest-neighbour models find and weight neighbours ([`NeighborConfig`]), and the
//! `(k, p)` candidates they choose among by leave-one-out on their references
//! ([`NeighborGrid`], [`NeighborSearch`], [`GridPoint`]).

use serde::{Deserialize, Serialize};

/// How neighbours are found and weighted.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct NeighborConfig {
    /// Neighbours per prediction.
    pub k: usize,
    /// Exponent `p` of the similarity weights.
    pub power: f64,
    /// Morgan radius of the fingerprints.
    pub radius: u32,
    /// Morgan fingerprint length.
    pub bits: u32,
}

impl Default for NeighborConfig {
    fn default() -> Self {
        NeighborConfig {
            k: 50,
            power: 3.0,
            radius: 2,
            bits: 2048,
        }
    }
}

/// Candidate neighbour counts and weight exponents, chosen among by leave-one-out on the
/// references (never on held-out compounds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NeighborGrid {
    /// Neighbour counts `k` to try.
    pub ks: Vec<usize>,
    /// Weight exponents `p` to try.
    pub powers: Vec<f64>,
}

impl Default for NeighborGrid {
    /// `k ∈ {10, 25, 50, 100}`, `p ∈ {1, 3, 5}`.
    fn default() -> Self {
        NeighborGrid {
            ks: vec![10, 25, 50, 100],
            powers: vec![1.0, 3.0, 5.0],
        }
    }
}

impl NeighborGrid {
    /// The grid of one configuration.
    pub fn single(config: &NeighborConfig) -> Self {
        NeighborGrid {
            ks: vec![config.k],
            powers: vec![config.power],
        }
    }

    /// Every `(k, p)` pair, `k` outermost, in the order given.
    pub fn pairs(&self) -> Vec<(usize, f64)> {
        self.ks
            .iter()
            .flat_map(|&k| self.powers.iter().map(move |&p| (k.max(1), p)))
            .collect()
    }
}

/// A neighbour model's fingerprint settings and the `(k, p)` candidates it chooses among.
#[derive(Debug, Clone, PartialEq)]
pub struct NeighborSearch {
    /// Fingerprint settings (its `k` and `power` are ignored in favour of the grid).
    pub config: NeighborConfig,
    /// Candidates.
    pub grid: NeighborGrid,
}

impl NeighborSearch {
    /// No choice: exactly the `k` and `p` of `config`.
    pub fn fixed(config: NeighborConfig) -> Self {
        NeighborSearch {
            grid: NeighborGrid::single(&config),
            config,
        }
    }
}

impl Default for NeighborSearch {
    /// Morgan radius 2, 2,048 bits, the default grid.
    fn default() -> Self {
        NeighborSearch {
            config: NeighborConfig::default(),
            grid: NeighborGrid::default(),
        }
    }
}

/// Leave-one-out score of one `(k, p)` pair: its best shrinkage and mean Pearson.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GridPoint {
    /// Neighbours.
    pub k: usize,
    /// Weight exponent.
    pub power: f64,
    /// Best shrinkage for this pair.
    pub shrinkage: f64,
    /// Mean per-reference leave-one-out Pearson at that shrinkage.
    pub pearson: f64,
}
