//! Signature operations against hand-computed values.

use approx::assert_abs_diff_eq;
use moltx::expr::signature::{
    modz, ranks, robust_zscore, spearman, threshold_sets, top_bottom, zscore,
};
use moltx::expr::{GeneSpace, MetaTable, SignatureMatrix};
use std::sync::Arc;

#[test]
fn zscores() {
    let z = zscore(&[1.0, 2.0, 3.0]);
    assert_abs_diff_eq!(z.as_slice(), [-1.0, 0.0, 1.0].as_slice(), epsilon = 1e-12);
    let r = robust_zscore(&[1.0, 2.0, 3.0, 4.0, 100.0]);
    // median 3, |x − 3| = 2,1,0,1,97 → MAD 1 → scale 1.4826
    assert_abs_diff_eq!(r[0], -2.0 / 1.4826, epsilon = 1e-12);
    assert_abs_diff_eq!(r[4], 97.0 / 1.4826, epsilon = 1e-12);
    assert_eq!(zscore(&[2.0, 2.0]), [0.0, 0.0]);
}

#[test]
fn matrix_gene_wise_robust_z() {
    let genes = Arc::new(GeneSpace::new(vec!["a".into(), "b".into()]).unwrap());
    let data = vec![1.0, 5.0, 2.0, 5.0, 3.0, 5.0, 4.0, 5.0, 100.0, 5.0];
    let ids = (0..5).map(|i| format!("s{i}")).collect();
    let mut m =
        SignatureMatrix::new(genes, ids, data, MetaTable::empty(), MetaTable::empty()).unwrap();
    m.zscore_genes(true);
    assert_abs_diff_eq!(m.column(0)[0], -2.0 / 1.4826, epsilon = 1e-12);
    assert_eq!(m.column(0)[1], 0.0);
}

#[test]
fn modz_two_and_three_replicates() {
    // Spearman(z1, z2) = 1 − 6·2/(3·8) = 0.5; equal weights 0.5; divide by sqrt(0.5)
    let (c, w) = modz(&[&[1.0, 2.0, 3.0], &[1.0, 3.0, 2.0]]).unwrap();
    assert_abs_diff_eq!(w.as_slice(), [0.5, 0.5].as_slice(), epsilon = 1e-12);
    let s = 0.5f64.sqrt();
    assert_abs_diff_eq!(
        c.as_slice(),
        [1.0 / s, 2.5 / s, 2.5 / s].as_slice(),
        epsilon = 1e-12
    );
    // third replicate anti-correlated: raw weights −0.5, 0, −1.5 → all clipped to 0.01 → 1/3 each
    let (c, w) = modz(&[&[1.0, 2.0, 3.0], &[1.0, 3.0, 2.0], &[3.0, 2.0, 1.0]]).unwrap();
    assert_abs_diff_eq!(w[0], 1.0 / 3.0, epsilon = 1e-12);
    let norm = (3.0f64 / 9.0).sqrt();
    assert_abs_diff_eq!(c[0], (5.0 / 3.0) / norm, epsilon = 1e-12);
    // unequal weights: z1 ~ z2 strongly, z3 weaker
    let (_, w) = modz(&[
        &[1.0, 2.0, 3.0, 4.0],
        &[1.0, 2.0, 4.0, 3.0],
        &[2.0, 1.0, 4.0, 3.0],
    ])
    .unwrap();
    // ρ12 = 0.8, ρ13 = 0.6, ρ23 = 0.8 → raw 1.4, 1.6, 1.4 → /4.4
    assert_abs_diff_eq!(
        w.as_slice(),
        [1.4 / 4.4, 1.6 / 4.4, 1.4 / 4.4].as_slice(),
        epsilon = 1e-12
    );
}

#[test]
fn ranks_and_sets() {
    assert_eq!(ranks(&[10.0, 30.0, 20.0, 20.0]), [1.0, 4.0, 2.5, 2.5]);
    assert_abs_diff_eq!(
        spearman(
            &[3.0, -1.0, 2.0, 0.5, -2.0, 1.0],
            &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
        ),
        1.0 - 300.0 / 210.0,
        epsilon = 1e-12
    );
    let v = [3.0, -1.0, 2.0, 0.5, -2.0, 1.0];
    let s = top_bottom(&v, 2);
    assert_eq!((s.up, s.down), (vec![0, 2], vec![4, 1]));
    let t = threshold_sets(&v, 1.0);
    assert_eq!((t.up, t.down), (vec![0, 2, 5], vec![4, 1]));
}
