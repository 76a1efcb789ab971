//! Connectivity scores: hand-computed values and properties.

use approx::assert_abs_diff_eq;
use moltx::expr::RankedReferences;
use moltx::expr::connectivity::{AlignedQuery, Score, ScoreParams, score_references};
use moltx::expr::enrichment::{HitScratch, lamb_ks, weighted_es, weighted_es_full_scan};
use moltx::expr::normalize::{ConnectOptions, connect, lamb_normalize, ncs, tau};
use proptest::prelude::*;

/// Reference of 6 genes, values 3, −1, 2, 0.5, −2, 1 → descending order g0 g2 g5 g3 g1 g4.
const V: [f32; 6] = [3.0, -1.0, 2.0, 0.5, -2.0, 1.0];

fn one_ref() -> RankedReferences {
    RankedReferences::from_values(6, V.to_vec()).unwrap()
}

fn query(up: &[usize], down: &[usize]) -> AlignedQuery {
    AlignedQuery {
        name: "q".into(),
        up: up.to_vec(),
        down: down.to_vec(),
        ..Default::default()
    }
}

fn score1(q: &AlignedQuery, s: Score, xsum_n: usize) -> f64 {
    score_references(q, &one_ref(), s, &ScoreParams { xsum_n }).unwrap()[0]
}

#[test]
fn ranks_are_descending_positions() {
    assert_eq!(one_ref().ranks(0), [0, 4, 1, 3, 5, 2]);
}

#[test]
fn weighted_es_by_hand() {
    let r = one_ref();
    let mut s = HitScratch::new(6);
    // up {g0, g3}: hits at positions 0, 3 with weights 3, 0.5 (N_R = 3.5), miss step 1/4:
    // RS = 6/7, 6/7−1/4, 6/7−1/2, 1−1/2, 1/4, 0 → ES = 6/7
    assert_abs_diff_eq!(
        weighted_es(r.ranks(0), r.values(0), &[0, 3], &mut s),
        6.0 / 7.0,
        epsilon = 1e-12
    );
    // down {g1, g4}: positions 4, 5; RS = −¼, −½, −¾, −1, −1+⅓, 0 → ES = −1
    assert_abs_diff_eq!(
        weighted_es(r.ranks(0), r.values(0), &[1, 4], &mut s),
        -1.0,
        epsilon = 1e-12
    );
    // WTCS = (6/7 − (−1)) / 2 = 13/14
    assert_abs_diff_eq!(
        score1(&query(&[0, 3], &[1, 4]), Score::Wtcs, 100),
        13.0 / 14.0,
        epsilon = 1e-12
    );
    // same signs → 0: up {g0}, down {g2} both positive ES
    assert_eq!(score1(&query(&[0], &[2]), Score::Wtcs, 100), 0.0);
}

#[test]
fn lamb_ks_by_hand() {
    let r = one_ref();
    let mut s = HitScratch::new(6);
    // up {g0, g3}: V = 1, 4 (n=6, t=2): a = max(½−⅙, 1−⅔) = ⅓; b = max(⅙−0, ⅔−½) = ⅙ → ⅓
    assert_abs_diff_eq!(
        lamb_ks(r.ranks(0), &[0, 3], &mut s),
        1.0 / 3.0,
        epsilon = 1e-12
    );
    // down {g1, g4}: V = 5, 6: a = max(½−⅚, 1−1) = 0; b = max(⅚, 1−½) = ⅚ → −⅚
    assert_abs_diff_eq!(
        lamb_ks(r.ranks(0), &[1, 4], &mut s),
        -5.0 / 6.0,
        epsilon = 1e-12
    );
    assert_abs_diff_eq!(
        score1(&query(&[0, 3], &[1, 4]), Score::Ks, 100),
        7.0 / 6.0,
        epsilon = 1e-12
    );
    assert_eq!(
        lamb_normalize(&[2.0, -1.0, 0.5, -4.0, 0.0]),
        [1.0, -0.25, 0.25, -1.0, 0.0]
    );
}

#[test]
fn xsum_by_hand() {
    let q = query(&[0, 3], &[1, 4]);
    // N=1: extremes {g0, g4}: 3 − (−2) = 5
    assert_abs_diff_eq!(score1(&q, Score::Xsum, 1), 5.0, epsilon = 1e-12);
    // N=2: extremes {g0, g2, g1, g4}: 3 − (−1 − 2) = 6
    assert_abs_diff_eq!(score1(&q, Score::Xsum, 2), 6.0, epsilon = 1e-12);
}

#[test]
fn correlations_by_hand() {
    let mut q = query(&[], &[]);
    q.signature = Some(((0..6).collect(), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]));
    // Spearman: ranks of V = 6,2,5,3,1,4 vs 1..6: Σd² = 50 → 1 − 6·50/(6·35)
    assert_abs_diff_eq!(
        score1(&q, Score::Spearman, 0),
        1.0 - 300.0 / 210.0,
        epsilon = 1e-12
    );
    // Pearson: x̄ = 3.5, v̄ = 0.5833…; Σ(x−x̄)(v−v̄) = Σx v − 6 x̄ v̄ = 5 − 12.25 = −7.25
    let v: Vec<f64> = V.iter().map(|&x| f64::from(x)).collect();
    let vm = v.iter().sum::<f64>() / 6.0;
    let svv: f64 = v.iter().map(|x| (x - vm).powi(2)).sum();
    assert_abs_diff_eq!(
        score1(&q, Score::Pearson, 0),
        -7.25 / (17.5 * svv).sqrt(),
        epsilon = 1e-9
    );
    // cosine with q = (1, 0, 0, 1, −1, −1): (3 + 0.5 + 2 − 1) / (2 · sqrt(19.25))
    q.signature = Some(((0..6).collect(), vec![1.0, 0.0, 0.0, 1.0, -1.0, -1.0]));
    assert_abs_diff_eq!(
        score1(&q, Score::Cosine, 0),
        4.5 / (2.0 * 19.25f64.sqrt()),
        epsilon = 1e-9
    );
    // a subset of genes re-ranks the reference: genes 0, 1, 2 → V = 3, −1, 2 → ranks 3,1,2 vs 1,2,3
    q.signature = Some((vec![0, 1, 2], vec![1.0, 2.0, 3.0]));
    assert_abs_diff_eq!(score1(&q, Score::Spearman, 0), -0.5, epsilon = 1e-12);
    assert!(
        score_references(
            &query(&[0], &[1]),
            &one_ref(),
            Score::Cosine,
            &ScoreParams::default()
        )
        .is_err()
    );
}

#[test]
fn ncs_and_tau_by_hand() {
    // group 0: positives 0.2, 0.6 (mean 0.4), negative −0.5; group 1: positive 0.1, negative −0.2, −0.4 (mean 0.3)
    let s = [0.2, 0.6, -0.5, 0.1, -0.2, -0.4, 0.0];
    let g = [0, 0, 0, 1, 1, 1, 1];
    let n = ncs(&s, &g);
    let want = [0.5, 1.5, -1.0, 1.0, -2.0 / 3.0, -4.0 / 3.0, 0.0];
    assert_abs_diff_eq!(n.as_slice(), want.as_slice(), epsilon = 1e-12);
    // tau: reference 0 has |NCS| 1.0 and background |NCS| 0.5, 2.0, 0.9, 1.5 → 2 of 4 below → 50
    let bg = vec![
        vec![0.5, 0.1],
        vec![-2.0, 0.1],
        vec![0.9, 0.1],
        vec![1.5, 0.1],
    ];
    assert_eq!(tau(&[-1.0, 0.2], &bg), [-50.0, 100.0]);
}

#[test]
fn connect_adds_ncs_and_tau() {
    let vals: Vec<f32> = (0..40 * 30)
        .map(|i| (((i * 7919) % 61) as f32 - 30.0) / 7.0)
        .collect();
    let refs = RankedReferences::from_values(30, vals).unwrap();
    let q = query(&[1, 2, 3, 4], &[10, 11, 12]);
    let opts = ConnectOptions {
        params: ScoreParams::default(),
        groups: vec![0; 40],
        tau_background: 50,
        seed: 1,
    };
    let t = connect(&q, &refs, Score::Wtcs, &opts).unwrap();
    let (n, tau) = (t.normalized.unwrap(), t.tau.unwrap());
    for i in 0..40 {
        assert_eq!(t.raw[i].signum(), n[i].signum());
        assert!((-100.0..=100.0).contains(&tau[i]));
        assert!(t.raw[i] == 0.0 || tau[i].signum() == t.raw[i].signum() || tau[i] == 0.0);
    }
    let again = connect(&q, &refs, Score::Wtcs, &opts).unwrap();
    assert_eq!(again.tau, Some(tau));
}

fn refs_strategy() -> impl Strategy<Value = (usize, Vec<f32>)> {
    (2usize..6).prop_flat_map(|k| (Just(k), prop::collection::vec(-5.0f32..5.0, k * 40)))
}

fn sets_strategy() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    Just((0..40).collect::<Vec<usize>>())
        .prop_shuffle()
        .prop_flat_map(|perm| {
            (1usize..10, 1usize..10)
                .prop_map(move |(u, d)| (perm[..u].to_vec(), perm[u..u + d].to_vec()))
        })
}

proptest! {
    #[test]
    fn reversing_the_query_negates((k, vals) in refs_strategy(), (up, down) in sets_strategy()) {
        let refs = RankedReferences::from_values(40, vals).unwrap();
        let q = query(&up, &down);
        let p = ScoreParams { xsum_n: 8 };
        for s in [Score::Wtcs, Score::Ks, Score::Xsum] {
            let a = score_references(&q, &refs, s, &p).unwrap();
            let b = score_references(&q.reversed(), &refs, s, &p).unwrap();
            prop_assert_eq!(a.len(), k);
            for (x, y) in a.iter().zip(&b) {
                prop_assert!((x + y).abs() < 1e-9, "{:?}: {} vs {}", s, x, y);
            }
        }
    }

    #[test]
    fn own_extremes_score_near_one(vals in prop::collection::vec(-5.0f32..5.0, 40), n in 3usize..12) {
        let refs = RankedReferences::from_values(40, vals.clone()).unwrap();
        let v: Vec<f64> = vals.iter().map(|&x| f64::from(x)).collect();
        let ids: Vec<String> = (0..40).map(|g| g.to_string()).collect();
        let genes = moltx::expr::GeneSpace::new(ids.clone()).unwrap();
        let q = AlignedQuery::from_signature("self", &ids, &v, n, &genes, None).unwrap();
        prop_assume!(q.up.len() == n && q.down.len() == n);
        let p = ScoreParams::default();
        let w = score_references(&q, &refs, Score::Wtcs, &p).unwrap()[0];
        prop_assert!(w > 0.99, "wtcs {}", w);
        for s in [Score::Cosine, Score::Pearson, Score::Spearman] {
            prop_assert!(score_references(&q, &refs, s, &p).unwrap()[0] > 0.999);
        }
        prop_assert!(score_references(&q, &refs, Score::Xsum, &p).unwrap()[0] > 0.0);
        prop_assert!(score_references(&q, &refs, Score::Ks, &p).unwrap()[0] > 0.0);
    }

    #[test]
    fn permuting_references_permutes_output((k, vals) in refs_strategy(), (up, down) in sets_strategy(), seed in 0u64..1000) {
        let refs = RankedReferences::from_values(40, vals).unwrap();
        let mut perm: Vec<usize> = (0..k).collect();
        let mut rng = moltx::expr::normalize::SplitMix64::new(seed);
        for i in (1..k).rev() { perm.swap(i, rng.below(i + 1)); }
        let shuffled = refs.select(&perm);
        let mut q = query(&up, &down);
        q.signature = Some(((0..40).collect(), (0..40).map(|g| (g as f64 * 0.37).sin()).collect()));
        for s in Score::ALL {
            let a = score_references(&q, &refs, s, &ScoreParams::default()).unwrap();
            let b = score_references(&q, &shuffled, s, &ScoreParams::default()).unwrap();
            for (i, &p) in perm.iter().enumerate() {
                prop_assert_eq!(b[i], a[p]);
            }
        }
    }

    #[test]
    fn sorted_hits_match_full_scan(vals in prop::collection::vec(-5.0f32..5.0, 40), (up, _d) in sets_strategy()) {
        let refs = RankedReferences::from_values(40, vals.clone()).unwrap();
        let mut s = HitScratch::new(40);
        let fast = weighted_es(refs.ranks(0), refs.values(0), &up, &mut s);
        let full = weighted_es_full_scan(&vals, &up);
        // equal, or an exact tie max RS = −min RS resolved differently by rounding
        prop_assert!((fast - full).abs() < 1e-9 || (fast + full).abs() < 1e-9, "{} vs {}", fast, full);
    }
}
