//! Paired comparisons: two rankings or two models judged on the same draws, so their
//! difference is measured with the noise they share taken out.
//!
//! - [`difference_ci_95`]: the percentile-bootstrap 95% interval of `mean AUC(b) − mean AUC(a)`
//!   over diseases, resampling compounds with the same draw for both rankings;
//! - [`fused_margins`]: per seed, `AUC(fused) − max(AUC(structure), AUC(signature))`, the gain of
//!   fusing two kinds of evidence over the better one alone.

use super::indications::{IndicationResult, Method, Modality};
use super::reversal::{EvalRow, bootstrap_mean_aucs, percentile_95};

/// The 95% percentile-bootstrap interval of `mean AUC(b) − mean AUC(a)` (means over the
/// diseases of each set), `replicates` resamples of the compounds drawn from `seed`, each the
/// same draw for both sets. `None` when the sets do not rank the same compounds.
pub fn difference_ci_95(
    a: &[&EvalRow],
    b: &[&EvalRow],
    replicates: usize,
    seed: u64,
) -> Option<(f64, f64)> {
    let sets = bootstrap_mean_aucs(&[a, b], replicates, seed)?;
    let differences: Vec<f64> = sets[1].iter().zip(&sets[0]).map(|(b, a)| b - a).collect();
    Some(percentile_95(&differences))
}

/// The test ROC-AUC of each seed for one method and modality, in seed order (NaN where no
/// disease had both classes).
pub fn per_seed_aucs(results: &[IndicationResult], method: Method, modality: Modality) -> Vec<f64> {
    let mut rows: Vec<&IndicationResult> = results
        .iter()
        .filter(|r| r.method == method && r.modality == modality)
        .collect();
    rows.sort_by_key(|r| r.seed);
    rows.iter().map(|r| r.roc_auc.unwrap_or(f64::NAN)).collect()
}

/// Per seed, `AUC(fused) − max(AUC(structure), AUC(signature))` for one method: positive
/// where fusing the two kinds of evidence beats the better one alone. Seeds missing a
/// modality are left out.
pub fn fused_margins(results: &[IndicationResult], method: Method) -> Vec<f64> {
    let auc = |seed: u64, modality: Modality| {
        results
            .iter()
            .find(|r| r.seed == seed && r.method == method && r.modality == modality)
            .map(|r| r.roc_auc.unwrap_or(f64::NAN))
    };
    let mut seeds: Vec<u64> = results
        .iter()
        .filter(|r| r.method == method)
        .map(|r| r.seed)
        .collect();
    seeds.sort_unstable();
    seeds.dedup();
    seeds
        .into_iter()
        .filter_map(|seed| {
            let fused = auc(seed, Modality::Fused)?;
            let best = auc(seed, Modality::Structure)?.max(auc(seed, Modality::Signature)?);
            Some(fused - best)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::reversal::NullSpread;

    /// A disease's ranking of ten compounds, the first two the known drugs.
    fn ranking(ranking: Vec<f64>) -> EvalRow {
        let labels: Vec<bool> = (0..ranking.len()).map(|i| i < 2).collect();
        let auc = crate::metrics::roc_auc(&ranking, &labels).unwrap();
        let null = NullSpread {
            mean: 0.5,
            sd: 0.1,
            p_value: 1.0,
        };
        EvalRow {
            doid: "D".into(),
            disease: "d".into(),
            score: "wtcs".into(),
            n_compounds: ranking.len(),
            n_positives: 2,
            n_up: 1,
            n_down: 1,
            auc,
            ap: 0.0,
            prevalence: 0.2,
            auc_null: null,
            ap_null: null,
            auc_permutations: Vec::new(),
            ranking,
            labels,
        }
    }

    #[test]
    fn the_difference_interval_is_paired() {
        let perfect = ranking((0..10).map(|i| 10.0 - i as f64).collect());
        let worst = ranking((0..10).map(f64::from).collect());
        let (lo, hi) = difference_ci_95(&[&worst], &[&perfect], 200, 1).unwrap();
        assert!(lo > 0.5 && hi <= 1.0, "[{lo}, {hi}]");
        // The same ranking on both sides differs by exactly 0 in every draw.
        assert_eq!(
            difference_ci_95(&[&perfect], &[&perfect], 200, 1),
            Some((0.0, 0.0))
        );
        let short = ranking((0..5).map(f64::from).collect());
        assert!(difference_ci_95(&[&perfect], &[&short], 10, 1).is_none());
    }

    fn result(seed: u64, modality: Modality, auc: f64) -> IndicationResult {
        IndicationResult {
            seed,
            modality,
            method: Method::Neighbors,
            roc_auc: Some(auc),
            diseases_scored: 3,
            votes: None,
        }
    }

    #[test]
    fn margins_compare_fusion_with_the_better_single_modality_of_each_seed() {
        let results = vec![
            result(1, Modality::Structure, 0.70),
            result(1, Modality::Signature, 0.60),
            result(1, Modality::Fused, 0.75),
            result(0, Modality::Structure, 0.60),
            result(0, Modality::Signature, 0.65),
            result(0, Modality::Fused, 0.62),
            // A seed without a fused result has no margin.
            result(2, Modality::Structure, 0.9),
        ];
        let margins = fused_margins(&results, Method::Neighbors);
        assert_eq!(margins.len(), 2);
        assert!((margins[0] - (0.62 - 0.65)).abs() < 1e-12, "{margins:?}");
        assert!((margins[1] - (0.75 - 0.70)).abs() < 1e-12, "{margins:?}");
        assert!(fused_margins(&results, Method::Network).is_empty());
        assert_eq!(
            per_seed_aucs(&results, Method::Neighbors, Modality::Structure),
            [0.60, 0.70, 0.9]
        );
    }
}
