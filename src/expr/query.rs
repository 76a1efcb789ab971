//! Loading a connectivity query from a file of any supported kind and
//! aligning it to the reference genes.

use super::connectivity::AlignedQuery;
use super::error::{ExprError, Result};
use super::geneset::{
    DiseaseGene, GeneQuery, disease_query, is_stargeo_header, pair_up_down, read_gmt, read_stargeo,
    read_up_down,
};
use super::genespace::{GeneSpace, GeneTable};
use super::matrix::{Layout, read_signatures};
use super::signature::SignatureMatrix;
use super::textio::{base_name, next_line, open_text};
use std::path::Path;

/// A query as read from a file, before alignment.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryInput {
    /// Up/down gene sets (GMT `_up`/`_dn` pair, or an up/down TSV).
    Genes(GeneQuery),
    /// A full signature (one column of a GCT/GCTX/matrix file).
    Signature {
        /// Signature id.
        name: String,
        /// Gene ids.
        ids: Vec<String>,
        /// Values.
        values: Vec<f64>,
    },
    /// A STARGEO disease signature.
    Disease {
        /// Query name (file stem).
        name: String,
        /// Per-gene statistics.
        genes: Vec<DiseaseGene>,
    },
}

/// Reads a query file: `.gmt` (sets `<name>_up`/`<name>_dn`), a STARGEO
/// disease TSV (`mygene_entrez` and `direction` columns), an up/down TSV
/// (`direction` column), a two-column table of one value per gene
/// (`gene<TAB>logFC`, read as one signature named by its value column), or a
/// signature file (`.gct`, `.gctx`, matrix).
/// `name` selects a query/signature when the file holds several (default:
/// the first, or an error for several GMT queries).
pub fn read_query(path: &Path, name: Option<&str>, layout: Layout) -> Result<QueryInput> {
    let base = base_name(path);
    if base.ends_with(".gmt") {
        let queries = pair_up_down(&read_gmt(path)?);
        let q = match name {
            Some(n) => queries.into_iter().find(|q| q.name == n).ok_or_else(|| {
                ExprError::Invalid(format!("{}: no query named '{n}'", path.display()))
            })?,
            None if queries.len() == 1 => queries
                .into_iter()
                .next()
                .ok_or_else(|| ExprError::Invalid("empty GMT".into()))?,
            None => {
                let names: Vec<&str> = queries.iter().map(|q| q.name.as_str()).collect();
                return Err(ExprError::Invalid(format!(
                    "{}: {} queries ({}); choose one by name",
                    path.display(),
                    names.len(),
                    names.join(", ")
                )));
            }
        };
        return Ok(QueryInput::Genes(q));
    }
    if !base.ends_with(".gct") && !base.ends_with(".gctx") {
        let mut reader = open_text(path)?;
        let (mut buf, mut line) = (String::new(), 0);
        next_line(&mut *reader, &mut buf, &mut line, path)?;
        if is_stargeo_header(&buf) {
            let file = path
                .file_name()
                .map(|f| f.to_string_lossy().to_string())
                .unwrap_or_default();
            let stem = file.split('.').next().unwrap_or_default().to_string();
            return Ok(QueryInput::Disease {
                name: stem,
                genes: read_stargeo(path)?,
            });
        }
        if buf.split('\t').any(|h| h.eq_ignore_ascii_case("direction")) {
            return Ok(QueryInput::Genes(read_up_down(path)?));
        }
        let delimiter = if base.ends_with(".csv") { ',' } else { '\t' };
        if layout == Layout::Rows && is_gene_value_header(&buf, delimiter) {
            // `gene<TAB>logFC`: one signature with a gene per row. Read as rows, its genes
            // would become signature names of one value each.
            return signature_query(path, read_signatures(path, Layout::Columns)?, name);
        }
    }
    signature_query(path, read_signatures(path, layout)?, name)
}

/// True for a two-column header (`gene<TAB>logFC`, `symbol,score`): a table of one value per
/// gene, whatever the layout flag says (a one-gene-per-signature matrix is never meant).
fn is_gene_value_header(header: &str, delimiter: char) -> bool {
    header
        .trim_end_matches(['\r', '\n'])
        .split(delimiter)
        .count()
        == 2
}

/// The signature called `name` (default: the first) of a signature file, as a query.
fn signature_query(path: &Path, m: SignatureMatrix, name: Option<&str>) -> Result<QueryInput> {
    let s = match name {
        Some(n) => m
            .position(n)
            .ok_or_else(|| ExprError::Invalid(format!("{}: no signature '{n}'", path.display())))?,
        None if m.n_signatures() > 0 => 0,
        None => {
            return Err(ExprError::Invalid(format!(
                "{}: no signature",
                path.display()
            )));
        }
    };
    Ok(QueryInput::Signature {
        name: m.ids[s].clone(),
        ids: m.genes.ids().to_vec(),
        values: m.column(s).to_vec(),
    })
}

/// Aligns a query to the reference genes. Signature and disease queries get
/// up/down sets of their `n_genes` most extreme (disease: most significant)
/// matched genes and keep their values for the correlation scores.
pub fn align_query(
    input: &QueryInput,
    genes: &GeneSpace,
    table: Option<&GeneTable>,
    n_genes: usize,
) -> Result<AlignedQuery> {
    match input {
        QueryInput::Genes(q) => {
            let aligned = AlignedQuery::from_gene_query(q, genes, table);
            let ids: Vec<String> = q.up.iter().chain(&q.down).cloned().collect();
            require_matches(aligned, &ids, genes)
        }
        QueryInput::Signature { name, ids, values } => require_matches(
            AlignedQuery::from_signature(name, ids, values, n_genes, genes, table)?,
            ids,
            genes,
        ),
        QueryInput::Disease { name, genes: dg } => {
            // use the symbol as id where the Entrez id does not match but the symbol does
            let dg: Vec<DiseaseGene> = dg
                .iter()
                .map(|g| {
                    let mut g = g.clone();
                    if genes.lookup(&g.id, table).is_none()
                        && genes.lookup(&g.symbol, table).is_some()
                    {
                        g.id = g.symbol.clone();
                    }
                    g
                })
                .collect();
            let q = disease_query(name, &dg, n_genes, |g| genes.lookup(&g.id, table).is_some());
            let mut aligned = AlignedQuery::from_gene_query(&q, genes, table);
            let ids: Vec<String> = dg.iter().map(|g| g.id.clone()).collect();
            let al = genes.align(&ids, table);
            let mut seen = std::collections::HashSet::new();
            let (mut idx, mut vals) = (Vec::new(), Vec::new());
            for (g, p) in dg.iter().zip(&al.positions) {
                if let Some(i) = *p
                    && seen.insert(i)
                {
                    idx.push(i);
                    vals.push(g.z);
                }
            }
            aligned.signature = Some((idx, vals));
            // report matching of the whole disease signature against the reference
            aligned.alignment = Some(al);
            require_matches(aligned, &ids, genes)
        }
    }
}

/// The query as aligned, or [`ExprError::NoGeneMatched`] when none of its genes (`ids`) is
/// in the reference: a ranking from zero genes would be noise presented as a result.
fn require_matches(
    aligned: AlignedQuery,
    ids: &[String],
    genes: &GeneSpace,
) -> Result<AlignedQuery> {
    let usable_signature = aligned
        .signature
        .as_ref()
        .is_some_and(|(idx, _)| !idx.is_empty());
    if !aligned.up.is_empty() || !aligned.down.is_empty() || usable_signature {
        return Ok(aligned);
    }
    Err(ExprError::NoGeneMatched {
        query: aligned.name,
        n_looked_for: ids.len(),
        looked_for: first_few(ids),
        n_reference: genes.len(),
        reference_examples: first_few(genes.ids()),
    })
}

/// Up to five identifiers, comma-separated, with "…" when there are more.
fn first_few(ids: &[String]) -> String {
    let shown: Vec<&str> = ids.iter().take(5).map(String::as_str).collect();
    let more = if ids.len() > shown.len() { ", …" } else { "" };
    if shown.is_empty() {
        "(none)".to_string()
    } else {
        format!("{}{more}", shown.join(", "))
    }
}
