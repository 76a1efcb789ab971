//! Structure → signature: a D-MPNN with one regression output per landmark gene, trained on
//! compounds that have both a structure and a measured consensus signature (LINCS L1000
//! moderated z-scores), and judged against two drug-free baselines on the same split:
//! the mean training signature, and the same model trained with structures shuffled among the
//! training compounds (it learns the mean and nothing compound-specific).
//!
//! Beside the network, a similarity-weighted nearest-neighbour model
//! ([`crate::link::neighbors`]) is fitted on the training and validation compounds, with its
//! own shuffled control (signatures permuted among those compounds).
//!
//! Metrics per test compound `c`, averaged over compounds:
//! - Pearson `r(ŷ_c, y_c)` over genes;
//! - top-k precision `|top_k(ŷ_c) ∩ top_k(y_c)| / k` for the k most up-regulated genes, and
//!   the same for the k most down-regulated ones.

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::chem::Fingerprint;
use crate::data::MoleculeTable;
use crate::expr::signature::pearson;
use crate::link::neighbors::{NeighborModel, NeighborSearch};
use crate::link::profiled::{ProfiledCompounds, morgan_fingerprints};
use crate::model::MoleculeInput;
use crate::model::ensemble::{ensemble_predict, load_ensemble};
use crate::train::error::JobError;
use crate::train::job::{TrainJob, make_split, run_train, table_inputs};
use crate::train::trainer::EpochRecord;

/// How well predicted signatures match measured ones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct SignatureMetrics {
    /// Test compounds.
    pub n: usize,
    /// Mean per-compound Pearson correlation.
    pub pearson: f64,
    /// Mean top-k precision of the up-regulated genes.
    pub precision_up: f64,
    /// Mean top-k precision of the down-regulated genes.
    pub precision_down: f64,
}

/// Indices of the `k` largest values (ties by index).
fn top_indices(values: &[f64], k: usize, largest: bool) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..values.len()).collect();
    idx.sort_by(|&a, &b| {
        let o = values[a].total_cmp(&values[b]);
        (if largest { o.reverse() } else { o }).then(a.cmp(&b))
    });
    idx.truncate(k);
    idx.sort_unstable();
    idx
}

fn overlap(a: &[usize], b: &[usize]) -> usize {
    a.iter().filter(|x| b.binary_search(x).is_ok()).count()
}

/// Per-compound metrics of row-major `n × genes` predictions against measured signatures.
pub fn signature_metrics(pred: &[f64], truth: &[f64], genes: usize, k: usize) -> SignatureMetrics {
    let n = truth.len() / genes.max(1);
    if n == 0 {
        return SignatureMetrics::default();
    }
    let k = k.min(genes).max(1);
    let (mut r, mut up, mut down) = (0.0, 0.0, 0.0);
    for c in 0..n {
        let (p, t) = (
            &pred[c * genes..(c + 1) * genes],
            &truth[c * genes..(c + 1) * genes],
        );
        let rc = pearson(p, t);
        r += if rc.is_finite() { rc } else { 0.0 };
        up += overlap(&top_indices(p, k, true), &top_indices(t, k, true)) as f64 / k as f64;
        down += overlap(&top_indices(p, k, false), &top_indices(t, k, false)) as f64 / k as f64;
    }
    let n_f = n as f64;
    SignatureMetrics {
        n,
        pearson: r / n_f,
        precision_up: up / n_f,
        precision_down: down / n_f,
    }
}

/// One seed's comparison.
#[derive(Debug, Clone, Serialize)]
pub struct SeedComparison {
    /// Seed of the split and the models.
    pub seed: u64,
    /// The structure → signature network (D-MPNN), when trained.
    pub model: Option<SignatureMetrics>,
    /// The nearest-neighbour model, when fitted.
    pub neighbors: Option<NeighborResult>,
    /// The mean training signature for every compound.
    pub mean_signature: SignatureMetrics,
    /// The model trained with structures shuffled among training compounds.
    pub shuffled_structures: Option<SignatureMetrics>,
    /// Directory of this seed's model files.
    pub model_dir: String,
}

/// The nearest-neighbour model of one seed and its shuffled control.
#[derive(Debug, Clone, Serialize)]
pub struct NeighborResult {
    /// Test metrics.
    pub metrics: SignatureMetrics,
    /// Neighbours chosen by leave-one-out on the reference compounds.
    pub k: usize,
    /// Weight exponent chosen by leave-one-out.
    pub power: f64,
    /// Shrinkage `α` chosen by leave-one-out on the reference compounds.
    pub shrinkage: f64,
    /// The same fit with signatures permuted among the reference compounds.
    pub shuffled: SignatureMetrics,
    /// Shrinkage chosen for the shuffled control.
    pub shuffled_shrinkage: f64,
    /// The saved model file.
    pub file: String,
}

/// What `moltx train-signatures` reports.
#[derive(Debug, Clone, Serialize)]
pub struct SignatureReport {
    /// Compounds used (structure and signature).
    pub compounds: usize,
    /// Signatures without a usable structure.
    pub without_structure: usize,
    /// Genes per signature.
    pub genes: usize,
    /// k of the top-k precision.
    pub top_k: usize,
    /// One entry per seed.
    pub seeds: Vec<SeedComparison>,
}

/// Training options of the signature job.
#[derive(Debug, Clone)]
pub struct SignatureJob {
    /// The underlying training job (its `out` is the parent folder; seed `s` writes
    /// `out/seed_s`).
    pub train: TrainJob,
    /// Seeds `train.seed .. train.seed + n_seeds`.
    pub n_seeds: usize,
    /// Train the D-MPNN (and, with `shuffled_baseline`, its shuffled-structure baseline).
    pub network: bool,
    /// Also train the shuffled-structure baseline.
    pub shuffled_baseline: bool,
    /// Fit the nearest-neighbour model, choosing `k` and `p` by leave-one-out on the
    /// references of each seed.
    pub neighbors: Option<NeighborSearch>,
    /// k of the top-k precision.
    pub top_k: usize,
}

/// Trains and evaluates the structure → signature models (and baselines) for each seed, on
/// `device`.
pub fn run_signature_job(
    data: &ProfiledCompounds,
    job: &SignatureJob,
    device: &Device,
    progress: &mut dyn FnMut(&str, &EpochRecord),
) -> Result<SignatureReport, JobError> {
    let table = &data.table;
    let genes = table.n_tasks();
    let fingerprints = match &job.neighbors {
        Some(search) => Some(morgan_fingerprints(&table.smiles, &search.config)?),
        None => None,
    };
    let mut seeds = Vec::new();
    for s in 0..job.n_seeds.max(1) {
        let seed = job.train.seed + s as u64;
        let dir = job.train.out.join(format!("seed_{seed}"));
        let mut train = job.train.clone();
        train.seed = seed;
        train.out = dir.clone();
        let split = make_split(table, &train.split, seed)?;
        let truth: Vec<f64> = split
            .test
            .iter()
            .flat_map(|&i| {
                table.targets[i * genes..(i + 1) * genes]
                    .iter()
                    .map(|&v| f64::from(v))
            })
            .collect();
        let mut mean = vec![0.0f64; genes];
        for &i in &split.train {
            for (m, &v) in mean
                .iter_mut()
                .zip(&table.targets[i * genes..(i + 1) * genes])
            {
                *m += f64::from(v) / split.train.len() as f64;
            }
        }
        let mean_pred: Vec<f64> = split
            .test
            .iter()
            .flat_map(|_| mean.iter().copied())
            .collect();
        let mean_signature = signature_metrics(&mean_pred, &truth, genes, job.top_k);
        let (mut model, mut shuffled_structures) = (None, None);
        if job.network {
            run_train(table, &train, device, &mut |_, r| {
                progress(&format!("seed {seed}"), r)
            })?;
            let inputs = table_inputs(table, &train.model)?;
            let test_in: Vec<&MoleculeInput> = split.test.iter().map(|&i| &inputs[i]).collect();
            let predict = |dir: &Path| -> Result<Vec<f64>, JobError> {
                let members = load_ensemble(dir, device)?;
                Ok(ensemble_predict(&members, &test_in, 64, device)?.0)
            };
            model = Some(signature_metrics(&predict(&dir)?, &truth, genes, job.top_k));
            if job.shuffled_baseline {
                let shuffled = shuffle_training_signatures(table, &split.train, seed);
                let mut baseline = train.clone();
                baseline.out = dir.join("shuffled");
                run_train(&shuffled, &baseline, device, &mut |_, r| {
                    progress(&format!("seed {seed} shuffled"), r)
                })?;
                shuffled_structures = Some(signature_metrics(
                    &predict(&baseline.out)?,
                    &truth,
                    genes,
                    job.top_k,
                ));
            }
        }
        let neighbors = match (&job.neighbors, &fingerprints) {
            (Some(search), Some(fps)) => {
                let references: Vec<usize> =
                    split.train.iter().chain(&split.val).copied().collect();
                let test_fps: Vec<&Fingerprint> = split.test.iter().map(|&i| &fps[i]).collect();
                let fitted = fit_neighbors(table, &data.ids, fps, &references, search)?;
                let shuffled_table = shuffle_training_signatures(table, &references, seed);
                let shuffled = fit_neighbors(&shuffled_table, &data.ids, fps, &references, search)?;
                let file = dir.join("neighbors").join("neighbors.moltx");
                let folder = dir.join("neighbors");
                std::fs::create_dir_all(&folder).map_err(JobError::io("creating", &folder))?;
                fitted.save(&file)?;
                let metrics = |m: &NeighborModel| {
                    signature_metrics(&m.predict_all(&test_fps), &truth, genes, job.top_k)
                };
                Some(NeighborResult {
                    metrics: metrics(&fitted),
                    k: fitted.header.config.k,
                    power: fitted.header.config.power,
                    shrinkage: fitted.header.shrinkage,
                    shuffled: metrics(&shuffled),
                    shuffled_shrinkage: shuffled.header.shrinkage,
                    file: file.display().to_string(),
                })
            }
            _ => None,
        };
        seeds.push(SeedComparison {
            seed,
            model,
            neighbors,
            mean_signature,
            shuffled_structures,
            model_dir: dir.display().to_string(),
        });
    }
    let report = SignatureReport {
        compounds: table.len(),
        without_structure: data.without_structure.len(),
        genes,
        top_k: job.top_k,
        seeds,
    };
    let out = &job.train.out;
    std::fs::create_dir_all(out).map_err(JobError::io("creating", out))?;
    let file = out.join("signature_metrics.json");
    std::fs::write(&file, serde_json::to_string_pretty(&report)?)
        .map_err(JobError::io("writing", &file))?;
    Ok(report)
}

/// Fits a nearest-neighbour structure → signature model on the table entries `references`
/// (`ids` and `fingerprints` in table order), choosing `k`, `p` and `α` by leave-one-out on
/// them.
pub fn fit_neighbors(
    table: &MoleculeTable,
    ids: &[String],
    fingerprints: &[Fingerprint],
    references: &[usize],
    search: &NeighborSearch,
) -> Result<NeighborModel, JobError> {
    let g = table.n_tasks();
    NeighborModel::fit_tuned(
        search.config,
        &search.grid,
        table.task_names.clone(),
        references.iter().map(|&i| ids[i].clone()).collect(),
        references
            .iter()
            .map(|&i| fingerprints[i].clone())
            .collect(),
        references
            .iter()
            .flat_map(|&i| table.targets[i * g..(i + 1) * g].iter().copied())
            .collect(),
    )
    .map_err(JobError::Neighbors)
}

/// A copy of the table whose training entries have their signatures permuted among themselves
/// (seeded): structures no longer carry information about their signature.
fn shuffle_training_signatures(table: &MoleculeTable, train: &[usize], seed: u64) -> MoleculeTable {
    let g = table.n_tasks();
    let mut perm = train.to_vec();
    perm.shuffle(&mut ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_5eed));
    let mut out = table.clone();
    for (&dst, &src) in train.iter().zip(&perm) {
        out.targets[dst * g..(dst + 1) * g].copy_from_slice(&table.targets[src * g..(src + 1) * g]);
        out.mask[dst * g..(dst + 1) * g].copy_from_slice(&table.mask[src * g..(src + 1) * g]);
    }
    out
}

/// The model directory of the first seed (the one `repurpose` uses by default).
pub fn first_model_dir(out: &Path, seed: u64) -> PathBuf {
    out.join(format!("seed_{seed}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_of_perfect_opposite_and_partial_predictions() {
        let truth = [3.0, 2.0, 1.0, -1.0, -2.0, -3.0];
        let perfect = signature_metrics(&truth, &truth, 6, 2);
        assert_eq!(
            (
                perfect.pearson,
                perfect.precision_up,
                perfect.precision_down
            ),
            (1.0, 1.0, 1.0)
        );
        let negated: Vec<f64> = truth.iter().map(|v| -v).collect();
        let opposite = signature_metrics(&negated, &truth, 6, 2);
        assert!((opposite.pearson + 1.0).abs() < 1e-12);
        assert_eq!((opposite.precision_up, opposite.precision_down), (0.0, 0.0));
        // Top 2 predicted up = genes {0, 2}; measured {0, 1}: precision 1/2.
        let partial = [3.0, 0.0, 2.0, -1.0, -2.0, -3.0];
        assert_eq!(signature_metrics(&partial, &truth, 6, 2).precision_up, 0.5);
    }
}
