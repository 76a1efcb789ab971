//! Evaluation of connectivity scores for drug repurposing on real data:
//! rank the profiled compounds by reversal of each disease signature and
//! measure how high the disease's known disease-modifying drugs rank.
//!
//! Data: a folder laid out as the shared data ([`SharedData`]): the consensus L1000
//! signatures (1,170, Entrez gene columns), the STARGEO signatures of the six
//! [`DISEASES`], and PharmacotherapyDB's indications (category `DM`).

use crate::data::datasets::{DISEASES, SharedData};
use crate::expr::connectivity::{Score, ScoreParams, score_references};
use crate::expr::error::{ExprError, Result};
use crate::expr::geneset::read_stargeo;
use crate::expr::matrix::{Layout, read_matrix};
use crate::expr::normalize::SplitMix64;
use crate::expr::query::{QueryInput, align_query};
use crate::expr::ranked::RankedReferences;
use crate::expr::signature::SignatureMatrix;
use crate::expr::textio::{next_line, open_text};
use crate::metrics::{average_precision, roc_auc};
use std::collections::HashSet;
use std::path::Path;

/// Settings of [`evaluate_reversal`].
#[derive(Debug, Clone, PartialEq)]
pub struct EvalConfig {
    /// Up and down genes per disease query (most significant first).
    pub n_genes: usize,
    /// Scores to evaluate.
    pub scores: Vec<Score>,
    /// Label permutations for the random-ranking spread.
    pub permutations: usize,
    /// Seed of the permutations.
    pub seed: u64,
    /// Score parameters (XSum `N`).
    pub params: ScoreParams,
}

impl Default for EvalConfig {
    fn default() -> Self {
        EvalConfig {
            n_genes: 150,
            scores: Score::ALL.to_vec(),
            permutations: 1000,
            seed: 42,
            params: ScoreParams::default(),
        }
    }
}

/// Mean and standard deviation of a metric under random rankings, and the
/// one-sided permutation p-value `(1 + #{perm ≥ observed}) / (1 + B)`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct NullSpread {
    /// Mean over permutations.
    pub mean: f64,
    /// Standard deviation over permutations.
    pub sd: f64,
    /// Permutation p-value of the observed value.
    pub p_value: f64,
}

/// One (disease, score) result.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EvalRow {
    /// Disease Ontology id.
    pub doid: String,
    /// Disease name.
    pub disease: String,
    /// Score name.
    pub score: String,
    /// Compounds ranked.
    pub n_compounds: usize,
    /// Known disease-modifying drugs among them.
    pub n_positives: usize,
    /// Query up/down genes matched to the reference.
    pub n_up: usize,
    /// Query down genes matched.
    pub n_down: usize,
    /// ROC-AUC of the reversal ranking (random: 0.5).
    pub auc: f64,
    /// Average precision (random: the prevalence).
    pub ap: f64,
    /// Prevalence `n_positives / n_compounds` (expected AP of a random ranking).
    pub prevalence: f64,
    /// AUC under permuted labels.
    pub auc_null: NullSpread,
    /// AP under permuted labels.
    pub ap_null: NullSpread,
    /// The AUC of each label permutation (the same permutation count for every row).
    #[serde(skip)]
    pub auc_permutations: Vec<f64>,
    /// The ranking score of each compound (reversal, higher first), for resampling.
    #[serde(skip)]
    pub ranking: Vec<f64>,
    /// Whether each compound is a known drug of the disease, aligned with `ranking`.
    #[serde(skip)]
    pub labels: Vec<bool>,
}

/// The mean AUC over several rows (diseases) against random rankings.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct MeanAuc {
    /// Mean observed AUC.
    pub mean: f64,
    /// Half-width of the central 95% interval of the mean AUC under random rankings
    /// (percentiles of the permutations around their median; ≈ 1.96 sd).
    pub random_95: f64,
    /// One-sided permutation p-value of the mean, `(1 + #{perm mean ≥ observed}) / (1 + B)`:
    /// permutation `b` of every row, averaged, is one draw of the mean under random rankings.
    /// Rows from one [`evaluate_reversal_of`] call share the seed, so their permutation `b`
    /// shuffles the compounds the same way, keeping the overlap between diseases' drug lists.
    pub p_value: f64,
    /// 95% percentile-bootstrap confidence interval of the mean observed AUC (see
    /// [`bootstrap_mean_aucs`]); `(NaN, NaN)` without replicates.
    pub ci_95: (f64, f64),
}

/// Draws `replicates` bootstrap resamples of the compounds (with replacement, the same
/// draw for every row of every set, so diseases and rankings stay paired) and returns,
/// per set, the mean over its rows of the resampled ROC-AUC. A draw leaving some disease
/// without a known drug (or without a negative) is redrawn. All rows must rank the same
/// compounds in the same order; `None` when they do not or a set is empty.
pub fn bootstrap_mean_aucs(
    sets: &[&[&EvalRow]],
    replicates: usize,
    seed: u64,
) -> Option<Vec<Vec<f64>>> {
    let first = sets.first()?.first()?;
    let n = first.labels.len();
    let aligned = sets.iter().all(|set| {
        !set.is_empty()
            && set
                .iter()
                .all(|r| r.ranking.len() == n && r.labels.len() == n)
    });
    if !aligned || n == 0 {
        return None;
    }
    let mut rng = SplitMix64::new(seed);
    let mut out = vec![Vec::with_capacity(replicates); sets.len()];
    let (mut scores, mut labels) = (vec![0.0; n], vec![false; n]);
    let mut draws = 0usize;
    while out[0].len() < replicates && draws < 20 * replicates.max(1) {
        draws += 1;
        let pick: Vec<usize> = (0..n).map(|_| rng.below(n)).collect();
        let means: Option<Vec<f64>> = sets
            .iter()
            .map(|set| {
                let mut sum = 0.0;
                for r in set.iter() {
                    for (k, &i) in pick.iter().enumerate() {
                        scores[k] = r.ranking[i];
                        labels[k] = r.labels[i];
                    }
                    sum += roc_auc(&scores, &labels)?;
                }
                Some(sum / set.len() as f64)
            })
            .collect();
        if let Some(means) = means {
            for (o, m) in out.iter_mut().zip(means) {
                o.push(m);
            }
        }
    }
    Some(out)
}

/// The central 95% percentile interval of `values`; `(NaN, NaN)` when empty.
pub fn percentile_95(values: &[f64]) -> (f64, f64) {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
    (at(0.025), at(0.975))
}

/// [`MeanAuc`] of rows evaluated with the same number of permutations; the bootstrap
/// interval uses as many replicates as there are permutations, drawn from `seed`.
pub fn mean_auc(rows: &[&EvalRow], seed: u64) -> MeanAuc {
    let n = rows.len().max(1) as f64;
    let mean = rows.iter().map(|r| r.auc).sum::<f64>() / n;
    let b = rows
        .iter()
        .map(|r| r.auc_permutations.len())
        .min()
        .unwrap_or(0);
    let mut null: Vec<f64> = (0..b)
        .map(|i| rows.iter().map(|r| r.auc_permutations[i]).sum::<f64>() / n)
        .collect();
    null.sort_by(f64::total_cmp);
    let at = |q: f64| null.get(((b as f64 - 1.0) * q).round() as usize).copied();
    let random_95 = match (at(0.025), at(0.5), at(0.975)) {
        (Some(lo), Some(mid), Some(hi)) => (mid - lo).max(hi - mid),
        _ => f64::NAN,
    };
    let ge = null.iter().filter(|&&v| v >= mean).count() as f64;
    let ci_95 = bootstrap_mean_aucs(&[rows], b, seed)
        .map(|sets| percentile_95(&sets[0]))
        .unwrap_or((f64::NAN, f64::NAN));
    MeanAuc {
        mean,
        random_95,
        p_value: (1.0 + ge) / (1.0 + b as f64),
        ci_95,
    }
}

/// Reads the DM drugs of each disease from `indications.tsv`.
pub fn read_dm_drugs(path: &Path, doid: &str) -> Result<HashSet<String>> {
    let mut reader = open_text(path)?;
    let (mut buf, mut line) = (String::new(), 0);
    next_line(&mut *reader, &mut buf, &mut line, path)?;
    let header: Vec<String> = buf.split('\t').map(str::to_string).collect();
    let col = |n: &str| {
        header
            .iter()
            .position(|h| h == n)
            .ok_or_else(|| ExprError::parse_at(path, 1, n, "missing column"))
    };
    let (d, drug, cat) = (col("doid_id")?, col("drugbank_id")?, col("category")?);
    let mut out = HashSet::new();
    while next_line(&mut *reader, &mut buf, &mut line, path)?.is_some() {
        let cells: Vec<&str> = buf.split('\t').collect();
        if cells.len() != header.len() {
            return Err(ExprError::parse(path, line, "wrong number of fields"));
        }
        if cells[d] == doid && cells[cat] == "DM" {
            out.insert(cells[drug].to_string());
        }
    }
    Ok(out)
}

fn spread(observed: f64, values: &[f64]) -> NullSpread {
    let b = values.len() as f64;
    let mean = values.iter().sum::<f64>() / b.max(1.0);
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (b - 1.0).max(1.0);
    let ge = values.iter().filter(|&&v| v >= observed).count() as f64;
    NullSpread {
        mean,
        sd: var.sqrt(),
        p_value: (1.0 + ge) / (1.0 + b),
    }
}

/// Runs the evaluation over the six diseases and the configured scores.
/// The ranking score is `−connectivity` (reversal first).
pub fn evaluate_reversal(data: &Path, cfg: &EvalConfig) -> Result<Vec<EvalRow>> {
    let m = read_matrix(&SharedData::new(data).consensus_signatures(), Layout::Rows)?;
    evaluate_reversal_of(&m, data, cfg)
}

/// [`evaluate_reversal`] on any signatures of DrugBank compounds (e.g. predicted ones), with the
/// diseases and indications of the data folder.
pub fn evaluate_reversal_of(
    m: &SignatureMatrix,
    data: &Path,
    cfg: &EvalConfig,
) -> Result<Vec<EvalRow>> {
    let refs = RankedReferences::from_matrix(m)?;
    let shared = SharedData::new(data);
    let indications = shared.indications();
    let mut rows = Vec::new();
    for (doid, disease) in DISEASES {
        let file = shared.disease_signature(doid);
        let input = QueryInput::Disease {
            name: doid.to_string(),
            genes: read_stargeo(&file)?,
        };
        let q = align_query(&input, &m.genes, None, cfg.n_genes)?;
        let dm = read_dm_drugs(&indications, doid)?;
        let labels: Vec<bool> = m.ids.iter().map(|id| dm.contains(id)).collect();
        let n_pos = labels.iter().filter(|&&l| l).count();
        for &score in &cfg.scores {
            let raw = score_references(&q, &refs, score, &cfg.params)?;
            let reversal: Vec<f64> = raw.iter().map(|s| -s).collect();
            let (Some(auc), Some(ap)) = (
                roc_auc(&reversal, &labels),
                average_precision(&reversal, &labels),
            ) else {
                continue;
            };
            let mut rng = SplitMix64::new(cfg.seed);
            let mut perm = labels.clone();
            let (mut aucs, mut aps) = (Vec::new(), Vec::new());
            for _ in 0..cfg.permutations {
                for i in (1..perm.len()).rev() {
                    perm.swap(i, rng.below(i + 1));
                }
                aucs.extend(roc_auc(&reversal, &perm));
                aps.extend(average_precision(&reversal, &perm));
            }
            rows.push(EvalRow {
                doid: doid.to_string(),
                disease: disease.to_string(),
                score: score.name().to_string(),
                n_compounds: labels.len(),
                n_positives: n_pos,
                n_up: q.up.len(),
                n_down: q.down.len(),
                auc,
                ap,
                prevalence: n_pos as f64 / labels.len() as f64,
                auc_null: spread(auc, &aucs),
                ap_null: spread(ap, &aps),
                auc_permutations: aucs,
                ranking: reversal,
                labels: labels.clone(),
            });
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(auc: f64, permutations: Vec<f64>) -> EvalRow {
        let spread = NullSpread {
            mean: 0.5,
            sd: 0.0,
            p_value: 1.0,
        };
        EvalRow {
            doid: "D".into(),
            disease: "d".into(),
            score: "wtcs".into(),
            n_compounds: 10,
            n_positives: 2,
            n_up: 1,
            n_down: 1,
            auc,
            ap: 0.2,
            prevalence: 0.2,
            auc_null: spread,
            ap_null: spread,
            auc_permutations: permutations,
            ranking: Vec::new(),
            labels: Vec::new(),
        }
    }

    #[test]
    fn mean_auc_pairs_permutations_across_rows() {
        // Permutation means: 0.3, 0.5, 0.7, 0.9 (pairwise); observed mean 0.75.
        let a = row(0.8, vec![0.2, 0.4, 0.6, 0.8]);
        let b = row(0.7, vec![0.4, 0.6, 0.8, 1.0]);
        let m = mean_auc(&[&a, &b], 1);
        assert!((m.mean - 0.75).abs() < 1e-12);
        // One permutation mean (0.9) reaches 0.75: p = (1 + 1) / (1 + 4).
        assert!((m.p_value - 0.4).abs() < 1e-12);
        assert!(m.random_95 > 0.0);
        // Without permutations there is no interval, and p = 1.
        let bare = mean_auc(&[&row(0.9, Vec::new())], 1);
        assert!(bare.random_95.is_nan() && bare.p_value == 1.0 && bare.ci_95.0.is_nan());
    }

    fn ranked(ranking: Vec<f64>, labels: Vec<bool>) -> EvalRow {
        let auc = roc_auc(&ranking, &labels).unwrap();
        EvalRow {
            ranking,
            labels,
            ..row(auc, Vec::new())
        }
    }

    #[test]
    fn bootstrap_interval_covers_the_observed_mean_and_pairs_the_draws() {
        // 60 compounds, 12 positives, a noisy but informative ranking.
        let mut rng = SplitMix64::new(7);
        let labels: Vec<bool> = (0..60).map(|i| i % 5 == 0).collect();
        let ranking: Vec<f64> = labels
            .iter()
            .map(|&l| f64::from(u8::from(l)) + (rng.next_u64() % 1000) as f64 / 600.0)
            .collect();
        let a = ranked(ranking.clone(), labels.clone());
        let sets = bootstrap_mean_aucs(&[&[&a], &[&a]], 500, 3).unwrap();
        assert_eq!(sets[0].len(), 500);
        // The same ranking twice: every paired difference is exactly 0.
        assert!(sets[0].iter().zip(&sets[1]).all(|(x, y)| x == y));
        let (lo, hi) = percentile_95(&sets[0]);
        assert!(lo < a.auc && a.auc < hi && lo > 0.5, "{lo} {} {hi}", a.auc);
        // Reproducible from the seed; a different seed gives other draws.
        assert_eq!(bootstrap_mean_aucs(&[&[&a]], 500, 3).unwrap()[0], sets[0]);
        assert_ne!(bootstrap_mean_aucs(&[&[&a]], 500, 4).unwrap()[0], sets[0]);
        // Rows ranking different compound counts cannot be paired.
        let short = ranked(ranking[..30].to_vec(), labels[..30].to_vec());
        assert!(bootstrap_mean_aucs(&[&[&a], &[&short]], 10, 3).is_none());
    }
}
