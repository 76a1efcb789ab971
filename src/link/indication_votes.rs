//! Indication votes: a compound's score for a disease is the similarity-weighted fraction of
//! its `k` most similar reference compounds that treat it ([`weighted_average`], weights
//! `max(s, 0)^p`), by structure (`s` = Tanimoto similarity of Morgan fingerprints) or by
//! signature (`s` = Pearson correlation of standardized signatures), and fused as the mean
//! of the two. Each modality chooses its `k` and `p` from a [`NeighborGrid`] by leave-one-out
//! on the references (mean ROC-AUC over the diseases of each reference's vote from the
//! others), so nothing is tuned on the compounds scored.

use rayon::prelude::*;

use super::neighbors::{
    NeighborConfig, NeighborGrid, NeighborSearch, top_neighbors, weighted_average,
};
use super::profiled::LinkError;
use crate::chem::Fingerprint;
use crate::expr::signature::pearson;
use crate::metrics::roc_auc;
use crate::model::descriptors::DescriptorFeatures;

/// `Ok` when `condition` holds, else the message as an invalid-input error.
fn ensure(condition: bool, message: impl Into<String>) -> Result<(), LinkError> {
    if condition {
        Ok(())
    } else {
        Err(LinkError::Invalid(message.into()))
    }
}

/// The neighbours and weight exponent of one modality's vote, and their leave-one-out score.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct VoteWeights {
    /// Neighbours.
    pub k: usize,
    /// Weight exponent `p`.
    pub power: f64,
    /// Mean over diseases of the leave-one-out ROC-AUC on the references.
    pub leave_one_out_auc: f64,
}

/// Neighbour indication models over fixed reference compounds: their fingerprints,
/// standardized signature inputs and known indications.
#[derive(Debug, Clone)]
pub struct IndicationNeighbors {
    /// Disease names, one score each.
    pub diseases: Vec<String>,
    config: NeighborConfig,
    fingerprints: Vec<Fingerprint>,
    signatures: Vec<Vec<f64>>,
    scaling: DescriptorFeatures,
    labels: Vec<f32>,
    /// The structure vote's weights.
    pub structure_vote: VoteWeights,
    /// The signature vote's weights.
    pub signature_vote: VoteWeights,
}

impl IndicationNeighbors {
    /// References: fingerprints, raw signature inputs, and `references × diseases` 0/1
    /// labels; `scaling` standardizes signature inputs (fitted on training compounds). Each
    /// modality's `k` and `p` are chosen from `search.grid` by leave-one-out.
    pub fn new(
        search: &NeighborSearch,
        diseases: Vec<String>,
        fingerprints: Vec<Fingerprint>,
        raw_signatures: &[&[f32]],
        labels: Vec<f32>,
        scaling: DescriptorFeatures,
    ) -> Result<Self, LinkError> {
        let n = fingerprints.len();
        ensure(
            raw_signatures.len() == n && labels.len() == n * diseases.len(),
            format!(
                "{n} reference fingerprints, {} signatures and {} labels for {} diseases",
                raw_signatures.len(),
                labels.len(),
                diseases.len()
            ),
        )?;
        let fixed = VoteWeights {
            k: search.config.k.max(1),
            power: search.config.power,
            leave_one_out_auc: f64::NAN,
        };
        let mut model = IndicationNeighbors {
            diseases,
            config: search.config,
            fingerprints,
            signatures: Vec::new(),
            scaling,
            labels,
            structure_vote: fixed,
            signature_vote: fixed,
        };
        model.signatures = raw_signatures
            .par_iter()
            .map(|r| model.standardize(r))
            .collect();
        model.structure_vote = model.tune(&search.grid, |i| {
            model.structure_similarities(&model.fingerprints[i])
        })?;
        model.signature_vote = model.tune(&search.grid, |i| {
            model.signature_similarities(&model.signatures[i])
        })?;
        Ok(model)
    }

    /// The `(k, p)` of `grid` whose leave-one-out votes (each reference voted on by the
    /// others, with similarities `similarities(i)`) have the best mean ROC-AUC over the
    /// diseases; ties go to the earlier pair.
    fn tune(
        &self,
        grid: &NeighborGrid,
        similarities: impl Fn(usize) -> Vec<f64> + Sync,
    ) -> Result<VoteWeights, LinkError> {
        let pairs = grid.pairs();
        ensure(
            !pairs.is_empty() && pairs.iter().all(|&(_, p)| p.is_finite()),
            format!("the neighbour grid needs at least one k and finite powers: {grid:?}"),
        )?;
        let (n, t) = (self.fingerprints.len(), self.diseases.len());
        let k_max = pairs.iter().map(|&(k, _)| k).max().unwrap_or(1);
        let hoods: Vec<(Vec<f64>, Vec<usize>)> = (0..n)
            .into_par_iter()
            .map(|i| {
                let mut sims = similarities(i);
                sims[i] = f64::NAN;
                let order = top_neighbors(&sims, k_max);
                (sims, order)
            })
            .collect();
        let base = self.base_rate();
        let truth: Vec<Vec<bool>> = (0..t)
            .map(|j| (0..n).map(|i| self.labels[i * t + j] > 0.5).collect())
            .collect();
        let scored: Vec<VoteWeights> = pairs
            .iter()
            .map(|&(k, power)| {
                let votes: Vec<Vec<f64>> = hoods
                    .par_iter()
                    .map(|(sims, order)| {
                        let top = &order[..k.min(order.len())];
                        weighted_average(top, sims, &self.labels, t, power)
                            .unwrap_or_else(|| base.clone())
                    })
                    .collect();
                let aucs: Vec<f64> = (0..t)
                    .filter_map(|j| {
                        let column: Vec<f64> = votes.iter().map(|v| v[j]).collect();
                        roc_auc(&column, &truth[j])
                    })
                    .collect();
                VoteWeights {
                    k,
                    power,
                    leave_one_out_auc: aucs.iter().sum::<f64>() / aucs.len().max(1) as f64,
                }
            })
            .collect();
        Ok(scored.iter().copied().fold(scored[0], |best, w| {
            if w.leave_one_out_auc > best.leave_one_out_auc {
                w
            } else {
                best
            }
        }))
    }

    /// The share of references treating each disease.
    fn base_rate(&self) -> Vec<f64> {
        let t = self.diseases.len();
        let n = self.fingerprints.len().max(1) as f64;
        (0..t)
            .map(|j| {
                self.labels
                    .iter()
                    .skip(j)
                    .step_by(t)
                    .map(|&v| f64::from(v))
                    .sum::<f64>()
                    / n
            })
            .collect()
    }

    /// Neighbour search and weights.
    pub fn config(&self) -> &NeighborConfig {
        &self.config
    }

    /// Standardized signature inputs of one raw row (missing values become the mean).
    pub fn standardize(&self, raw: &[f32]) -> Vec<f64> {
        let mut out = vec![0.0f32; self.scaling.len()];
        self.scaling.normalize(raw, &mut out);
        out.into_iter().map(f64::from).collect()
    }

    /// Neighbour average of the labels for these similarities, or the references' base rate
    /// when no neighbour has a positive similarity.
    fn vote(&self, sims: &[f64], weights: VoteWeights) -> Vec<f64> {
        let t = self.diseases.len();
        weighted_average(
            &top_neighbors(sims, weights.k),
            sims,
            &self.labels,
            t,
            weights.power,
        )
        .unwrap_or_else(|| self.base_rate())
    }

    /// Tanimoto similarity of a fingerprint to every reference.
    pub fn structure_similarities(&self, fingerprint: &Fingerprint) -> Vec<f64> {
        self.fingerprints
            .iter()
            .map(|f| fingerprint.tanimoto(f))
            .collect()
    }

    /// Pearson correlation of a standardized signature with every reference's.
    pub fn signature_similarities(&self, standardized: &[f64]) -> Vec<f64> {
        self.signatures
            .iter()
            .map(|r| pearson(standardized, r))
            .collect()
    }

    /// The structure vote for these Tanimoto similarities, with the references in `exclude`
    /// left out (a compound that is itself a reference must not vote for itself).
    pub fn structure_scores_excluding(&self, similarities: &[f64], exclude: &[usize]) -> Vec<f64> {
        self.vote(&without(similarities, exclude), self.structure_vote)
    }

    /// The signature vote for these Pearson similarities, with `exclude` left out.
    pub fn signature_scores_excluding(&self, similarities: &[f64], exclude: &[usize]) -> Vec<f64> {
        self.vote(&without(similarities, exclude), self.signature_vote)
    }

    /// Scores from structure: Tanimoto neighbours.
    pub fn structure_scores(&self, fingerprint: &Fingerprint) -> Vec<f64> {
        self.vote(
            &self.structure_similarities(fingerprint),
            self.structure_vote,
        )
    }

    /// Scores from a standardized signature: Pearson-correlated neighbours.
    pub fn signature_scores(&self, standardized: &[f64]) -> Vec<f64> {
        self.vote(
            &self.signature_similarities(standardized),
            self.signature_vote,
        )
    }

    /// Row-major `references × diseases` 0/1 labels.
    pub fn labels(&self) -> &[f32] {
        &self.labels
    }
}

/// `similarities` with the entries `exclude` set to NaN (no vote).
fn without(similarities: &[f64], exclude: &[usize]) -> Vec<f64> {
    let mut sims = similarities.to_vec();
    for &i in exclude {
        if let Some(s) = sims.get_mut(i) {
            *s = f64::NAN;
        }
    }
    sims
}

/// The fused score `(a + b) / 2` per disease.
pub fn fuse(structure: &[f64], signature: &[f64]) -> Vec<f64> {
    structure
        .iter()
        .zip(signature)
        .map(|(a, b)| (a + b) / 2.0)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three references with bits {0,1}, {0,1,2}, {5}; disease labels 1, 0, 0.
    fn model() -> IndicationNeighbors {
        let fp = |bits: &[u32]| Fingerprint {
            n_bits: 8,
            on_bits: bits.to_vec(),
        };
        let signatures: Vec<Vec<f32>> = vec![vec![1.0, 0.0], vec![0.0, 1.0], vec![1.0, 1.0]];
        let rows: Vec<&[f32]> = signatures.iter().map(Vec::as_slice).collect();
        let scaling = DescriptorFeatures {
            generator: "genes".into(),
            names: vec!["g1".into(), "g2".into()],
            mean: vec![0.0, 0.0],
            sd: vec![1.0, 1.0],
        };
        IndicationNeighbors::new(
            &NeighborSearch::fixed(NeighborConfig {
                k: 1,
                ..NeighborConfig::default()
            }),
            vec!["d".into()],
            vec![fp(&[0, 1]), fp(&[0, 1, 2]), fp(&[5])],
            &rows,
            vec![1.0, 0.0, 0.0],
            scaling,
        )
        .unwrap()
    }

    #[test]
    fn an_excluded_reference_does_not_vote_for_itself() {
        let m = model();
        let own = Fingerprint {
            n_bits: 8,
            on_bits: vec![0, 1],
        };
        let sims = m.structure_similarities(&own);
        assert_eq!(sims[0], 1.0);
        // With k = 1 the compound's own label comes back unless it is left out; then its
        // nearest other reference ({0,1,2}, label 0) decides.
        assert_eq!(m.structure_scores_excluding(&sims, &[]), vec![1.0]);
        assert_eq!(m.structure_scores(&own), vec![1.0]);
        assert_eq!(m.structure_scores_excluding(&sims, &[0]), vec![0.0]);
        // Everyone left out: the references' base rate.
        let all = m.structure_scores_excluding(&sims, &[0, 1, 2]);
        assert!((all[0] - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(m.labels(), &[1.0, 0.0, 0.0]);
    }
}
