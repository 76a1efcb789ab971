//! Connectivity scores of one query against many reference signatures,
//! parallel over references (rayon).
//!
//! Sign convention everywhere: positive = the reference mimics the query,
//! negative = it reverses it (the candidates for a disease query).

use super::enrichment::{HitScratch, lamb_ks, weighted_es};
use super::error::{ExprError, Result};
use super::geneset::GeneQuery;
use super::genespace::{Alignment, GeneSpace, GeneTable};
use super::ranked::RankedReferences;
use super::signature::{ranks, top_bottom};
use rayon::prelude::*;
use std::collections::HashSet;

/// A connectivity score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Score {
    /// Weighted connectivity score of CMap L1000 (Subramanian et al. 2017), see [`wtcs`].
    Wtcs,
    /// Kolmogorov–Smirnov connectivity of the original CMap (Lamb et al. 2006), see [`ks_connectivity`].
    Ks,
    /// Extreme sum (Cheng et al. 2014), see [`xsum`].
    Xsum,
    /// Cosine similarity of the signature query and the reference, see [`cosine`].
    Cosine,
    /// Pearson correlation of the signature query and the reference.
    Pearson,
    /// Spearman correlation of the signature query and the reference.
    Spearman,
}

impl Score {
    /// All scores, in a fixed order.
    pub const ALL: [Score; 6] = [
        Score::Wtcs,
        Score::Ks,
        Score::Xsum,
        Score::Cosine,
        Score::Pearson,
        Score::Spearman,
    ];

    /// Lower-case name (`wtcs`, `ks`, …).
    pub fn name(self) -> &'static str {
        match self {
            Score::Wtcs => "wtcs",
            Score::Ks => "ks",
            Score::Xsum => "xsum",
            Score::Cosine => "cosine",
            Score::Pearson => "pearson",
            Score::Spearman => "spearman",
        }
    }

    /// Parses a lower-case name.
    pub fn parse(name: &str) -> Result<Score> {
        Score::ALL
            .into_iter()
            .find(|s| s.name() == name.to_lowercase())
            .ok_or_else(|| ExprError::Invalid(format!("unknown score '{name}'")))
    }

    /// True for the scores that need a full signature query (not just gene sets).
    pub fn needs_signature(self) -> bool {
        matches!(self, Score::Cosine | Score::Pearson | Score::Spearman)
    }
}

/// A query aligned to the reference gene space: up/down gene indices and,
/// optionally, a full signature over (a subset of) the reference genes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AlignedQuery {
    /// Query name.
    pub name: String,
    /// Up genes (distinct indices into the reference genes).
    pub up: Vec<usize>,
    /// Down genes (distinct, disjoint from `up`).
    pub down: Vec<usize>,
    /// Signature query: reference gene indices and the query's values there.
    pub signature: Option<(Vec<usize>, Vec<f64>)>,
    /// How the query's genes matched the reference.
    pub alignment: Option<Alignment>,
}

impl AlignedQuery {
    /// Aligns up/down gene identifiers to the reference genes; unmatched and
    /// repeated genes are dropped (a gene in both sets is dropped from both).
    pub fn from_gene_query(
        q: &GeneQuery,
        genes: &GeneSpace,
        table: Option<&GeneTable>,
    ) -> AlignedQuery {
        let all: Vec<String> = q.up.iter().chain(&q.down).cloned().collect();
        let al = genes.align(&all, table);
        let (u, d) = al.positions.split_at(q.up.len());
        let up_set: HashSet<usize> = u.iter().flatten().copied().collect();
        let down_set: HashSet<usize> = d.iter().flatten().copied().collect();
        let dedup = |xs: &[Option<usize>], other: &HashSet<usize>| {
            let mut seen = HashSet::new();
            xs.iter()
                .flatten()
                .copied()
                .filter(|g| !other.contains(g) && seen.insert(*g))
                .collect()
        };
        AlignedQuery {
            name: q.name.clone(),
            up: dedup(u, &down_set),
            down: dedup(d, &up_set),
            signature: None,
            alignment: Some(al),
        }
    }

    /// Aligns a signature query (gene ids and values) to the reference genes and
    /// derives up/down sets from its `n_genes` largest and smallest matched values.
    pub fn from_signature(
        name: &str,
        ids: &[String],
        values: &[f64],
        n_genes: usize,
        genes: &GeneSpace,
        table: Option<&GeneTable>,
    ) -> Result<AlignedQuery> {
        if ids.len() != values.len() {
            return Err(ExprError::Shape(format!(
                "{} gene ids for {} values",
                ids.len(),
                values.len()
            )));
        }
        let al = genes.align(ids, table);
        let mut seen = HashSet::new();
        let (mut idx, mut vals) = (Vec::new(), Vec::new());
        for (p, &v) in al.positions.iter().zip(values) {
            if let Some(g) = *p
                && v.is_finite()
                && seen.insert(g)
            {
                idx.push(g);
                vals.push(v);
            }
        }
        let sets = top_bottom(&vals, n_genes);
        Ok(AlignedQuery {
            name: name.to_string(),
            up: sets.up.iter().map(|&i| idx[i]).collect(),
            down: sets.down.iter().map(|&i| idx[i]).collect(),
            signature: Some((idx, vals)),
            alignment: Some(al),
        })
    }

    /// The query with up and down swapped and the signature negated.
    pub fn reversed(&self) -> AlignedQuery {
        AlignedQuery {
            name: self.name.clone(),
            up: self.down.clone(),
            down: self.up.clone(),
            signature: self
                .signature
                .as_ref()
                .map(|(i, v)| (i.clone(), v.iter().map(|x| -x).collect())),
            alignment: self.alignment.clone(),
        }
    }
}

/// Parameters of the scores.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreParams {
    /// XSum: number of top and of bottom reference genes kept (`N` of Cheng et al.).
    pub xsum_n: usize,
}

impl Default for ScoreParams {
    fn default() -> Self {
        ScoreParams { xsum_n: 100 }
    }
}

/// Combines up and down enrichment scores into one bidirectional score:
/// `(es_up − es_down) / 2` if their signs differ, else 0 (WTCS of Subramanian
/// et al. 2017). A one-sided query returns `es_up` (or `−es_down`).
pub fn wtcs(es_up: f64, es_down: f64, has_up: bool, has_down: bool) -> f64 {
    match (has_up, has_down) {
        (true, true) if es_up * es_down < 0.0 => (es_up - es_down) / 2.0,
        (true, true) => 0.0,
        (true, false) => es_up,
        (false, true) => -es_down,
        (false, false) => 0.0,
    }
}

/// Connectivity of Lamb et al. 2006: `s = ks_up − ks_down` if the signs
/// differ, else 0 (raw score, before the max/min scaling of
/// [`super::normalize::lamb_normalize`]). One-sided: `ks_up` (or `−ks_down`).
pub fn ks_connectivity(ks_up: f64, ks_down: f64, has_up: bool, has_down: bool) -> f64 {
    match (has_up, has_down) {
        (true, true) if ks_up * ks_down < 0.0 => ks_up - ks_down,
        (true, true) => 0.0,
        (true, false) => ks_up,
        (false, true) => -ks_down,
        (false, false) => 0.0,
    }
}

/// Extreme sum (XSum, Cheng et al. 2014): with `E` the `N` highest- and `N`
/// lowest-ranked genes of the reference `r`,
/// `XSum = Σ_{g ∈ up ∩ E} r_g − Σ_{g ∈ down ∩ E} r_g`.
pub fn xsum(ranks: &[u16], values: &[f32], up: &[usize], down: &[usize], n: usize) -> f64 {
    let total = ranks.len();
    let extreme = |g: usize| {
        let r = ranks[g] as usize;
        r < n || r + n >= total
    };
    let sum = |set: &[usize]| -> f64 {
        set.iter()
            .filter(|&&g| g < total && extreme(g))
            .map(|&g| f64::from(values[g]))
            .filter(|v| v.is_finite())
            .sum()
    };
    sum(up) - sum(down)
}

/// Cosine similarity over the query genes: `Σ q_j r_{g_j} / (‖q‖ ‖r_g‖)` (0 if a norm is 0).
pub fn cosine(idx: &[usize], q: &[f64], values: &[f32]) -> f64 {
    let (mut qr, mut qq, mut rr) = (0.0, 0.0, 0.0);
    for (&g, &x) in idx.iter().zip(q) {
        let r = f64::from(values[g]);
        qr += x * r;
        qq += x * x;
        rr += r * r;
    }
    if qq > 0.0 && rr > 0.0 {
        qr / (qq * rr).sqrt()
    } else {
        0.0
    }
}

/// Pearson correlation over the query genes,
/// `Σ(q−q̄)(r−r̄) / sqrt(Σ(q−q̄)² Σ(r−r̄)²)` (0 if either side is constant).
pub fn pearson_at(idx: &[usize], q: &[f64], reference: impl Fn(usize) -> f64) -> f64 {
    let n = idx.len() as f64;
    if idx.len() < 2 {
        return 0.0;
    }
    let (mut sq, mut sr, mut sqq, mut srr, mut sqr) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (&g, &x) in idx.iter().zip(q) {
        let r = reference(g);
        sq += x;
        sr += r;
        sqq += x * x;
        srr += r * r;
        sqr += x * r;
    }
    let cov = sqr - sq * sr / n;
    let (vq, vr) = (sqq - sq * sq / n, srr - sr * sr / n);
    if vq > 0.0 && vr > 0.0 {
        cov / (vq * vr).sqrt()
    } else {
        0.0
    }
}

/// Scores one query against every reference (parallel over references).
///
/// Gene-set scores (WTCS, KS, XSum) use `query.up`/`query.down`; correlation
/// scores need `query.signature`. Spearman uses the reference's stored
/// positions when the query covers all reference genes (exact for untied
/// references), else re-ranks the reference over the query genes (midranks).
pub fn score_references(
    query: &AlignedQuery,
    refs: &RankedReferences,
    score: Score,
    params: &ScoreParams,
) -> Result<Vec<f64>> {
    let n = refs.n_genes();
    let check = |set: &[usize]| set.iter().all(|&g| g < n);
    if !check(&query.up) || !check(&query.down) {
        return Err(ExprError::Shape(format!(
            "query gene index out of range for {n} genes"
        )));
    }
    let (has_up, has_down) = (!query.up.is_empty(), !query.down.is_empty());
    if !score.needs_signature() && !has_up && !has_down {
        return Err(ExprError::Invalid(format!(
            "score '{}' needs up or down genes, and query '{}' has neither",
            score.name(),
            query.name
        )));
    }
    let n_refs = refs.len();
    let out: Vec<f64> = match score {
        Score::Wtcs | Score::Ks => (0..n_refs)
            .into_par_iter()
            .map_init(
                || HitScratch::new(n),
                |s, r| {
                    let (rk, v) = (refs.ranks(r), refs.values(r));
                    if score == Score::Wtcs {
                        let up = weighted_es(rk, v, &query.up, s);
                        let down = weighted_es(rk, v, &query.down, s);
                        wtcs(up, down, has_up, has_down)
                    } else {
                        let up = lamb_ks(rk, &query.up, s);
                        let down = lamb_ks(rk, &query.down, s);
                        ks_connectivity(up, down, has_up, has_down)
                    }
                },
            )
            .collect(),
        Score::Xsum => (0..n_refs)
            .into_par_iter()
            .map(|r| {
                xsum(
                    refs.ranks(r),
                    refs.values(r),
                    &query.up,
                    &query.down,
                    params.xsum_n,
                )
            })
            .collect(),
        Score::Cosine | Score::Pearson | Score::Spearman => {
            let (idx, q) = query.signature.as_ref().ok_or_else(|| {
                ExprError::Invalid(format!(
                    "score '{}' needs a signature query, not gene sets",
                    score.name()
                ))
            })?;
            if !check(idx) {
                return Err(ExprError::Shape(format!(
                    "query gene index out of range for {n} genes"
                )));
            }
            match score {
                Score::Cosine => (0..n_refs)
                    .into_par_iter()
                    .map(|r| cosine(idx, q, refs.values(r)))
                    .collect(),
                Score::Pearson => (0..n_refs)
                    .into_par_iter()
                    .map(|r| {
                        let v = refs.values(r);
                        pearson_at(idx, q, |g| f64::from(v[g]))
                    })
                    .collect(),
                _ => {
                    let qr = ranks(q);
                    let full = idx.len() == n;
                    (0..n_refs)
                        .into_par_iter()
                        .map(|r| {
                            if full {
                                // stored positions are descending: ascending rank = n − position
                                let rk = refs.ranks(r);
                                pearson_at(idx, &qr, |g| (n - rk[g] as usize) as f64)
                            } else {
                                let v = refs.values(r);
                                let sub: Vec<f64> = idx.iter().map(|&g| f64::from(v[g])).collect();
                                let sr = ranks(&sub);
                                let pos: Vec<usize> = (0..idx.len()).collect();
                                pearson_at(&pos, &qr, |j| sr[j])
                            }
                        })
                        .collect()
                }
            }
        }
    };
    Ok(out)
}
