//! Ranking-quality metrics (pure f64): ROC-AUC and average precision; and the mean and spread
//! of repeated measurements.
//! Higher scores mean "predicted positive".

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
