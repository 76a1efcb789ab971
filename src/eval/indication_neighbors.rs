//! Indication prediction by similarity-weighted nearest neighbours, on the same scaffold splits
//! as the networks of [`super::indications`]. A test compound's score for a disease is the
//! weighted fraction of its `k` most similar training and validation compounds that treat it
//! ([`weighted_average`](crate::link::neighbors::weighted_average), weights `max(s, 0)^p`):
//! - structure: `s` = Tanimoto similarity of Morgan fingerprints;
//! - signature: `s` = Pearson correlation of the standardized signature inputs (genes,
//!   pathway scores or both, scaled on the training compounds);
//! - fused: the mean of the two scores, `(ŷ_structure + ŷ_signature) / 2`;
//! - fused, predicted: the same, with the test compound's signature predicted from structure
//!   (compared with the references' measured signatures).
//!
//! Each modality chooses its own `k` and `p` from a [`NeighborGrid`](crate::link::neighbors::NeighborGrid) by leave-one-out on the
//! references (mean ROC-AUC over the diseases of each reference's vote from the others), so
//! nothing is tuned on test compounds. With 10–58 known drugs per disease, these models have
//! nothing to overfit, where the networks do.

use super::indications::{IndicationResult, Method, Modality, SignatureSide};
use crate::link::neighbors::NeighborSearch;
use crate::link::profiled::IndicationLabels;
use crate::link::profiled::{ProfiledCompounds, morgan_fingerprints};
use crate::train::error::JobError;
use crate::train::job::{SplitPlan, make_split};
use crate::train::metrics::{SplitMetrics, TaskType};

use crate::link::indication_votes::{IndicationNeighbors, fuse};

/// Runs the neighbour models for each seed (structure, signature, fused, and fused with
/// predicted signatures when `signatures.predicted` is given).
pub fn run_neighbor_indications(
    profiled: &ProfiledCompounds,
    labels: &IndicationLabels,
    signatures: &SignatureSide,
    seeds: &[u64],
    search: &NeighborSearch,
) -> Result<Vec<IndicationResult>, JobError> {
    let table = &profiled.table;
    let t = labels.diseases.len();
    let fps = morgan_fingerprints(&table.smiles, &search.config)?;
    let mut results = Vec::new();
    for &seed in seeds {
        let split = make_split(table, &SplitPlan::Scaffold([0.8, 0.1, 0.1]), seed)?;
        let references: Vec<usize> = split.train.iter().chain(&split.val).copied().collect();
        let train_rows: Vec<&[f32]> = split
            .train
            .iter()
            .map(|&i| signatures.measured[i].as_slice())
            .collect();
        let model = IndicationNeighbors::new(
            search,
            labels.diseases.clone(),
            references.iter().map(|&i| fps[i].clone()).collect(),
            &references
                .iter()
                .map(|&i| signatures.measured[i].as_slice())
                .collect::<Vec<_>>(),
            references
                .iter()
                .flat_map(|&i| labels.labels[i * t..(i + 1) * t].iter().copied())
                .collect(),
            signatures.scaling(&train_rows, false),
        )?;
        let mut by_modality: Vec<(Modality, Vec<f64>)> = vec![
            (Modality::Structure, Vec::new()),
            (Modality::Signature, Vec::new()),
            (Modality::Fused, Vec::new()),
        ];
        if signatures.predicted.is_some() {
            by_modality.push((Modality::FusedPredicted, Vec::new()));
        }
        for &i in &split.test {
            let s = model.structure_scores(&fps[i]);
            let g = model.signature_scores(&model.standardize(&signatures.measured[i]));
            by_modality[2].1.extend(fuse(&s, &g));
            if let Some(p) = &signatures.predicted {
                let gp = model.signature_scores(&model.standardize(&p[i]));
                by_modality[3].1.extend(fuse(&s, &gp));
            }
            by_modality[0].1.extend(s);
            by_modality[1].1.extend(g);
        }
        let truth: Vec<f64> = split
            .test
            .iter()
            .flat_map(|&i| {
                labels.labels[i * t..(i + 1) * t]
                    .iter()
                    .map(|&v| f64::from(v))
            })
            .collect();
        let mask = vec![true; truth.len()];
        for (modality, pred) in by_modality {
            let metrics = SplitMetrics::compute(
                TaskType::Classification,
                &labels.diseases,
                &pred,
                &truth,
                &mask,
            );
            results.push(IndicationResult {
                seed,
                modality,
                method: Method::Neighbors,
                roc_auc: metrics.get("roc_auc"),
                diseases_scored: metrics
                    .per_task
                    .values()
                    .filter(|m| m.contains_key("roc_auc"))
                    .count(),
                votes: Some([model.structure_vote, model.signature_vote]),
            });
        }
    }
    Ok(results)
}
