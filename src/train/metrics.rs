//! Evaluation metrics (f64), per task with missing labels skipped, and their mean over tasks.
//!
//! Regression: RMSE `√(Σ(ŷ−y)²/n)`, MAE `Σ|ŷ−y|/n`, R² `1 − Σ(ŷ−y)²/Σ(y−ȳ)²`.
//! Classification: ROC-AUC and PRC-AUC (average precision, see [`crate::metrics`]) on
//! probabilities, accuracy at threshold 0.5.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::metrics::{PerTaskTable, average_precision, roc_auc};
pub use crate::model::config::TaskType;

/// Root-mean-square error.
pub fn rmse(pred: &[f64], truth: &[f64]) -> Option<f64> {
    mean_of(pred, truth, |d| d * d).map(f64::sqrt)
}

/// Mean absolute error.
pub fn mae(pred: &[f64], truth: &[f64]) -> Option<f64> {
    mean_of(pred, truth, f64::abs)
}

/// Coefficient of determination `1 − SS_res/SS_tot` (`None` when the truth is constant).
pub fn r2(pred: &[f64], truth: &[f64]) -> Option<f64> {
    if pred.len() != truth.len() || truth.len() < 2 {
        return None;
    }
    let mean = truth.iter().sum::<f64>() / truth.len() as f64;
    let ss_tot: f64 = truth.iter().map(|y| (y - mean).powi(2)).sum();
    let ss_res: f64 = pred.iter().zip(truth).map(|(p, y)| (p - y).powi(2)).sum();
    (ss_tot > 0.0).then(|| 1.0 - ss_res / ss_tot)
}

/// Fraction of labels predicted on the right side of 0.5.
pub fn accuracy(prob: &[f64], truth: &[f64]) -> Option<f64> {
    mean_of(prob, truth, |_| 0.0)?;
    let right = prob
        .iter()
        .zip(truth)
        .filter(|(p, y)| (**p >= 0.5) == (**y >= 0.5))
        .count();
    Some(right as f64 / truth.len() as f64)
}

fn mean_of(pred: &[f64], truth: &[f64], f: impl Fn(f64) -> f64) -> Option<f64> {
    if pred.len() != truth.len() || pred.is_empty() {
        return None;
    }
    Some(pred.iter().zip(truth).map(|(p, y)| f(p - y)).sum::<f64>() / pred.len() as f64)
}

/// One metric by name on one task's labelled values.
pub fn metric(name: &str, pred: &[f64], truth: &[f64]) -> Option<f64> {
    let labels = || truth.iter().map(|&y| y >= 0.5).collect::<Vec<bool>>();
    match name {
        "rmse" => rmse(pred, truth),
        "mae" => mae(pred, truth),
        "r2" => r2(pred, truth),
        "roc_auc" => roc_auc(pred, &labels()),
        "prc_auc" => average_precision(pred, &labels()),
        "accuracy" => accuracy(pred, truth),
        _ => None,
    }
}

/// Metrics of one split: each metric's mean over the tasks where it is defined, and per task.
/// A task with no labels (or one class only, for AUCs) is listed in `undefined`, not averaged.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SplitMetrics {
    /// Metric name → mean over tasks where it is defined.
    #[serde(flatten)]
    pub mean: BTreeMap<String, f64>,
    /// Task → metric name → value.
    pub per_task: BTreeMap<String, BTreeMap<String, f64>>,
    /// Task → metric names that were undefined for it (no labels, or one class).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub undefined: BTreeMap<String, Vec<String>>,
    /// Classification only: ROC-AUC and PRC-AUC over every labelled (molecule, task) pair
    /// pooled into one ranking (chemprop 2.x's logged `roc` and `prc` are per-task means, like
    /// [`SplitMetrics::mean`]; the pooled figure is an extra, not chemprop's).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pooled: BTreeMap<String, f64>,
}

impl SplitMetrics {
    /// Computes every metric of `task_type` from row-major `n × t` predictions, targets and mask.
    pub fn compute(
        task_type: TaskType,
        tasks: &[String],
        pred: &[f64],
        truth: &[f64],
        mask: &[bool],
    ) -> Self {
        let t = tasks.len();
        let mut out = SplitMetrics::default();
        let mut table = PerTaskTable::default();
        for (j, task) in tasks.iter().enumerate() {
            let (mut p, mut y) = (Vec::new(), Vec::new());
            for i in 0..pred.len() / t.max(1) {
                if mask[i * t + j] {
                    p.push(pred[i * t + j]);
                    y.push(truth[i * t + j]);
                }
            }
            table.per_task.entry(task.clone()).or_default();
            for &name in task_type.metric_names() {
                table.record(task, name, metric(name, &p, &y));
            }
        }
        out.mean = table.means();
        out.per_task = table.per_task;
        out.undefined = table.undefined;
        if task_type == TaskType::Classification {
            let (mut p, mut y) = (Vec::new(), Vec::new());
            for (k, &m) in mask.iter().enumerate().take(pred.len()) {
                if m {
                    p.push(pred[k]);
                    y.push(truth[k]);
                }
            }
            for name in ["roc_auc", "prc_auc"] {
                if let Some(v) = metric(name, &p, &y).filter(|v| v.is_finite()) {
                    out.pooled.insert(name.to_string(), v);
                }
            }
        }
        out
    }

    /// The mean of one metric, if defined for any task.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.mean.get(name).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regression_metrics_by_hand() {
        let pred = [1.0, 2.0, 4.0];
        let truth = [1.0, 3.0, 2.0];
        // errors 0, −1, 2 → MSE 5/3
        assert!((rmse(&pred, &truth).unwrap() - (5.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert!((mae(&pred, &truth).unwrap() - 1.0).abs() < 1e-12);
        // ȳ = 2, SS_tot = 1 + 1 + 0 = 2, SS_res = 5 → R² = −1.5
        assert!((r2(&pred, &truth).unwrap() + 1.5).abs() < 1e-12);
        assert_eq!(rmse(&[], &[]), None);
    }

    #[test]
    fn roc_auc_with_ties_by_hand() {
        // positives 0.8, 0.4; negatives 0.4, 0.1 → pairs: (0.8>0.4)=1, (0.8>0.1)=1,
        // (0.4=0.4)=½, (0.4>0.1)=1 → 3.5/4
        let v = metric("roc_auc", &[0.8, 0.4, 0.4, 0.1], &[1.0, 1.0, 0.0, 0.0]).unwrap();
        assert!((v - 0.875).abs() < 1e-12);
        assert_eq!(
            metric("accuracy", &[0.8, 0.4, 0.4, 0.1], &[1.0, 1.0, 0.0, 0.0]),
            Some(0.75)
        );
    }

    #[test]
    fn tasks_without_labels_are_reported_not_averaged() {
        let tasks = vec!["a".to_string(), "b".to_string()];
        // task b has no labels; task a has both classes
        let pred = [0.9, 0.0, 0.2, 0.0];
        let truth = [1.0, 0.0, 0.0, 0.0];
        let mask = [true, false, true, false];
        let m = SplitMetrics::compute(TaskType::Classification, &tasks, &pred, &truth, &mask);
        assert_eq!(m.get("roc_auc"), Some(1.0));
        assert!(m.undefined["b"].contains(&"roc_auc".to_string()));
        assert!(m.mean.values().all(|v| v.is_finite()));
    }

    #[test]
    fn pooled_auc_ranks_all_labelled_pairs_together() {
        let tasks = vec!["a".to_string(), "b".to_string()];
        // Rows (a, b): (0.9, 0.2), (0.6, 0.7), (0.95, ·); labels (1, 0), (0, 1), (0, ·).
        let pred = [0.9, 0.2, 0.6, 0.7, 0.95, 0.4];
        let truth = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0];
        let mask = [true, true, true, true, true, false];
        let m = SplitMetrics::compute(TaskType::Classification, &tasks, &pred, &truth, &mask);
        // Task a: positive 0.9 vs negatives 0.6, 0.95 → 1/2; task b: 0.7 vs 0.2 → 1.
        assert_eq!(m.get("roc_auc"), Some(0.75));
        // Pooled: positives 0.9, 0.7 vs negatives 0.2, 0.6, 0.95 → (2 + 2)/6.
        assert!((m.pooled["roc_auc"] - 4.0 / 6.0).abs() < 1e-12);
        let r = SplitMetrics::compute(TaskType::Regression, &tasks, &pred, &truth, &mask);
        assert!(r.pooled.is_empty());
    }
}
