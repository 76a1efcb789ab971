//! Normalizations of connectivity scores across references: Lamb's max/min
//! scaling, CMap's NCS (per cell line × perturbagen type group) and tau.

use super::connectivity::{AlignedQuery, Score, ScoreParams, score_references};
use super::error::{ExprError, Result};
use super::ranked::RankedReferences;
use super::signature::MetaTable;
use std::collections::HashMap;

/// Lamb et al. 2006 scaling of raw KS connectivity scores `s_i` across all
/// references: with `p = max_i s_i` and `q = min_i s_i`,
/// `S_i = s_i / p` if `s_i > 0`, `S_i = −s_i / q` if `s_i < 0`, else 0,
/// so the strongest mimic scores +1 and the strongest reverser −1.
pub fn lamb_normalize(scores: &[f64]) -> Vec<f64> {
    let p = scores.iter().copied().fold(0.0f64, f64::max);
    let q = scores.iter().copied().fold(0.0f64, f64::min);
    scores
        .iter()
        .map(|&s| {
            if s > 0.0 {
                s / p
            } else if s < 0.0 {
                -s / q
            } else {
                0.0
            }
        })
        .collect()
}

/// Group index of each reference from the values of some metadata fields
/// (e.g. `cell_id` and `pert_type`); one group for all when `fields` is empty.
pub fn group_ids(meta: &MetaTable, fields: &[String], n: usize) -> Result<Vec<usize>> {
    if fields.is_empty() {
        return Ok(vec![0; n]);
    }
    let cols: Vec<&[String]> = fields
        .iter()
        .map(|f| {
            meta.field(f)
                .ok_or_else(|| ExprError::Invalid(format!("no metadata field '{f}' for grouping")))
        })
        .collect::<Result<_>>()?;
    let mut map: HashMap<Vec<&str>, usize> = HashMap::new();
    Ok((0..n)
        .map(|i| {
            let key: Vec<&str> = cols.iter().map(|c| c[i].as_str()).collect();
            let next = map.len();
            *map.entry(key).or_insert(next)
        })
        .collect())
}

/// Normalized connectivity score (NCS, Subramanian et al. 2017):
/// `NCS_r = WTCS_r / μ⁺_G` if `WTCS_r > 0`, `WTCS_r / μ⁻_G` if `WTCS_r < 0`,
/// where `G` is the group of reference `r`, `μ⁺_G` the mean of the positive
/// WTCS values of the group's references and `μ⁻_G` the mean absolute value of
/// its negative ones (for this query).
pub fn ncs(scores: &[f64], groups: &[usize]) -> Vec<f64> {
    let k = groups.iter().copied().max().map_or(0, |m| m + 1);
    let (mut pos, mut neg) = (vec![(0.0, 0usize); k], vec![(0.0, 0usize); k]);
    for (&s, &g) in scores.iter().zip(groups) {
        if s > 0.0 {
            pos[g].0 += s;
            pos[g].1 += 1;
        } else if s < 0.0 {
            neg[g].0 -= s;
            neg[g].1 += 1;
        }
    }
    scores
        .iter()
        .zip(groups)
        .map(|(&s, &g)| {
            if s > 0.0 {
                s / (pos[g].0 / pos[g].1 as f64)
            } else if s < 0.0 {
                s / (neg[g].0 / neg[g].1 as f64)
            } else {
                0.0
            }
        })
        .collect()
}

/// SplitMix64, a small seeded generator (Steele et al. 2014) for reproducible backgrounds.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator with the given seed.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform integer in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }

    /// Uniform float in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `count` random queries of `n_up` and `n_down` disjoint genes drawn
/// uniformly without replacement from `0..n_genes`.
pub fn random_queries(
    n_genes: usize,
    n_up: usize,
    n_down: usize,
    count: usize,
    seed: u64,
) -> Result<Vec<AlignedQuery>> {
    if n_up + n_down > n_genes {
        return Err(ExprError::Invalid(format!(
            "{n_up} + {n_down} genes out of {n_genes}"
        )));
    }
    let mut rng = SplitMix64::new(seed);
    let mut pool: Vec<usize> = (0..n_genes).collect();
    Ok((0..count)
        .map(|b| {
            for i in 0..n_up + n_down {
                let j = i + rng.below(n_genes - i);
                pool.swap(i, j);
            }
            AlignedQuery {
                name: format!("random_{b}"),
                up: pool[..n_up].to_vec(),
                down: pool[n_up..n_up + n_down].to_vec(),
                ..Default::default()
            }
        })
        .collect())
}

/// Tau (Subramanian et al. 2017, as reported by clue.io), computed offline:
/// `τ_r = sign(NCS_r) · 100 · #{b : |NCS_{b,r}| < |NCS_r|} / B`, where
/// `NCS_{b,r}` is the NCS of reference `r` for background query `b`
/// (`background[b][r]`, `B` queries). Ranges over −100…100.
pub fn tau(query_ncs: &[f64], background: &[Vec<f64>]) -> Vec<f64> {
    let b = background.len().max(1) as f64;
    query_ncs
        .iter()
        .enumerate()
        .map(|(r, &x)| {
            if x == 0.0 || background.is_empty() {
                return 0.0;
            }
            let below = background.iter().filter(|bg| bg[r].abs() < x.abs()).count() as f64;
            x.signum() * 100.0 * below / b
        })
        .collect()
}

/// Options of [`connect`].
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectOptions {
    /// Score parameters.
    pub params: ScoreParams,
    /// Group of each reference for NCS (all 0 for one group).
    pub groups: Vec<usize>,
    /// Number of random background queries for tau (0: no tau).
    pub tau_background: usize,
    /// Seed of the background queries.
    pub seed: u64,
}

/// Scores of one query against all references.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectivityTable {
    /// The score used.
    pub score: Score,
    /// Raw score per reference (WTCS, raw KS `s`, XSum, or a correlation).
    pub raw: Vec<f64>,
    /// NCS (WTCS) or Lamb's scaled score `S` (KS); `None` for the others.
    pub normalized: Option<Vec<f64>>,
    /// Tau (WTCS with a background only).
    pub tau: Option<Vec<f64>>,
}

/// Scores a query against all references and adds the normalizations
/// defined for the score: NCS and tau for WTCS (tau against random gene-set
/// queries of the query's up/down sizes, drawn with `seed`), Lamb's
/// scaling for KS.
pub fn connect(
    query: &AlignedQuery,
    refs: &RankedReferences,
    score: Score,
    opts: &ConnectOptions,
) -> Result<ConnectivityTable> {
    if opts.groups.len() != refs.len() {
        return Err(ExprError::Shape(format!(
            "{} groups for {} references",
            opts.groups.len(),
            refs.len()
        )));
    }
    let raw = score_references(query, refs, score, &opts.params)?;
    let (normalized, tau_values) = match score {
        Score::Wtcs => {
            let n = ncs(&raw, &opts.groups);
            let t = if opts.tau_background > 0 {
                let bg = random_queries(
                    refs.n_genes(),
                    query.up.len(),
                    query.down.len(),
                    opts.tau_background,
                    opts.seed,
                )?;
                let bg_ncs = bg
                    .iter()
                    .map(|q| {
                        score_references(q, refs, Score::Wtcs, &opts.params)
                            .map(|s| ncs(&s, &opts.groups))
                    })
                    .collect::<Result<Vec<_>>>()?;
                Some(tau(&n, &bg_ncs))
            } else {
                None
            };
            (Some(n), t)
        }
        Score::Ks => (Some(lamb_normalize(&raw)), None),
        _ => (None, None),
    };
    Ok(ConnectivityTable {
        score,
        raw,
        normalized,
        tau: tau_values,
    })
}
