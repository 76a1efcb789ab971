//! Signatures (vectors over a gene space) and signature matrices, with the
//! CMap normalizations: z-scores, robust z-scores, MODZ consensus, ranks and
//! up/down gene sets.

use super::error::{ExprError, Result};
use super::genespace::GeneSpace;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A table of string metadata: named fields, one value per item (gene or signature).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetaTable {
    /// Field names, in order.
    pub fields: Vec<String>,
    /// `values[f][i]`: value of field `f` for item `i`.
    pub values: Vec<Vec<String>>,
}

impl MetaTable {
    /// An empty table for `n` items (no fields).
    pub fn empty() -> Self {
        Self::default()
    }

    /// Values of a field, if present.
    pub fn field(&self, name: &str) -> Option<&[String]> {
        self.fields
            .iter()
            .position(|f| f == name)
            .map(|i| self.values[i].as_slice())
    }

    /// Adds a field; `values` must have one entry per item (checked against existing fields).
    pub fn push_field(&mut self, name: &str, values: Vec<String>) -> Result<()> {
        if let Some(first) = self.values.first()
            && first.len() != values.len()
        {
            return Err(ExprError::Shape(format!(
                "metadata field '{name}' has {} values, expected {}",
                values.len(),
                first.len()
            )));
        }
        self.fields.push(name.to_string());
        self.values.push(values);
        Ok(())
    }

    /// The metadata of item `i` as a map.
    pub fn item(&self, i: usize) -> BTreeMap<String, String> {
        self.fields
            .iter()
            .zip(&self.values)
            .filter_map(|(f, v)| v.get(i).map(|x| (f.clone(), x.clone())))
            .collect()
    }

    /// The same table with its fields in alphabetical order (the order in
    /// which GCTX files list them).
    pub fn sorted(&self) -> MetaTable {
        let mut idx: Vec<usize> = (0..self.fields.len()).collect();
        idx.sort_by(|&a, &b| self.fields[a].cmp(&self.fields[b]));
        MetaTable {
            fields: idx.iter().map(|&i| self.fields[i].clone()).collect(),
            values: idx.iter().map(|&i| self.values[i].clone()).collect(),
        }
    }

    /// Keeps only the items at `idx`, in that order.
    pub fn select(&self, idx: &[usize]) -> MetaTable {
        MetaTable {
            fields: self.fields.clone(),
            values: self
                .values
                .iter()
                .map(|v| idx.iter().map(|&i| v[i].clone()).collect())
                .collect(),
        }
    }
}

/// One signature: a named vector of values over a [`GeneSpace`], with metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct Signature {
    /// Signature identifier (e.g. a DrugBank id or a CMap `sig_id`).
    pub id: String,
    /// The genes the values refer to.
    pub genes: Arc<GeneSpace>,
    /// One value per gene (NaN = missing).
    pub values: Vec<f64>,
    /// Free-form metadata (field → value).
    pub meta: BTreeMap<String, String>,
}

/// Many signatures over one gene space: genes × signatures, stored
/// contiguously per signature (`data[s * n_genes + g]`).
#[derive(Debug, Clone, PartialEq)]
pub struct SignatureMatrix {
    /// The genes (rows).
    pub genes: Arc<GeneSpace>,
    /// Per-gene metadata (GCT row metadata).
    pub gene_meta: MetaTable,
    /// Signature identifiers (columns).
    pub ids: Vec<String>,
    /// Per-signature metadata (GCT column metadata).
    pub meta: MetaTable,
    /// Values, `n_signatures × n_genes`, one signature after another.
    pub data: Vec<f64>,
}

impl SignatureMatrix {
    /// Builds a matrix, checking shapes and id uniqueness.
    pub fn new(
        genes: Arc<GeneSpace>,
        ids: Vec<String>,
        data: Vec<f64>,
        gene_meta: MetaTable,
        meta: MetaTable,
    ) -> Result<Self> {
        if data.len() != genes.len() * ids.len() {
            return Err(ExprError::Shape(format!(
                "{} values for {} genes × {} signatures",
                data.len(),
                genes.len(),
                ids.len()
            )));
        }
        let mut seen = std::collections::HashSet::new();
        for id in &ids {
            if !seen.insert(id.as_str()) {
                return Err(ExprError::Invalid(format!("duplicate signature id '{id}'")));
            }
        }
        for (what, table, n) in [
            ("gene", &gene_meta, genes.len()),
            ("signature", &meta, ids.len()),
        ] {
            if table.values.iter().any(|v| v.len() != n) {
                return Err(ExprError::Shape(format!(
                    "{what} metadata does not have {n} values per field"
                )));
            }
        }
        Ok(SignatureMatrix {
            genes,
            gene_meta,
            ids,
            meta,
            data,
        })
    }

    /// Number of genes.
    pub fn n_genes(&self) -> usize {
        self.genes.len()
    }

    /// Number of signatures.
    pub fn n_signatures(&self) -> usize {
        self.ids.len()
    }

    /// The values of signature `s`.
    pub fn column(&self, s: usize) -> &[f64] {
        let n = self.n_genes();
        &self.data[s * n..(s + 1) * n]
    }

    /// Index of a signature id.
    pub fn position(&self, id: &str) -> Option<usize> {
        self.ids.iter().position(|x| x == id)
    }

    /// Signature `s` as a standalone [`Signature`].
    pub fn signature(&self, s: usize) -> Signature {
        Signature {
            id: self.ids[s].clone(),
            genes: self.genes.clone(),
            values: self.column(s).to_vec(),
            meta: self.meta.item(s),
        }
    }

    /// Standardizes every gene across signatures (CMap level 4 uses the robust form):
    /// `z = (x − mean) / sd` or, with `robust`, `z = (x − median) / (1.4826 · MAD)`.
    /// Genes with zero spread get 0. NaNs are ignored in the statistics and kept.
    pub fn zscore_genes(&mut self, robust: bool) {
        let (n, m) = (self.n_genes(), self.n_signatures());
        let mut row = Vec::with_capacity(m);
        for g in 0..n {
            row.clear();
            row.extend((0..m).map(|s| self.data[s * n + g]));
            let (center, scale) = center_scale(&row, robust);
            for s in 0..m {
                let x = &mut self.data[s * n + g];
                *x = standardize(*x, center, scale);
            }
        }
    }
}

fn standardize(x: f64, center: f64, scale: f64) -> f64 {
    if x.is_nan() {
        x
    } else if scale > 0.0 && scale.is_finite() {
        (x - center) / scale
    } else {
        0.0
    }
}

/// Median of the finite values (NaN if none).
pub fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let k = v.len();
    if k % 2 == 1 {
        v[k / 2]
    } else {
        0.5 * (v[k / 2 - 1] + v[k / 2])
    }
}

fn center_scale(values: &[f64], robust: bool) -> (f64, f64) {
    let finite: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if finite.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    if robust {
        let med = median(&finite);
        let dev: Vec<f64> = finite.iter().map(|x| (x - med).abs()).collect();
        (med, 1.4826 * median(&dev))
    } else {
        let k = finite.len() as f64;
        let mean = finite.iter().sum::<f64>() / k;
        let var = if finite.len() > 1 {
            finite.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (k - 1.0)
        } else {
            0.0
        };
        (mean, var.sqrt())
    }
}

/// z-score of a vector: `z_i = (x_i − mean) / sd` (sample sd, n − 1).
/// A constant vector gives zeros; NaNs stay NaN.
pub fn zscore(values: &[f64]) -> Vec<f64> {
    let (c, s) = center_scale(values, false);
    values.iter().map(|&x| standardize(x, c, s)).collect()
}

/// Robust z-score: `z_i = (x_i − median) / (1.4826 · MAD)`, MAD = median |x − median|
/// (the scaling makes it consistent with the sd for normal data; CMap level 4).
/// Zero MAD gives zeros; NaNs stay NaN.
pub fn robust_zscore(values: &[f64]) -> Vec<f64> {
    let (c, s) = center_scale(values, true);
    values.iter().map(|&x| standardize(x, c, s)).collect()
}

/// Ascending ranks, 1-based, ties given their average rank (midranks).
/// NaNs are ranked last (after all numbers).
pub fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| nan_last(values[a], values[b]));
    let mut out = vec![0.0; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i + 1;
        while j < order.len() && nan_last(values[order[i]], values[order[j]]).is_eq() {
            j += 1;
        }
        let r = (i + j + 1) as f64 / 2.0;
        for &k in &order[i..j] {
            out[k] = r;
        }
        i = j;
    }
    out
}

fn nan_last(a: f64, b: f64) -> std::cmp::Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Greater,
        (false, true) => std::cmp::Ordering::Less,
        _ => a.total_cmp(&b),
    }
}

/// Pearson correlation `Σ(x−x̄)(y−ȳ) / sqrt(Σ(x−x̄)² Σ(y−ȳ)²)` over the
/// positions where both are finite; 0 if either side is constant.
pub fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let pairs: Vec<(f64, f64)> = x
        .iter()
        .zip(y)
        .filter(|(a, b)| a.is_finite() && b.is_finite())
        .map(|(&a, &b)| (a, b))
        .collect();
    if pairs.len() < 2 {
        return 0.0;
    }
    let n = pairs.len() as f64;
    let mx = pairs.iter().map(|p| p.0).sum::<f64>() / n;
    let my = pairs.iter().map(|p| p.1).sum::<f64>() / n;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in pairs {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx).powi(2);
        syy += (b - my).powi(2);
    }
    if sxx <= 0.0 || syy <= 0.0 {
        0.0
    } else {
        sxy / (sxx * syy).sqrt()
    }
}

/// Spearman correlation: Pearson correlation of the midranks of `x` and `y`.
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    pearson(&ranks(x), &ranks(y))
}

/// MODZ consensus of replicate signatures (CMap level 5, Subramanian et al. 2017).
///
/// With `R` the Spearman correlation matrix of the `k` replicates,
/// `w_i = max(Σ_{j≠i} R_ij, 0.01)`, normalized to `Σ w_i = 1`, the consensus is
/// `c_g = Σ_i w_i z_{i,g} / sqrt(Σ_i w_i²)`. One replicate is returned unchanged.
/// Returns the consensus and the weights.
pub fn modz(replicates: &[&[f64]]) -> Result<(Vec<f64>, Vec<f64>)> {
    let k = replicates.len();
    let Some(first) = replicates.first() else {
        return Err(ExprError::Invalid("MODZ of zero replicates".into()));
    };
    let n = first.len();
    if replicates.iter().any(|r| r.len() != n) {
        return Err(ExprError::Shape("replicates of different lengths".into()));
    }
    if k == 1 {
        return Ok((first.to_vec(), vec![1.0]));
    }
    let rk: Vec<Vec<f64>> = replicates.iter().map(|r| ranks(r)).collect();
    let mut w = vec![0.0; k];
    for i in 0..k {
        for j in (i + 1)..k {
            let r = pearson(&rk[i], &rk[j]);
            w[i] += r;
            w[j] += r;
        }
    }
    for x in &mut w {
        *x = x.max(0.01);
    }
    let total: f64 = w.iter().sum();
    for x in &mut w {
        *x /= total;
    }
    let norm = w.iter().map(|x| x * x).sum::<f64>().sqrt();
    let consensus = (0..n)
        .map(|g| {
            replicates
                .iter()
                .zip(&w)
                .map(|(r, wi)| wi * r[g])
                .sum::<f64>()
                / norm
        })
        .collect();
    Ok((consensus, w))
}

/// Up and down gene sets, as indices into a gene space.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UpDown {
    /// Genes up-regulated (largest values first when derived from a signature).
    pub up: Vec<usize>,
    /// Genes down-regulated (most negative first when derived from a signature).
    pub down: Vec<usize>,
}

impl UpDown {
    /// The same sets with up and down swapped.
    pub fn reversed(&self) -> UpDown {
        UpDown {
            up: self.down.clone(),
            down: self.up.clone(),
        }
    }
}

/// The `n` largest values as the up set and the `n` smallest as the down
/// set (only positive values can be up and only negative values down;
/// NaNs are skipped; ties broken by gene order).
pub fn top_bottom(values: &[f64], n: usize) -> UpDown {
    let mut order: Vec<usize> = (0..values.len())
        .filter(|&i| values[i].is_finite())
        .collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]).then(a.cmp(&b)));
    let up = order
        .iter()
        .copied()
        .filter(|&i| values[i] > 0.0)
        .take(n)
        .collect();
    let down = order
        .iter()
        .rev()
        .copied()
        .filter(|&i| values[i] < 0.0)
        .take(n)
        .collect();
    UpDown { up, down }
}

/// Thresholded sets: up = genes with value ≥ `threshold`, down = value ≤ −`threshold`,
/// each ordered from the most extreme.
pub fn threshold_sets(values: &[f64], threshold: f64) -> UpDown {
    let all = top_bottom(values, values.len());
    UpDown {
        up: all
            .up
            .into_iter()
            .filter(|&i| values[i] >= threshold)
            .collect(),
        down: all
            .down
            .into_iter()
            .filter(|&i| values[i] <= -threshold)
            .collect(),
    }
}
