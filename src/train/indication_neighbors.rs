//! Indication prediction by similarity-weighted nearest neighbours, on the same scaffold splits
//! as the networks of [`super::indication_job`]. A test compound's score for a disease is the
//! weighted fraction of its `k` most similar training and validation compounds that treat it
//! ([`neighbor_average`], weights `max(s, 0)^p`):
//! - structure: `s` = Tanimoto similarity of Morgan fingerprints;
//! - signature: `s` = Pearson correlation of the standardized signature inputs (genes,
//!   pathway scores or both, scaled on the training compounds);
//! - fused: the mean of the two scores, `(ŷ_structure + ŷ_signature) / 2`;
//! - fused, predicted: the same, with the test compound's signature predicted from structure
//!   (compared with the references' measured signatures).
//!
//! With 10–58 known drugs per disease, these models have nothing to overfit, where the
//! networks do.

use super::indication_job::{IndicationLabels, IndicationResult, Method, Modality, SignatureSide};
use super::job::{SplitPlan, make_split};
use super::metrics::{SplitMetrics, TaskType};
use super::signature_job::{ProfiledCompounds, morgan_fingerprints};
use crate::expr::signature::pearson;
use crate::model::neighbors::{NeighborConfig, neighbor_average};

/// Scores of one query against the references: the neighbour average, or the references'
/// base rate when no neighbour has a positive similarity.
fn scores(sims: &[f64], labels: &[f32], t: usize, config: &NeighborConfig) -> Vec<f64> {
    neighbor_average(sims, labels, t, config.k, config.power).unwrap_or_else(|| {
        let n = (labels.len() / t.max(1)).max(1) as f64;
        (0..t)
            .map(|j| {
                labels
                    .iter()
                    .skip(j)
                    .step_by(t)
                    .map(|&v| f64::from(v))
                    .sum::<f64>()
                    / n
            })
            .collect()
    })
}

/// Standardized rows (scaling fitted on the training rows, or the pretrained encoder's).
fn standardized(signatures: &SignatureSide, rows: &[Vec<f32>], train: &[usize]) -> Vec<Vec<f64>> {
    let train_rows: Vec<&[f32]> = train
        .iter()
        .map(|&i| signatures.measured[i].as_slice())
        .collect();
    let scaling = signatures.scaling(&train_rows, false);
    rows.iter()
        .map(|r| {
            let mut out = vec![0.0f32; r.len()];
            scaling.normalize(r, &mut out);
            out.into_iter().map(f64::from).collect()
        })
        .collect()
}

/// Runs the neighbour models for each seed (structure, signature, fused, and fused with
/// predicted signatures when `signatures.predicted` is given).
pub fn run_neighbor_indications(
    profiled: &ProfiledCompounds,
    labels: &IndicationLabels,
    signatures: &SignatureSide,
    seeds: &[u64],
    config: &NeighborConfig,
) -> anyhow::Result<Vec<IndicationResult>> {
    let table = &profiled.table;
    let t = labels.diseases.len();
    let fps = morgan_fingerprints(&table.smiles, config)?;
    let mut results = Vec::new();
    for &seed in seeds {
        let split = make_split(table, &SplitPlan::Scaffold([0.8, 0.1, 0.1]), seed)?;
        let references: Vec<usize> = split.train.iter().chain(&split.val).copied().collect();
        let reference_labels: Vec<f32> = references
            .iter()
            .flat_map(|&i| labels.labels[i * t..(i + 1) * t].iter().copied())
            .collect();
        let measured = standardized(signatures, &signatures.measured, &split.train);
        let predicted = signatures
            .predicted
            .as_ref()
            .map(|p| standardized(signatures, p, &split.train));
        let structure_scores = |i: usize| {
            let sims: Vec<f64> = references
                .iter()
                .map(|&r| fps[i].tanimoto(&fps[r]))
                .collect();
            scores(&sims, &reference_labels, t, config)
        };
        let signature_scores = |row: &[f64]| {
            let sims: Vec<f64> = references
                .iter()
                .map(|&r| pearson(row, &measured[r]))
                .collect();
            scores(&sims, &reference_labels, t, config)
        };
        let mut by_modality: Vec<(Modality, Vec<f64>)> = vec![
            (Modality::Structure, Vec::new()),
            (Modality::Signature, Vec::new()),
            (Modality::Fused, Vec::new()),
        ];
        if predicted.is_some() {
            by_modality.push((Modality::FusedPredicted, Vec::new()));
        }
        for &i in &split.test {
            let s = structure_scores(i);
            let g = signature_scores(&measured[i]);
            let fused: Vec<f64> = s.iter().zip(&g).map(|(a, b)| (a + b) / 2.0).collect();
            by_modality[0].1.extend(&s);
            by_modality[1].1.extend(&g);
            by_modality[2].1.extend(&fused);
            if let Some(p) = &predicted {
                let gp = signature_scores(&p[i]);
                by_modality[3]
                    .1
                    .extend(s.iter().zip(&gp).map(|(a, b)| (a + b) / 2.0));
            }
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
            });
        }
    }
    Ok(results)
}
