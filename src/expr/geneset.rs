//! Gene sets: GMT and GRP files, up/down gene lists, and STARGEO disease
//! signatures (per-gene effect, p-value and `direction`).

use super::error::{ExprError, Result};
use super::textio::{next_line, open_text, parse_value};
use std::path::Path;

/// A named gene set (identifiers as written in the file).
#[derive(Debug, Clone, PartialEq)]
pub struct GeneSet {
    /// Set name.
    pub name: String,
    /// Description (second GMT column; empty for GRP).
    pub description: String,
    /// Gene identifiers.
    pub genes: Vec<String>,
}

/// A query made of up and down gene identifiers (not yet aligned).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GeneQuery {
    /// Query name.
    pub name: String,
    /// Up-regulated genes.
    pub up: Vec<String>,
    /// Down-regulated genes.
    pub down: Vec<String>,
}

/// Reads a GMT file: `name <tab> description <tab> gene…` per line.
pub fn read_gmt(path: &Path) -> Result<Vec<GeneSet>> {
    let mut reader = open_text(path)?;
    let (mut buf, mut line, mut out) = (String::new(), 0, Vec::new());
    while next_line(&mut *reader, &mut buf, &mut line, path)?.is_some() {
        if buf.trim().is_empty() || buf.starts_with('#') {
            continue;
        }
        let cells: Vec<&str> = buf.split('\t').collect();
        if cells.len() < 2 || cells[0].is_empty() {
            return Err(ExprError::parse(
                path,
                line,
                "a GMT line needs a name and a description",
            ));
        }
        out.push(GeneSet {
            name: cells[0].to_string(),
            description: cells[1].to_string(),
            genes: cells[2..]
                .iter()
                .map(|g| g.trim())
                .filter(|g| !g.is_empty())
                .map(str::to_string)
                .collect(),
        });
    }
    Ok(out)
}

/// Reads a GRP file: one gene per line, `#` comments; the set is named after the file.
pub fn read_grp(path: &Path) -> Result<GeneSet> {
    let mut reader = open_text(path)?;
    let (mut buf, mut line, mut genes) = (String::new(), 0, Vec::new());
    while next_line(&mut *reader, &mut buf, &mut line, path)?.is_some() {
        let g = buf.trim();
        if !g.is_empty() && !g.starts_with('#') {
            genes.push(g.to_string());
        }
    }
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    Ok(GeneSet {
        name,
        description: String::new(),
        genes,
    })
}

/// Pairs GMT sets named `<q>_up` and `<q>_dn` (or `_down`, case-insensitive)
/// into queries, in file order. A set without partner gives a one-sided query.
pub fn pair_up_down(sets: &[GeneSet]) -> Vec<GeneQuery> {
    let mut out: Vec<GeneQuery> = Vec::new();
    for s in sets {
        let (base, up) = if let Some(b) = strip_suffix_ignore_case(&s.name, "_up") {
            (b, true)
        } else if let Some(b) = strip_suffix_ignore_case(&s.name, "_dn")
            .or_else(|| strip_suffix_ignore_case(&s.name, "_down"))
        {
            (b, false)
        } else {
            (s.name.as_str(), true)
        };
        let idx = match out.iter().position(|q| q.name == base) {
            Some(i) => i,
            None => {
                out.push(GeneQuery {
                    name: base.to_string(),
                    ..Default::default()
                });
                out.len() - 1
            }
        };
        if up {
            out[idx].up.extend(s.genes.iter().cloned());
        } else {
            out[idx].down.extend(s.genes.iter().cloned());
        }
    }
    out
}

/// `name` without an ASCII `suffix` matched case-insensitively. (Lower-casing the whole name
/// first and slicing the original at the lower-cased length broke on characters whose
/// lower case has another UTF-8 length, such as the Kelvin sign.)
fn strip_suffix_ignore_case<'a>(name: &'a str, suffix: &str) -> Option<&'a str> {
    let cut = name.len().checked_sub(suffix.len())?;
    let tail = name.get(cut..)?;
    tail.eq_ignore_ascii_case(suffix).then(|| &name[..cut])
}

fn column(header: &[&str], names: &[&str]) -> Option<usize> {
    header
        .iter()
        .position(|h| names.iter().any(|n| h.eq_ignore_ascii_case(n)))
}

/// Reads an up/down gene list: a TSV with a gene column (`gene`, `entrez_gene_id`,
/// `symbol`, `id` or the first column) and a `direction` column (`up`/`down`,
/// also `+1`/`-1`). The query is named after the file.
pub fn read_up_down(path: &Path) -> Result<GeneQuery> {
    let mut reader = open_text(path)?;
    let (mut buf, mut line) = (String::new(), 0);
    if next_line(&mut *reader, &mut buf, &mut line, path)?.is_none() {
        return Err(ExprError::parse(path, 1, "empty file"));
    }
    let header: Vec<&str> = buf.split('\t').collect();
    let dir = column(&header, &["direction"])
        .ok_or_else(|| ExprError::parse(path, 1, "no 'direction' column"))?;
    let gene = column(
        &header,
        &["gene", "entrez_gene_id", "entrez", "symbol", "id"],
    )
    .unwrap_or(0);
    let header_len = header.len();
    let name = path
        .file_name()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    let mut q = GeneQuery {
        name,
        ..Default::default()
    };
    while next_line(&mut *reader, &mut buf, &mut line, path)?.is_some() {
        if buf.trim().is_empty() {
            continue;
        }
        let cells: Vec<&str> = buf.split('\t').collect();
        if cells.len() != header_len {
            return Err(ExprError::parse(
                path,
                line,
                format!("{} fields, header has {header_len}", cells.len()),
            ));
        }
        let g = cells[gene].trim().to_string();
        match cells[dir].trim().to_lowercase().as_str() {
            "up" | "+1" | "1" | "+" => q.up.push(g),
            "down" | "dn" | "-1" | "-" => q.down.push(g),
            other => {
                return Err(ExprError::parse_at(
                    path,
                    line,
                    "direction",
                    format!("expected up or down, found '{other}'"),
                ));
            }
        }
    }
    Ok(q)
}

/// One gene of a STARGEO disease signature.
#[derive(Debug, Clone, PartialEq)]
pub struct DiseaseGene {
    /// Entrez id (`mygene_entrez`), or the symbol when the id is empty.
    pub id: String,
    /// Gene symbol (`mygene_sym`).
    pub symbol: String,
    /// Random-effects z statistic (`random_zscore`), the signature value.
    pub z: f64,
    /// Random-effects p-value (`random_pval`), the significance.
    pub pval: f64,
    /// `true` for `direction == up`.
    pub up: bool,
}

/// True when a TSV header looks like a STARGEO meta-analysis (`mygene_entrez` and `direction`).
pub fn is_stargeo_header(header: &str) -> bool {
    let cols: Vec<&str> = header.split('\t').collect();
    cols.contains(&"mygene_entrez") && cols.contains(&"direction")
}

/// Reads a STARGEO disease signature (`diseases/*.tsv.gz`): columns
/// `mygene_sym`, `mygene_entrez`, `random_zscore`, `random_pval`, `direction`.
/// Rows with a missing p-value or z are skipped.
pub fn read_stargeo(path: &Path) -> Result<Vec<DiseaseGene>> {
    let mut reader = open_text(path)?;
    let (mut buf, mut line) = (String::new(), 0);
    if next_line(&mut *reader, &mut buf, &mut line, path)?.is_none() {
        return Err(ExprError::parse(path, 1, "empty file"));
    }
    let header: Vec<&str> = buf.split('\t').collect();
    let need = |n: &str| {
        column(&header, &[n]).ok_or_else(|| ExprError::parse_at(path, 1, n, "missing column"))
    };
    let (sym, ent, z, p, dir) = (
        need("mygene_sym")?,
        need("mygene_entrez")?,
        need("random_zscore")?,
        need("random_pval")?,
        need("direction")?,
    );
    let width = header.len();
    let mut out = Vec::new();
    while next_line(&mut *reader, &mut buf, &mut line, path)?.is_some() {
        let cells: Vec<&str> = buf.split('\t').collect();
        if cells.len() != width {
            return Err(ExprError::parse(
                path,
                line,
                format!("{} fields, header has {width}", cells.len()),
            ));
        }
        let zv = parse_value(cells[z], path, line, "random_zscore")?;
        let pv = parse_value(cells[p], path, line, "random_pval")?;
        if zv.is_nan() || pv.is_nan() {
            continue;
        }
        let up = match cells[dir].trim() {
            "up" => true,
            "down" => false,
            other => {
                return Err(ExprError::parse_at(
                    path,
                    line,
                    "direction",
                    format!("expected up or down, found '{other}'"),
                ));
            }
        };
        let symbol = cells[sym].trim().to_string();
        let id = if cells[ent].trim().is_empty() {
            symbol.clone()
        } else {
            cells[ent].trim().to_string()
        };
        out.push(DiseaseGene {
            id,
            symbol,
            z: zv,
            pval: pv,
            up,
        });
    }
    Ok(out)
}

/// The `n` most significant up and `n` most significant down genes of a disease
/// signature (smallest p-value first, ties by larger |z|), restricted to genes
/// accepted by `keep` (e.g. genes measured in the reference).
pub fn disease_query(
    name: &str,
    genes: &[DiseaseGene],
    n: usize,
    keep: impl Fn(&DiseaseGene) -> bool,
) -> GeneQuery {
    let mut order: Vec<&DiseaseGene> = genes.iter().filter(|g| keep(g)).collect();
    order.sort_by(|a, b| {
        a.pval
            .total_cmp(&b.pval)
            .then(b.z.abs().total_cmp(&a.z.abs()))
    });
    GeneQuery {
        name: name.to_string(),
        up: order
            .iter()
            .filter(|g| g.up)
            .take(n)
            .map(|g| g.id.clone())
            .collect(),
        down: order
            .iter()
            .filter(|g| !g.up)
            .take(n)
            .map(|g| g.id.clone())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(name: &str) -> GeneSet {
        GeneSet {
            name: name.into(),
            description: String::new(),
            genes: vec![name.into()],
        }
    }

    /// Found by the fuzz campaign (`tests/fuzz.rs`, `gmt`): a set named `\u{212a}q_up`
    /// (Kelvin sign, 3 bytes, lower case `k`, 1 byte) panicked slicing the name inside a
    /// character; `\u{130}` (İ, 2 bytes, lower case 3 bytes) sliced past the base.
    #[test]
    fn up_down_pairing_keeps_non_ascii_names_whole() {
        let q = pair_up_down(&[
            set("\u{212a}q_up"),
            set("\u{212a}q_DN"),
            set("\u{130}x_Down"),
        ]);
        assert_eq!(q.len(), 2);
        assert_eq!(q[0].name, "\u{212a}q");
        assert_eq!((q[0].up.len(), q[0].down.len()), (1, 1));
        assert_eq!(q[1].name, "\u{130}x");
        assert_eq!(q[1].down, ["\u{130}x_Down"]);
        assert_eq!(pair_up_down(&[set("up")])[0].name, "up");
    }
}
