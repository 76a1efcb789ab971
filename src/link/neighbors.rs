//! Similarity-weighted nearest neighbours: a prediction is the weighted mean of the targets
//! of the `k` most similar reference compounds,
//!
//! `ŷ(q) = μ + α · Σᵢ wᵢ (yᵢ − μ) / Σᵢ wᵢ`,  `wᵢ = max(sᵢ, 0)^p` over the top-`k` similarities `sᵢ`,
//!
//! where `μ` is the mean reference target and `α ∈ [0, 1]` shrinks the neighbours' deviation
//! towards it (`α = 1`: the plain weighted mean). With few, noisy references (849 L1000
//! consensus signatures) this beats a trained network: it cannot overfit, and `α`, chosen by
//! leave-one-out on the references, falls to 0 when similarity carries no information, so the
//! model then predicts the mean.
//!
//! [`NeighborModel`] is the structure → signature form: Tanimoto similarity of Morgan
//! fingerprints, saved in a framed file (magic `MOLTXKNN`) with the same corruption checks as
//! model files. [`neighbor_average`] is the core, for any similarity.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::chem::Fingerprint;
use crate::expr::signature::pearson;
use crate::model::input_spec::InputSpec;
use crate::model::net::{MoleculeInput, StructureInput};
use crate::model::scorer::{ScoreError, Scorer, Scores, check_inputs, checksum_identity};
use burn::tensor::Device;

pub use super::neighbor_settings::{GridPoint, NeighborConfig, NeighborGrid, NeighborSearch};

/// The 8 bytes every neighbour-model file starts with.
pub const NEIGHBOR_MAGIC: &[u8; 8] = b"MOLTXKNN";
/// Longest fingerprint a neighbour-model file may ask for (queries are fingerprinted with
/// it: a corrupt length of 2³² asked RDKit for a 512 MiB bit vector per query).
pub const MAX_FINGERPRINT_BITS: u32 = 1 << 24;
/// The neighbour-model format version this build writes and reads.
pub const NEIGHBOR_FORMAT_VERSION: u32 = 1;

/// Weighted mean of the `k` most similar rows of `targets` (row-major, `n_tasks` wide),
/// weights `max(s, 0)^power`; rows whose similarity is NaN are skipped. `None` when no
/// neighbour has a positive weight.
pub fn neighbor_average(
    similarities: &[f64],
    targets: &[f32],
    n_tasks: usize,
    k: usize,
    power: f64,
) -> Option<Vec<f64>> {
    weighted_average(
        &top_neighbors(similarities, k),
        similarities,
        targets,
        n_tasks,
        power,
    )
}

/// Indices of the `k` (at least 1) largest finite similarities, most similar first (ties:
/// lower index first).
pub fn top_neighbors(similarities: &[f64], k: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..similarities.len())
        .filter(|&i| similarities[i].is_finite())
        .collect();
    order.sort_by(|&a, &b| similarities[b].total_cmp(&similarities[a]).then(a.cmp(&b)));
    order.truncate(k.max(1));
    order
}

/// `Σᵢ wᵢ yᵢ / Σᵢ wᵢ` over the rows `neighbors`, `wᵢ = max(sᵢ, 0)^power`; `None` when no
/// weight is positive.
pub fn weighted_average(
    neighbors: &[usize],
    similarities: &[f64],
    targets: &[f32],
    n_tasks: usize,
    power: f64,
) -> Option<Vec<f64>> {
    let mut out = vec![0.0f64; n_tasks];
    let mut total = 0.0;
    for &i in neighbors {
        let w = similarities[i].max(0.0).powf(power);
        if w <= 0.0 {
            continue;
        }
        total += w;
        for (o, &y) in out.iter_mut().zip(&targets[i * n_tasks..(i + 1) * n_tasks]) {
            *o += w * f64::from(y);
        }
    }
    (total > 0.0).then(|| out.into_iter().map(|v| v / total).collect())
}

/// Everything about a neighbour model except its reference fingerprints and targets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NeighborHeader {
    /// File format version.
    pub format_version: u32,
    /// moltx version that wrote the file.
    pub moltx_version: String,
    /// Neighbour search and weights.
    pub config: NeighborConfig,
    /// Shrinkage `α` towards the mean target.
    pub shrinkage: f64,
    /// Target names (genes for a structure → signature model).
    pub tasks: Vec<String>,
    /// Reference compound ids.
    pub ids: Vec<String>,
    /// Mean reference target `μ`.
    pub mean: Vec<f64>,
    /// How it was fitted (free-form JSON).
    pub metrics: serde_json::Value,
}

/// A fitted neighbour model: reference fingerprints and targets.
#[derive(Debug, Clone, PartialEq)]
pub struct NeighborModel {
    /// Metadata.
    pub header: NeighborHeader,
    /// Reference fingerprints, one per id.
    pub fingerprints: Vec<Fingerprint>,
    /// Reference targets, row-major `ids × tasks`.
    pub targets: Vec<f32>,
}

/// Shrinkage values tried by [`NeighborModel::fit`].
pub const SHRINKAGE_GRID: [f64; 11] = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];

impl NeighborModel {
    /// Fits on reference compounds with the `k` and `p` of `config`: stores them, and picks
    /// the shrinkage `α` from [`SHRINKAGE_GRID`] that maximizes the mean per-compound Pearson
    /// correlation of leave-one-out predictions (each reference predicted from the others).
    pub fn fit(
        config: NeighborConfig,
        tasks: Vec<String>,
        ids: Vec<String>,
        fingerprints: Vec<Fingerprint>,
        targets: Vec<f32>,
    ) -> Result<Self, String> {
        let grid = NeighborGrid::single(&config);
        Self::fit_tuned(config, &grid, tasks, ids, fingerprints, targets)
    }

    /// [`NeighborModel::fit`] choosing `k`, `p` and `α` together: the triple with the best
    /// mean leave-one-out Pearson over the references (ties: the earlier pair of
    /// [`NeighborGrid::pairs`], the smaller `α`). `config` gives the fingerprint settings;
    /// the file's metrics list the score of every pair.
    pub fn fit_tuned(
        config: NeighborConfig,
        grid: &NeighborGrid,
        tasks: Vec<String>,
        ids: Vec<String>,
        fingerprints: Vec<Fingerprint>,
        targets: Vec<f32>,
    ) -> Result<Self, String> {
        let pairs = grid.pairs();
        if pairs.is_empty() || pairs.iter().any(|&(_, p)| !p.is_finite()) {
            return Err(format!(
                "the neighbour grid needs at least one k and finite powers: {grid:?}"
            ));
        }
        let (n, t) = (ids.len(), tasks.len());
        if n == 0 || fingerprints.len() != n || targets.len() != n * t {
            return Err(format!(
                "{} ids, {} fingerprints and {} target values for {t} tasks do not match",
                n,
                fingerprints.len(),
                targets.len()
            ));
        }
        let mut mean = vec![0.0f64; t];
        for row in targets.chunks(t.max(1)) {
            for (m, &v) in mean.iter_mut().zip(row) {
                *m += f64::from(v) / n as f64;
            }
        }
        // Each reference's similarities to the others (itself NaN) and its nearest others.
        let k_max = pairs.iter().map(|&(k, _)| k).max().unwrap_or(1);
        let neighbourhoods: Vec<(Vec<f64>, Vec<usize>)> = (0..n)
            .into_par_iter()
            .map(|i| {
                let mut sims: Vec<f64> = fingerprints
                    .iter()
                    .map(|f| fingerprints[i].tanimoto(f))
                    .collect();
                sims[i] = f64::NAN;
                let order = top_neighbors(&sims, k_max);
                (sims, order)
            })
            .collect();
        let mut points = Vec::with_capacity(pairs.len());
        for &(k, power) in &pairs {
            let deviations: Vec<Option<Vec<f64>>> = neighbourhoods
                .par_iter()
                .map(|(sims, order)| {
                    weighted_average(&order[..k.min(order.len())], sims, &targets, t, power)
                        .map(|avg| avg.iter().zip(&mean).map(|(a, m)| a - m).collect())
                })
                .collect();
            let (shrinkage, pearson) = best_shrinkage(&deviations, &targets, &mean);
            points.push(GridPoint {
                k,
                power,
                shrinkage,
                pearson,
            });
        }
        // Ties go to the earlier pair.
        let best =
            points.iter().copied().fold(
                points[0],
                |acc, p| if p.pearson > acc.pearson { p } else { acc },
            );
        let config = NeighborConfig {
            k: best.k,
            power: best.power,
            ..config
        };
        let metrics = serde_json::json!({
            "references": n,
            "leave_one_out_pearson": best.pearson,
            "grid": points,
        });
        Ok(NeighborModel {
            header: NeighborHeader {
                format_version: NEIGHBOR_FORMAT_VERSION,
                moltx_version: env!("CARGO_PKG_VERSION").to_string(),
                config,
                shrinkage: best.shrinkage,
                tasks,
                ids,
                mean,
                metrics,
            },
            fingerprints,
            targets,
        })
    }

    /// Number of targets per prediction.
    pub fn n_tasks(&self) -> usize {
        self.header.tasks.len()
    }

    /// The prediction `μ + α · (neighbour mean − μ)` for one fingerprint.
    pub fn predict(&self, query: &Fingerprint) -> Vec<f64> {
        let h = &self.header;
        let sims: Vec<f64> = self
            .fingerprints
            .iter()
            .map(|f| query.tanimoto(f))
            .collect();
        match neighbor_average(
            &sims,
            &self.targets,
            self.n_tasks(),
            h.config.k,
            h.config.power,
        ) {
            Some(avg) => h
                .mean
                .iter()
                .zip(avg)
                .map(|(m, a)| m + h.shrinkage * (a - m))
                .collect(),
            None => h.mean.clone(),
        }
    }

    /// Predictions for many fingerprints (row-major), in parallel.
    pub fn predict_all(&self, queries: &[&Fingerprint]) -> Vec<f64> {
        queries
            .par_iter()
            .flat_map_iter(|q| self.predict(q))
            .collect()
    }
}

/// The shrinkage of [`SHRINKAGE_GRID`] maximizing the mean per-reference Pearson of the
/// leave-one-out predictions `μ + α dᵢ` (`μ` where a reference has no neighbour), ties going
/// to the smaller `α`, with that Pearson.
fn best_shrinkage(deviations: &[Option<Vec<f64>>], targets: &[f32], mean: &[f64]) -> (f64, f64) {
    let (n, t) = (deviations.len(), mean.len());
    let loo_pearson = |alpha: f64| -> f64 {
        let total: f64 = (0..n)
            .into_par_iter()
            .map(|i| {
                let truth: Vec<f64> = targets[i * t..(i + 1) * t]
                    .iter()
                    .map(|&v| f64::from(v))
                    .collect();
                let pred: Vec<f64> = match &deviations[i] {
                    Some(d) => mean.iter().zip(d).map(|(m, d)| m + alpha * d).collect(),
                    None => mean.to_vec(),
                };
                pearson(&pred, &truth)
            })
            .sum();
        total / n.max(1) as f64
    };
    SHRINKAGE_GRID.iter().map(|&a| (a, loo_pearson(a))).fold(
        (0.0, f64::NEG_INFINITY),
        |acc, (a, s)| {
            if s > acc.1 { (a, s) } else { acc }
        },
    )
}

impl Scorer for NeighborModel {
    fn input_spec(&self) -> InputSpec {
        InputSpec::morgan(self.header.config.radius, self.header.config.bits)
    }

    fn tasks(&self) -> &[String] {
        &self.header.tasks
    }

    /// Similarity-weighted averages of the nearest references' values
    /// ([`NeighborModel::predict`]).
    fn score(&self, inputs: &[&MoleculeInput], _device: &Device) -> Result<Scores, ScoreError> {
        check_inputs(&self.input_spec(), inputs)?;
        let fingerprints: Vec<_> = inputs
            .iter()
            .filter_map(|input| match &input.structure {
                StructureInput::Morgan(fp) => Some(fp),
                _ => None,
            })
            .collect();
        Ok(Scores {
            n: inputs.len(),
            values: self.predict_all(&fingerprints),
            spread: None,
            notes: Vec::new(),
        })
    }

    fn identity(&self) -> Result<String, String> {
        Ok(checksum_identity(&[self.to_bytes()?]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::checkpoint::CheckpointError;
    use std::path::Path;

    fn fp(bits: &[u32]) -> Fingerprint {
        Fingerprint {
            n_bits: 16,
            on_bits: bits.to_vec(),
        }
    }

    /// The same guard as model files' (`tests/fuzz.rs` found the hang there, an `ffn-morgan`
    /// header with `"morgan_radius": 1000000000`): a neighbour file fingerprints every query
    /// with its header's radius and length, so both are bounded when it loads.
    #[test]
    fn a_huge_fingerprint_radius_or_length_is_refused() {
        let model = NeighborModel::fit(
            NeighborConfig {
                k: 1,
                power: 1.0,
                radius: 2,
                bits: 16,
            },
            vec!["g".into()],
            vec!["a".into(), "b".into()],
            vec![fp(&[1]), fp(&[2])],
            vec![0.0, 1.0],
        )
        .unwrap();
        let path = Path::new("knn.moltx");
        assert!(NeighborModel::from_bytes(&model.to_bytes().unwrap(), path).is_ok());
        for (radius, bits) in [(1_000_000_000, 16), (2, u32::MAX), (2, 0)] {
            let mut bad = model.clone();
            bad.header.config.radius = radius;
            bad.header.config.bits = bits;
            let err = NeighborModel::from_bytes(&bad.to_bytes().unwrap(), path).unwrap_err();
            assert!(err.to_string().contains("Morgan radius"), "{err}");
        }
    }

    #[test]
    fn average_weights_the_top_k_by_similarity_power() {
        let targets = [1.0, 10.0, 3.0, 30.0, 100.0, 1000.0];
        // Top 2 of sims [0.5, 1.0, 0.1]: rows 1 (w 1) and 0 (w 0.25) with power 2.
        let avg = neighbor_average(&[0.5, 1.0, 0.1], &targets, 2, 2, 2.0).unwrap();
        let expect = [(0.25 * 1.0 + 3.0) / 1.25, (0.25 * 10.0 + 30.0) / 1.25];
        assert!((avg[0] - expect[0]).abs() < 1e-12 && (avg[1] - expect[1]).abs() < 1e-12);
        // Negative, zero and NaN similarities carry no weight.
        assert!(neighbor_average(&[-0.5, 0.0, f64::NAN], &targets, 2, 3, 1.0).is_none());
    }

    #[test]
    fn shrinkage_follows_whether_similarity_is_informative() {
        // Two structural families with opposite signatures: neighbours are informative.
        let fps: Vec<Fingerprint> = (0..12usize)
            .map(|i| {
                if i.is_multiple_of(2) {
                    fp(&[0, 1, 2, 3 + (i as u32 % 4)])
                } else {
                    fp(&[8, 9, 10, 11 + (i as u32 % 4)])
                }
            })
            .collect();
        let sig = |i: usize| -> [f32; 4] {
            let s = if i.is_multiple_of(2) { 1.0 } else { -1.0 };
            [s, -s, 0.5 * s, 0.1 * i as f32]
        };
        let targets: Vec<f32> = (0..12).flat_map(sig).collect();
        let ids: Vec<String> = (0..12).map(|i| format!("c{i}")).collect();
        let tasks: Vec<String> = (0..4).map(|g| format!("g{g}")).collect();
        let config = NeighborConfig {
            k: 3,
            power: 1.0,
            radius: 2,
            bits: 16,
        };
        let informative =
            NeighborModel::fit(config, tasks, ids.clone(), fps.clone(), targets).unwrap();
        assert!(
            informative.header.shrinkage >= 0.5,
            "{:?}",
            informative.header
        );
        let p = informative.predict(&fp(&[0, 1, 2, 3]));
        assert!(p[0] > 0.3 && p[1] < -0.3, "{p:?}");
        // Every compound has one shared signature plus noise unrelated to structure: the
        // leave-one-out choice falls back to the mean.
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let genes = 40;
        let noisy: Vec<f32> = (0..12 * genes)
            .map(|j| (j % genes) as f32 / 10.0 - 2.0 + rng.random_range(-1.0f32..1.0))
            .collect();
        let tasks: Vec<String> = (0..genes).map(|g| format!("g{g}")).collect();
        let uninformative =
            NeighborModel::fit(config, tasks.clone(), ids.clone(), fps.clone(), noisy).unwrap();
        assert_eq!(
            uninformative.header.shrinkage, 0.0,
            "{:?}",
            uninformative.header.metrics
        );
    }

    #[test]
    fn the_grid_choice_is_made_by_leave_one_out() {
        // Two families of six with opposite signatures. With k = 11, weights s⁰ = 1 let the
        // other family (Tanimoto 0, yet 0⁰ = 1) vote as much as one's own: p = 1 must win.
        let fps: Vec<Fingerprint> = (0..12u32)
            .map(|i| {
                if i % 2 == 0 {
                    fp(&[0, 1, 2, 3 + i % 4])
                } else {
                    fp(&[8, 9, 10, 11 + i % 4])
                }
            })
            .collect();
        let targets: Vec<f32> = (0..12)
            .flat_map(|i| {
                let s = if i % 2 == 0 { 1.0 } else { -1.0 };
                [s, -s, 0.5 * s]
            })
            .collect();
        let grid = NeighborGrid {
            ks: vec![11],
            powers: vec![0.0, 1.0],
        };
        let model = NeighborModel::fit_tuned(
            NeighborConfig::default(),
            &grid,
            (0..3).map(|g| format!("g{g}")).collect(),
            (0..12).map(|i| format!("c{i}")).collect(),
            fps,
            targets,
        )
        .unwrap();
        assert_eq!(
            (model.header.config.k, model.header.config.power),
            (11, 1.0)
        );
        let points: Vec<GridPoint> =
            serde_json::from_value(model.header.metrics["grid"].clone()).unwrap();
        assert_eq!(points.len(), 2);
        assert!(points[1].pearson > points[0].pearson + 0.5, "{points:?}");
        // An empty grid is an error, not a panic.
        let empty = NeighborGrid {
            ks: Vec::new(),
            powers: vec![1.0],
        };
        assert!(
            NeighborModel::fit_tuned(
                NeighborConfig::default(),
                &empty,
                vec!["g".into()],
                vec!["c".into()],
                vec![fp(&[1])],
                vec![0.5],
            )
            .is_err()
        );
    }

    #[test]
    fn file_round_trip_and_damage() {
        let fps = vec![fp(&[1, 5]), fp(&[]), fp(&[0, 15])];
        let model = NeighborModel::fit(
            NeighborConfig {
                k: 2,
                power: 1.0,
                radius: 2,
                bits: 16,
            },
            vec!["a".into(), "b".into()],
            vec!["x".into(), "y".into(), "z".into()],
            fps,
            // Means like 0.7/3 need every bit of the f64 to survive the JSON header.
            vec![0.1, 0.2, 0.3, 0.4, 0.3, 1.7],
        )
        .unwrap();
        let path = Path::new("m.knn.moltx");
        let bytes = model.to_bytes().unwrap();
        assert_eq!(NeighborModel::from_bytes(&bytes, path).unwrap(), model);
        let mut flipped = bytes.clone();
        let mid = flipped.len() / 2;
        flipped[mid] ^= 0x40;
        assert!(matches!(
            NeighborModel::from_bytes(&flipped, path),
            Err(CheckpointError::Corrupted { .. } | CheckpointError::Truncated { .. })
        ));
        assert!(matches!(
            NeighborModel::from_bytes(&bytes[..bytes.len() - 9], path),
            Err(CheckpointError::Truncated { .. })
        ));
        let mut other = bytes;
        other[..8].copy_from_slice(b"MOLTXMDL");
        assert!(matches!(
            NeighborModel::from_bytes(&other, path),
            Err(CheckpointError::BadMagic(_))
        ));
    }
}
