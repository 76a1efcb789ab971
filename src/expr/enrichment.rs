//! Running-sum enrichment statistics of a gene set in one ranked reference,
//! computed from the set's sorted hit positions only (no pass over all genes).
//!
//! A reference of `n` genes is ordered from the largest to the smallest value.
//! The `k` query genes ("hits") sit at 0-based positions `p_1 < … < p_k`.
//! Between hits the running sum only decreases, so its maximum is reached at a
//! hit and its minimum just before a hit (or at the ends, where it is 0): both
//! statistics below are evaluated at the hits only, `O(k + n/64)` per
//! reference. The hits are sorted with a bitset of `n` bits, scanned by words.

/// Per-thread scratch space for the hit scan (a bitset and a weight slot per position).
#[derive(Debug, Clone)]
pub struct HitScratch {
    bits: Vec<u64>,
    weights: Vec<f32>,
}

impl HitScratch {
    /// Scratch for references of `n_genes` genes.
    pub fn new(n_genes: usize) -> Self {
        HitScratch {
            bits: vec![0; n_genes.div_ceil(64)],
            weights: vec![0.0; n_genes],
        }
    }

    /// Marks the hits; returns the number of distinct hits and the sum of
    /// their weights `|v_g|`. Genes out of range and repeats are ignored.
    fn scatter(&mut self, ranks: &[u16], values: Option<&[f32]>, set: &[usize]) -> (usize, f64) {
        let (mut count, mut total) = (0usize, 0.0);
        for &g in set {
            let Some(&p) = ranks.get(g) else { continue };
            let p = p as usize;
            let bit = 1u64 << (p & 63);
            if self.bits[p >> 6] & bit != 0 {
                continue;
            }
            self.bits[p >> 6] |= bit;
            count += 1;
            let w = values.map_or(1.0, |v| {
                let x = v[g].abs();
                if x.is_nan() { 0.0 } else { x }
            });
            self.weights[p] = w;
            total += f64::from(w);
        }
        (count, total)
    }

    /// Visits hit positions in increasing order, clearing the bitset as it goes.
    #[inline]
    fn drain(&mut self, mut f: impl FnMut(usize, f32)) {
        for (wi, word) in self.bits.iter_mut().enumerate() {
            let mut b = *word;
            while b != 0 {
                let p = (wi << 6) | b.trailing_zeros() as usize;
                b &= b - 1;
                f(p, self.weights[p]);
            }
            *word = 0;
        }
    }
}

/// Weighted enrichment score (GSEA, Subramanian et al. 2005; CMap WTCS,
/// Subramanian et al. 2017) with weight `|v|^1`:
///
/// running sum `RS(i) = Σ_{hits j ≤ i} |v_j| / N_R − (misses ≤ i) / (n − k)`,
/// `N_R = Σ_{hits} |v_j|`; `ES = max RS` if `max RS > −min RS`, else `min RS`.
///
/// `set` holds distinct gene indices. If all hit weights are 0 the hits get
/// equal weights. An empty set gives 0; `k = n` gives 1.
pub fn weighted_es(ranks: &[u16], values: &[f32], set: &[usize], scratch: &mut HitScratch) -> f64 {
    running_sum_es(ranks, Some(values), set, scratch)
}

/// Unweighted enrichment score (the GSEA running sum with equal hit weights `1/k`).
pub fn unweighted_es(ranks: &[u16], set: &[usize], scratch: &mut HitScratch) -> f64 {
    running_sum_es(ranks, None, set, scratch)
}

fn running_sum_es(
    ranks: &[u16],
    values: Option<&[f32]>,
    set: &[usize],
    scratch: &mut HitScratch,
) -> f64 {
    let n = ranks.len();
    let (k, total) = scratch.scatter(ranks, values, set);
    if k == 0 {
        return 0.0;
    }
    let (unit, inv) = if total > 0.0 {
        (false, 1.0 / total)
    } else {
        (true, 1.0 / k as f64)
    };
    let miss = if n > k { 1.0 / (n - k) as f64 } else { 0.0 };
    let (mut hits, mut cum, mut max, mut min) = (0usize, 0.0f64, 0.0f64, 0.0f64);
    scratch.drain(|p, w| {
        let misses = (p - hits) as f64 * miss;
        min = min.min(cum - misses);
        cum += if unit { inv } else { f64::from(w) * inv };
        hits += 1;
        max = max.max(cum - misses);
    });
    if max > -min { max } else { min }
}

/// The Kolmogorov–Smirnov statistic of Lamb et al. 2006 (the original
/// Connectivity Map). With `t` hits at 1-based positions `V(1) < … < V(t)`
/// among `n` genes:
///
/// `a = max_j [ j/t − V(j)/n ]`, `b = max_j [ V(j)/n − (j−1)/t ]`,
/// `ks = a` if `a > b`, else `−b`. An empty set gives 0.
pub fn lamb_ks(ranks: &[u16], set: &[usize], scratch: &mut HitScratch) -> f64 {
    let (t, _) = scratch.scatter(ranks, None, set);
    if t == 0 {
        return 0.0;
    }
    let (n, tf) = (ranks.len() as f64, t as f64);
    let (mut j, mut a, mut b) = (0usize, f64::NEG_INFINITY, f64::NEG_INFINITY);
    scratch.drain(|p, _| {
        let v = (p + 1) as f64 / n;
        b = b.max(v - j as f64 / tf);
        j += 1;
        a = a.max(j as f64 / tf - v);
    });
    if a > b { a } else { -b }
}

/// Reference implementation of [`weighted_es`] that walks all `n` genes in
/// order (for tests and benchmark ratios).
pub fn weighted_es_full_scan(values: &[f32], set: &[usize]) -> f64 {
    let n = values.len();
    let key = |g: usize| {
        if values[g].is_nan() {
            0.0
        } else {
            values[g] + 0.0
        }
    };
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| key(b).total_cmp(&key(a)).then(a.cmp(&b)));
    let mut is_hit = vec![false; n];
    for &g in set {
        is_hit[g] = true;
    }
    let k = set.len();
    if k == 0 {
        return 0.0;
    }
    let mut total: f64 = set.iter().map(|&g| f64::from(key(g).abs())).sum();
    let unit = total <= 0.0;
    if unit {
        total = k as f64;
    }
    let miss = if n > k { 1.0 / (n - k) as f64 } else { 0.0 };
    let (mut rs, mut max, mut min) = (0.0f64, 0.0f64, 0.0f64);
    for &g in &order {
        if is_hit[g] {
            rs += if unit { 1.0 } else { f64::from(key(g).abs()) } / total;
        } else {
            rs -= miss;
        }
        max = max.max(rs);
        min = min.min(rs);
    }
    if max > -min { max } else { min }
}
