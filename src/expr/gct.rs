//! GCT text matrices, versions 1.2 and 1.3 (Broad Institute format, as used by CMap).
//!
//! Version 1.3 layout:
//! ```text
//! #1.3
//! <n_rows> <n_cols> <n_row_meta> <n_col_meta>
//! id <row meta fields…> <column ids…>
//! <col field> na… <values…>        (n_col_meta lines)
//! <row id> <row meta values…> <numbers…>   (n_rows lines)
//! ```
//! Version 1.2 has `<n_rows> <n_cols>`, a header `Name Description <ids…>`,
//! and no column metadata; the description is kept as row metadata field
//! `Description`. Rows are genes, columns signatures.

use super::error::{ExprError, Result};
use super::genespace::GeneSpace;
use super::signature::{MetaTable, SignatureMatrix};
use super::textio::{create_text, format_value, next_line, open_text, parse_value, werr};
use std::collections::HashSet;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

/// GCT version to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GctVersion {
    /// `#1.2`: ids, one description column, values.
    V1_2,
    /// `#1.3`: row and column metadata.
    V1_3,
}

fn dims(buf: &str, path: &Path, line: usize, want: usize) -> Result<Vec<usize>> {
    let parts: Vec<&str> = buf.split(['\t', ' ']).filter(|s| !s.is_empty()).collect();
    if parts.len() != want {
        return Err(ExprError::parse(
            path,
            line,
            format!(
                "dimensions line must have {want} integers, found {}",
                parts.len()
            ),
        ));
    }
    parts
        .iter()
        .map(|p| {
            p.parse::<usize>().map_err(|_| {
                ExprError::parse(
                    path,
                    line,
                    format!("dimension '{p}' is not a non-negative integer"),
                )
            })
        })
        .collect()
}

/// Reads a GCT 1.2 or 1.3 file (optionally `.gz`).
pub fn read_gct(path: &Path) -> Result<SignatureMatrix> {
    let mut reader = open_text(path)?;
    let mut buf = String::new();
    let mut line = 0;
    let mut next = |buf: &mut String, line: &mut usize, what: &str| -> Result<()> {
        match next_line(&mut *reader, buf, line, path)? {
            Some(()) => Ok(()),
            None => Err(ExprError::parse(
                path,
                *line + 1,
                format!("unexpected end of file, expected {what}"),
            )),
        }
    };
    next(&mut buf, &mut line, "version line")?;
    let version = match buf.trim() {
        "#1.2" => GctVersion::V1_2,
        "#1.3" => GctVersion::V1_3,
        other => {
            return Err(ExprError::parse(
                path,
                line,
                format!("unknown GCT version line '{other}'"),
            ));
        }
    };
    next(&mut buf, &mut line, "dimensions line")?;
    let (n_rows, n_cols, n_rmeta, n_cmeta) = match version {
        GctVersion::V1_2 => {
            let d = dims(&buf, path, line, 2)?;
            (d[0], d[1], 1, 0)
        }
        GctVersion::V1_3 => {
            let d = dims(&buf, path, line, 4)?;
            (d[0], d[1], d[2], d[3])
        }
    };
    next(&mut buf, &mut line, "header line")?;
    let header: Vec<String> = buf.split('\t').map(str::to_string).collect();
    // The header holds every column, so after this check `n_rmeta` and `n_cols` are bounded
    // by the file; `n_rows` is not, and nothing is allocated from it before its rows are read.
    if Some(header.len()) != n_rmeta.checked_add(n_cols).and_then(|n| n.checked_add(1)) {
        return Err(ExprError::parse(
            path,
            line,
            format!(
                "header has {} fields, dimensions say 1 + {n_rmeta} + {n_cols}",
                header.len()
            ),
        ));
    }
    let rfields: Vec<String> = match version {
        GctVersion::V1_2 => vec!["Description".to_string()],
        GctVersion::V1_3 => header[1..1 + n_rmeta].to_vec(),
    };
    let ids: Vec<String> = header[1 + n_rmeta..].to_vec();
    let mut seen = HashSet::new();
    for id in &ids {
        if !seen.insert(id.as_str()) {
            return Err(ExprError::DuplicateId {
                path: path.into(),
                line,
                id: id.clone(),
            });
        }
    }
    let width = 1 + n_rmeta + n_cols;
    let mut cmeta = MetaTable::empty();
    for _ in 0..n_cmeta {
        next(&mut buf, &mut line, "column metadata line")?;
        let cells: Vec<&str> = buf.split('\t').collect();
        if cells.len() != width {
            return Err(ExprError::parse(
                path,
                line,
                format!("{} fields, expected {width}", cells.len()),
            ));
        }
        cmeta.fields.push(cells[0].to_string());
        cmeta
            .values
            .push(cells[1 + n_rmeta..].iter().map(|s| s.to_string()).collect());
    }
    let mut gene_ids = Vec::new();
    let mut seen_genes = HashSet::new();
    let mut rvalues: Vec<Vec<String>> = vec![Vec::new(); n_rmeta];
    // Row-major as read; transposed to one signature after another once all rows are in.
    let mut by_row: Vec<f64> = Vec::new();
    for _ in 0..n_rows {
        next(&mut buf, &mut line, "data line")?;
        let cells: Vec<&str> = buf.split('\t').collect();
        if cells.len() != width {
            return Err(ExprError::parse(
                path,
                line,
                format!("{} fields, expected {width}", cells.len()),
            ));
        }
        let gid = cells[0].to_string();
        if !seen_genes.insert(gid.clone()) {
            return Err(ExprError::DuplicateId {
                path: path.into(),
                line,
                id: gid,
            });
        }
        for (f, v) in rvalues.iter_mut().enumerate() {
            v.push(cells[1 + f].to_string());
        }
        for (c, cell) in cells[1 + n_rmeta..].iter().enumerate() {
            by_row.push(parse_value(cell, path, line, &ids[c])?);
        }
        gene_ids.push(gid);
    }
    let mut data = vec![0.0; by_row.len()];
    for (i, v) in by_row.into_iter().enumerate() {
        let (r, c) = (i / n_cols, i % n_cols);
        data[c * n_rows + r] = v;
    }
    while next_line(&mut *reader, &mut buf, &mut line, path)?.is_some() {
        if !buf.trim().is_empty() {
            return Err(ExprError::parse(
                path,
                line,
                format!("more than the {n_rows} data lines announced"),
            ));
        }
    }
    let gene_meta = MetaTable {
        fields: rfields,
        values: rvalues,
    };
    let genes = GeneSpace::new(gene_ids).map_err(|e| ExprError::parse(path, 0, e.to_string()))?;
    SignatureMatrix::new(Arc::new(genes), ids, data, gene_meta, cmeta)
}

/// Writes a matrix as GCT (`.gz` compresses). Version 1.2 writes the row
/// metadata field `Description` (or empty descriptions) and drops column metadata.
pub fn write_gct(m: &SignatureMatrix, path: &Path, version: GctVersion) -> Result<()> {
    let mut w = create_text(path)?;
    let e = werr(path);
    let (n, c) = (m.n_genes(), m.n_signatures());
    let genes = m.genes.ids();
    match version {
        GctVersion::V1_2 => {
            let desc = m.gene_meta.field("Description");
            writeln!(w, "#1.2\n{n}\t{c}").map_err(&e)?;
            write!(w, "Name\tDescription").map_err(&e)?;
            for id in &m.ids {
                write!(w, "\t{id}").map_err(&e)?;
            }
            writeln!(w).map_err(&e)?;
            for g in 0..n {
                write!(
                    w,
                    "{}\t{}",
                    genes[g],
                    desc.map(|d| d[g].as_str()).unwrap_or("")
                )
                .map_err(&e)?;
                for s in 0..c {
                    write!(w, "\t{}", format_value(m.data[s * n + g])).map_err(&e)?;
                }
                writeln!(w).map_err(&e)?;
            }
        }
        GctVersion::V1_3 => {
            let (nr, nc) = (m.gene_meta.fields.len(), m.meta.fields.len());
            writeln!(w, "#1.3\n{n}\t{c}\t{nr}\t{nc}").map_err(&e)?;
            write!(w, "id").map_err(&e)?;
            for f in &m.gene_meta.fields {
                write!(w, "\t{f}").map_err(&e)?;
            }
            for id in &m.ids {
                write!(w, "\t{id}").map_err(&e)?;
            }
            writeln!(w).map_err(&e)?;
            for (f, vals) in m.meta.fields.iter().zip(&m.meta.values) {
                write!(w, "{f}").map_err(&e)?;
                for _ in 0..nr {
                    write!(w, "\tna").map_err(&e)?;
                }
                for v in vals {
                    write!(w, "\t{v}").map_err(&e)?;
                }
                writeln!(w).map_err(&e)?;
            }
            for g in 0..n {
                write!(w, "{}", genes[g]).map_err(&e)?;
                for vals in &m.gene_meta.values {
                    write!(w, "\t{}", vals[g]).map_err(&e)?;
                }
                for s in 0..c {
                    write!(w, "\t{}", format_value(m.data[s * n + g])).map_err(&e)?;
                }
                writeln!(w).map_err(&e)?;
            }
        }
    }
    w.flush().map_err(&e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<SignatureMatrix> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.gct");
        std::fs::write(&path, text).unwrap();
        read_gct(&path)
    }

    /// Found by the fuzz campaign (`tests/fuzz.rs`, `gct`): the dimensions line was trusted
    /// for allocation (`n_rows × n_cols` values and per-row capacity up front), so a huge row
    /// count aborted with a capacity overflow or an out-of-memory allocation, and a huge
    /// metadata count overflowed `1 + n_rmeta + n_cols`.
    #[test]
    fn huge_dimensions_are_an_error_not_an_allocation() {
        let err = read("#1.2\n99999999999999999\t2\nName\tDescription\tS1\tS2\ng1\td\t1\t2\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unexpected end of file"), "{err}");
        let err = read(&format!("#1.3\n1\t1\t{}\t0\nid\tS1\ng\t1\n", usize::MAX))
            .unwrap_err()
            .to_string();
        assert!(err.contains("header has 2 fields"), "{err}");
    }

    #[test]
    fn values_land_in_signature_order() {
        let m =
            read("#1.2\n3\t2\nName\tDescription\tS1\tS2\ng1\ta\t1\t2\ng2\tb\t3\t4\ng3\tc\t5\t6\n")
                .unwrap();
        assert_eq!(m.column(0), [1.0, 3.0, 5.0]);
        assert_eq!(m.column(1), [2.0, 4.0, 6.0]);
    }
}
