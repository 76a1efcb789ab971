//! Uncertainty metrics of a labelled multitask set: the metrics of [`super::metrics`] per task
//! (labelled rows only) and their mean over the tasks where they are defined, in the shape of
//! the other metrics reports (`mean` flattened, `per_task`, `undefined`).
//!
//! Per task, on the `n` labelled rows:
//! - always, classification: `ece`, the expected calibration error of the probabilities
//!   ([`expected_calibration_error`], [`DEFAULT_ECE_BINS`] bins);
//! - with a standard deviation `σᵢ` per value: `spearman_unc_abs_err`, Spearman's `ρ` between
//!   `σᵢ` and `|yᵢ − ŷᵢ|` ([`uncertainty_error_spearman`]); for regression also
//!   `miscalibration_area` ([`miscalibration_area`]) and `nll`, the mean Gaussian negative
//!   log-likelihood `(1/n) Σ [½ ln(2πσᵢ²) + (yᵢ − ŷᵢ)²/(2σᵢ²)]` ([`gaussian_nll`]);
//! - with intervals `[loᵢ, hiᵢ]` (regression): `coverage`, `(1/n) Σ 𝟙[loᵢ ≤ yᵢ ≤ hiᵢ]`, and
//!   `mean_width`, `(1/n) Σ (hiᵢ − loᵢ)`;
//! - with prediction sets `Cᵢ ⊆ {0, 1}` (classification): `coverage`, `(1/n) Σ 𝟙[yᵢ ∈ Cᵢ]`,
//!   and `mean_set_size`, `(1/n) Σ |Cᵢ|`.
//!
//! A metric that cannot be computed for a task (too few rows, a constant input, a zero
//! standard deviation, an unbounded interval) is listed under `undefined` for that task.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::CalibrationError;
use super::metrics::{
    DEFAULT_ECE_BINS, DEFAULT_GRID_POINTS, expected_calibration_error, gaussian_nll,
    interval_coverage, mean_interval_width, miscalibration_area, uncertainty_error_spearman,
};
use crate::metrics::PerTaskTable;

/// What is known about a labelled set's predictions: row-major `n × t` arrays, one entry per
/// (molecule, task).
#[derive(Debug, Clone, Copy)]
pub struct LabelledPredictions<'a> {
    /// Binary probabilities (`true`) or regression values (`false`).
    pub classification: bool,
    /// Task names (`t` of them).
    pub tasks: &'a [String],
    /// Predictions `ŷ` (probabilities of class 1 for classification).
    pub preds: &'a [f64],
    /// Truths `y` (0/1 for classification).
    pub truths: &'a [f64],
    /// Which entries are labelled.
    pub mask: &'a [bool],
    /// Standard deviations `σ` of the predictions, when an uncertainty exists.
    pub sds: Option<&'a [f64]>,
    /// Interval bounds `(lo, hi)`, when intervals exist (regression).
    pub intervals: Option<(&'a [f64], &'a [f64])>,
    /// Prediction sets as `(contains 0, contains 1)`, when they exist (classification).
    pub sets: Option<&'a [(bool, bool)]>,
}

/// Uncertainty metrics of one labelled set: each metric's mean over the tasks where it is
/// defined, per task, and the metrics undefined per task.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UncertaintyMetrics {
    /// Metric name → mean over tasks where it is defined.
    #[serde(flatten)]
    pub mean: BTreeMap<String, f64>,
    /// Task → metric name → value.
    pub per_task: BTreeMap<String, BTreeMap<String, f64>>,
    /// Task → metric names that could not be computed for it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub undefined: BTreeMap<String, Vec<String>>,
}

/// One task's labelled entries.
struct TaskRows {
    preds: Vec<f64>,
    truths: Vec<f64>,
    sds: Vec<f64>,
    lo: Vec<f64>,
    hi: Vec<f64>,
    sets: Vec<(bool, bool)>,
}

impl UncertaintyMetrics {
    /// Computes every metric the inputs allow (see the module documentation). Entries beyond
    /// the shortest input are ignored; nothing panics on mismatched lengths.
    pub fn compute(data: &LabelledPredictions<'_>) -> Self {
        let t = data.tasks.len();
        let n = data.preds.len().checked_div(t).unwrap_or(0);
        let mut table = PerTaskTable::default();
        for (j, task) in data.tasks.iter().enumerate() {
            let rows = task_rows(data, n, t, j);
            table.per_task.entry(task.clone()).or_default();
            for (name, value) in task_metrics(data, &rows) {
                table.record(task, name, value.ok());
            }
        }
        UncertaintyMetrics {
            mean: table.means(),
            per_task: table.per_task,
            undefined: table.undefined,
        }
    }

    /// The mean of one metric, if defined for any task.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.mean.get(name).copied()
    }

    /// True when no metric was computed or attempted.
    pub fn is_empty(&self) -> bool {
        self.mean.is_empty() && self.undefined.is_empty()
    }
}

/// The labelled entries of task `j`.
fn task_rows(data: &LabelledPredictions<'_>, n: usize, t: usize, j: usize) -> TaskRows {
    let mut rows = TaskRows {
        preds: Vec::new(),
        truths: Vec::new(),
        sds: Vec::new(),
        lo: Vec::new(),
        hi: Vec::new(),
        sets: Vec::new(),
    };
    for i in 0..n {
        let k = i * t + j;
        let (Some(&p), Some(&y), Some(true)) =
            (data.preds.get(k), data.truths.get(k), data.mask.get(k))
        else {
            continue;
        };
        rows.preds.push(p);
        rows.truths.push(y);
        if let Some(s) = data.sds.and_then(|s| s.get(k)) {
            rows.sds.push(*s);
        }
        if let Some((lo, hi)) = data.intervals
            && let (Some(l), Some(h)) = (lo.get(k), hi.get(k))
        {
            rows.lo.push(*l);
            rows.hi.push(*h);
        }
        if let Some(set) = data.sets.and_then(|s| s.get(k)) {
            rows.sets.push(*set);
        }
    }
    rows
}

type Named = (&'static str, Result<f64, CalibrationError>);

/// The metrics of one task's labelled entries.
fn task_metrics(data: &LabelledPredictions<'_>, r: &TaskRows) -> Vec<Named> {
    let mut out: Vec<Named> = Vec::new();
    let labels: Vec<bool> = r.truths.iter().map(|&y| y >= 0.5).collect();
    if data.classification {
        out.push((
            "ece",
            expected_calibration_error(&r.preds, &labels, DEFAULT_ECE_BINS),
        ));
    }
    if data.sds.is_some() {
        out.push((
            "spearman_unc_abs_err",
            uncertainty_error_spearman(&r.preds, &r.truths, &r.sds),
        ));
        if !data.classification {
            out.push((
                "miscalibration_area",
                miscalibration_area(&r.preds, &r.truths, &r.sds, DEFAULT_GRID_POINTS),
            ));
            out.push(("nll", gaussian_nll(&r.preds, &r.truths, &r.sds)));
        }
    }
    if data.intervals.is_some() {
        out.push(("coverage", interval_coverage(&r.lo, &r.hi, &r.truths)));
        out.push(("mean_width", mean_interval_width(&r.lo, &r.hi)));
    }
    if data.sets.is_some() {
        out.push(("coverage", set_coverage(&r.sets, &labels)));
        out.push(("mean_set_size", mean_set_size(&r.sets)));
    }
    out
}

/// `(1/n) Σ 𝟙[yᵢ ∈ Cᵢ]` for binary sets `(contains 0, contains 1)`.
pub fn set_coverage(sets: &[(bool, bool)], labels: &[bool]) -> Result<f64, CalibrationError> {
    super::check_nonempty("prediction sets", sets.len())?;
    super::check_len("labels", sets.len(), labels.len())?;
    let hits = sets
        .iter()
        .zip(labels)
        .filter(|((c0, c1), y)| if **y { *c1 } else { *c0 })
        .count();
    Ok(hits as f64 / sets.len() as f64)
}

/// `(1/n) Σ |Cᵢ|` for binary sets: 0, 1 or 2 classes each.
pub fn mean_set_size(sets: &[(bool, bool)]) -> Result<f64, CalibrationError> {
    super::check_nonempty("prediction sets", sets.len())?;
    let size: usize = sets
        .iter()
        .map(|(a, b)| usize::from(*a) + usize::from(*b))
        .sum();
    Ok(size as f64 / sets.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tasks(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn regression_metrics_per_task_and_mean() {
        let names = tasks(&["a", "b"]);
        // Rows: (a, b); b's second row is unlabelled.
        let preds = [0.0, 1.0, 1.0, 2.0, 2.0, 3.0];
        let truths = [0.5, 1.0, 1.0, 9.0, 3.0, 2.0];
        let mask = [true, true, true, false, true, true];
        let sds = [0.5, 1.0, 0.1, 1.0, 1.0, 2.0];
        let lo: Vec<f64> = preds.iter().map(|p| p - 0.6).collect();
        let hi: Vec<f64> = preds.iter().map(|p| p + 0.6).collect();
        let m = UncertaintyMetrics::compute(&LabelledPredictions {
            classification: false,
            tasks: &names,
            preds: &preds,
            truths: &truths,
            mask: &mask,
            sds: Some(&sds),
            intervals: Some((&lo, &hi)),
            sets: None,
        });
        // Task a: |errors| 0.5, 0, 1 → covered rows 0 and 1.
        let a = &m.per_task["a"];
        assert!((a["coverage"] - 2.0 / 3.0).abs() < 1e-12);
        assert!((a["mean_width"] - 1.2).abs() < 1e-12);
        let want_nll = gaussian_nll(&[0.0, 1.0, 2.0], &[0.5, 1.0, 3.0], &[0.5, 0.1, 1.0]);
        assert!((a["nll"] - want_nll.unwrap()).abs() < 1e-12);
        // Task b: rows 0 and 2 only (errors 0 and 1, sds 1 and 2): ρ = 1.
        let b = &m.per_task["b"];
        assert!((b["spearman_unc_abs_err"] - 1.0).abs() < 1e-12);
        assert!((b["coverage"] - 0.5).abs() < 1e-12);
        assert!((m.get("coverage").unwrap() - (2.0 / 3.0 + 0.5) / 2.0).abs() < 1e-12);
        assert!(!a.contains_key("ece"));
        assert!(m.per_task["a"].contains_key("miscalibration_area"));
    }

    #[test]
    fn classification_sets_and_ece() {
        let names = tasks(&["t"]);
        let preds = [0.9, 0.2, 0.6, 0.4];
        let truths = [1.0, 0.0, 0.0, 1.0];
        let mask = [true; 4];
        let sets = [(false, true), (true, false), (true, true), (false, false)];
        let m = UncertaintyMetrics::compute(&LabelledPredictions {
            classification: true,
            tasks: &names,
            preds: &preds,
            truths: &truths,
            mask: &mask,
            sds: None,
            intervals: None,
            sets: Some(&sets),
        });
        let t = &m.per_task["t"];
        assert_eq!(t["coverage"], 0.75);
        assert_eq!(t["mean_set_size"], 1.0);
        let ece = expected_calibration_error(&preds, &[true, false, false, true], 10).unwrap();
        assert_eq!(t["ece"], ece);
        assert!(!t.contains_key("nll") && !t.contains_key("spearman_unc_abs_err"));
    }

    #[test]
    fn undefined_metrics_are_listed_not_averaged() {
        let names = tasks(&["empty", "flat"]);
        // Task "empty" has no labels; task "flat" has a constant uncertainty.
        let preds = [0.0, 1.0, 0.0, 2.0];
        let truths = [0.0, 1.5, 0.0, 1.0];
        let mask = [false, true, false, true];
        let sds = [1.0, 1.0, 1.0, 1.0];
        let m = UncertaintyMetrics::compute(&LabelledPredictions {
            classification: false,
            tasks: &names,
            preds: &preds,
            truths: &truths,
            mask: &mask,
            sds: Some(&sds),
            intervals: None,
            sets: None,
        });
        assert!(m.per_task["empty"].is_empty());
        assert_eq!(m.undefined["empty"].len(), 3);
        assert_eq!(m.undefined["flat"], vec!["spearman_unc_abs_err"]);
        assert_eq!(m.get("nll"), m.per_task["flat"].get("nll").copied());
        let json = serde_json::to_value(&m).unwrap();
        assert!(json["nll"].is_number() && json["per_task"]["flat"]["nll"].is_number());
    }
}
