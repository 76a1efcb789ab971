//! ROC-AUC and average precision against hand-computed values.

use approx::assert_abs_diff_eq;
use moltx::metrics::{average_precision, roc_auc};

#[test]
fn auc_and_ap_without_ties() {
    let s = [0.9, 0.8, 0.7, 0.6, 0.5];
    let l = [true, false, true, false, false];
    // positive 0.9 beats 3 negatives, 0.7 beats 2 → 5/6
    assert_abs_diff_eq!(roc_auc(&s, &l).unwrap(), 5.0 / 6.0, epsilon = 1e-12);
    // hits at ranks 1 and 3: 0.5·1 + 0.5·(2/3)
    assert_abs_diff_eq!(
        average_precision(&s, &l).unwrap(),
        0.5 + 1.0 / 3.0,
        epsilon = 1e-12
    );
}

#[test]
fn auc_and_ap_with_ties() {
    let s = [0.5, 0.5, 0.2];
    let l = [true, false, true];
    // (tie ½ + 0) / 2
    assert_abs_diff_eq!(roc_auc(&s, &l).unwrap(), 0.25, epsilon = 1e-12);
    // threshold 0.5: R=½, P=½; threshold 0.2: R=1, P=⅔
    assert_abs_diff_eq!(
        average_precision(&s, &l).unwrap(),
        0.25 + 1.0 / 3.0,
        epsilon = 1e-12
    );
    assert!(roc_auc(&s, &[true; 3]).is_none());
    assert!(average_precision(&s, &[false; 3]).is_none());
}
