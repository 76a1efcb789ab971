//! Ranking-quality metrics (pure f64): ROC-AUC and average precision; and the mean and spread
//! of repeated measurements.
//! Higher scores mean "predicted positive".

use std::collections::BTreeMap;

/// ROC-AUC by the Mann–Whitney statistic with midranks for ties:
/// `AUC = (Σ_{positives} rank_i − n₊(n₊+1)/2) / (n₊ n₋)`, ranks ascending
/// by score (tied scores share their average rank, i.e. count ½ per tied
/// positive–negative pair). `None` without both classes or with a NaN score.
pub fn roc_auc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    if scores.len() != labels.len() || scores.iter().any(|s| s.is_nan()) {
        return None;
    }
    let n_pos = labels.iter().filter(|&&l| l).count();
    let n_neg = labels.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i + 1;
        while j < order.len() && scores[order[j]] == scores[order[i]] {
            j += 1;
        }
        let mid = (i + j + 1) as f64 / 2.0;
        rank_sum += mid * order[i..j].iter().filter(|&&k| labels[k]).count() as f64;
        i = j;
    }
    let (p, n) = (n_pos as f64, n_neg as f64);
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * n))
}

/// Average precision, `AP = Σ_t (R_t − R_{t−1}) P_t` over the distinct score
/// thresholds `t` taken from the highest down, with `P_t`/`R_t` the precision
/// and recall of "score ≥ t" (tied scores enter together, as in scikit-learn).
/// `None` without positives or with a NaN score.
pub fn average_precision(scores: &[f64], labels: &[bool]) -> Option<f64> {
    if scores.len() != labels.len() || scores.iter().any(|s| s.is_nan()) {
        return None;
    }
    let n_pos = labels.iter().filter(|&&l| l).count();
    if n_pos == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (mut tp, mut seen, mut ap, mut last_recall) = (0usize, 0usize, 0.0, 0.0);
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j < order.len() && scores[order[j]] == scores[order[i]] {
            tp += usize::from(labels[order[j]]);
            j += 1;
        }
        seen += j - i;
        let recall = tp as f64 / n_pos as f64;
        ap += (recall - last_recall) * tp as f64 / seen as f64;
        last_recall = recall;
        i = j;
    }
    Some(ap)
}
/// Mean and sample standard deviation `√(Σ(x − x̄)² / (n − 1))` (0 for fewer than two values;
/// mean 0 for none), e.g. of a metric over seeds.
pub fn mean_and_sd(values: &[f64]) -> (f64, f64) {
    let n = values.len();
    if n == 0 {
        return (0.0, 0.0);
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let sd = if n < 2 {
        0.0
    } else {
        (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
    };
    (mean, sd)
}

/// Metric values per task and, per metric, their mean over the tasks where it is defined:
/// `mean[m] = (1/|T_m|) Σ_{t ∈ T_m} value[t][m]`, `T_m` the tasks with a finite value of `m`.
/// A value that is missing or not finite is listed under `undefined[task]` instead.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct PerTaskTable {
    /// Task → metric name → value (every task recorded, even one with no defined metric).
    pub per_task: BTreeMap<String, BTreeMap<String, f64>>,
    /// Task → metric names that were undefined for it.
    pub undefined: BTreeMap<String, Vec<String>>,
}

impl PerTaskTable {
    /// Records metric `name` of `task`: kept if finite, else listed as undefined.
    pub fn record(&mut self, task: &str, name: &str, value: Option<f64>) {
        let values = self.per_task.entry(task.to_string()).or_default();
        match value.filter(|v| v.is_finite()) {
            Some(v) => {
                values.insert(name.to_string(), v);
            }
            None => self
                .undefined
                .entry(task.to_string())
                .or_default()
                .push(name.to_string()),
        }
    }

    /// Each metric's mean over the tasks where it is defined.
    pub fn means(&self) -> BTreeMap<String, f64> {
        let mut sums: BTreeMap<String, (f64, usize)> = Default::default();
        for values in self.per_task.values() {
            for (name, v) in values {
                let s = sums.entry(name.clone()).or_insert((0.0, 0));
                s.0 += v;
                s.1 += 1;
            }
        }
        sums.into_iter()
            .map(|(k, (s, n))| (k, s / n as f64))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_task_means_skip_undefined_values() {
        let mut t = PerTaskTable::default();
        t.record("a", "rmse", Some(1.0));
        t.record("b", "rmse", Some(3.0));
        t.record("b", "r2", Some(f64::NAN));
        t.record("c", "rmse", None);
        let means = t.means();
        assert_eq!(means["rmse"], 2.0);
        assert!(!means.contains_key("r2"));
        assert_eq!(t.undefined["b"], vec!["r2".to_string()]);
        assert_eq!(t.undefined["c"], vec!["rmse".to_string()]);
        assert!(t.per_task["c"].is_empty());
    }
}
