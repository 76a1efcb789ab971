//! Plain delimited matrices (TSV or CSV, optionally `.gz`).
//!
//! [`Layout::Rows`] (default): one signature per row, its id in the first
//! column, genes as the other column headers (e.g. `consensi-drugbank.tsv.gz`).
//! [`Layout::Columns`]: the transpose, one gene per row, signatures as columns.
//! The delimiter is `,` for `.csv[.gz]`, tab otherwise.

use super::error::{ExprError, Result};
use super::genespace::GeneSpace;
use super::signature::{MetaTable, SignatureMatrix};
use super::textio::{
    base_name, create_text, format_value, next_line, open_text, parse_value, werr,
};
use std::collections::HashSet;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

/// Orientation of a delimited matrix file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    /// One signature per row (genes are columns).
    #[default]
    Rows,
    /// One gene per row (signatures are columns).
    Columns,
}

fn delimiter(path: &Path) -> char {
    if base_name(path).ends_with(".csv") {
        ','
    } else {
        '\t'
    }
}

/// Reads a delimited matrix.
pub fn read_matrix(path: &Path, layout: Layout) -> Result<SignatureMatrix> {
    let delim = delimiter(path);
    let mut reader = open_text(path)?;
    let mut buf = String::new();
    let mut line = 0;
    if next_line(&mut *reader, &mut buf, &mut line, path)?.is_none() {
        return Err(ExprError::parse(path, 1, "empty file"));
    }
    let header: Vec<String> = buf.split(delim).map(|s| s.trim().to_string()).collect();
    if header.len() < 2 {
        return Err(ExprError::parse(
            path,
            line,
            "header needs an id column and at least one data column",
        ));
    }
    let cols: Vec<String> = header[1..].to_vec();
    let mut seen = HashSet::new();
    for c in &cols {
        if !seen.insert(c.as_str()) {
            return Err(ExprError::DuplicateId {
                path: path.into(),
                line,
                id: c.clone(),
            });
        }
    }
    let mut row_ids = Vec::new();
    let mut seen_rows = HashSet::new();
    let mut values: Vec<f64> = Vec::new();
    while next_line(&mut *reader, &mut buf, &mut line, path)?.is_some() {
        if buf.trim().is_empty() {
            continue;
        }
        let cells: Vec<&str> = buf.split(delim).collect();
        if cells.len() != header.len() {
            return Err(ExprError::parse(
                path,
                line,
                format!("{} fields, header has {}", cells.len(), header.len()),
            ));
        }
        let id = cells[0].trim().to_string();
        if !seen_rows.insert(id.clone()) {
            return Err(ExprError::DuplicateId {
                path: path.into(),
                line,
                id,
            });
        }
        for (c, cell) in cells[1..].iter().enumerate() {
            values.push(parse_value(cell, path, line, &cols[c])?);
        }
        row_ids.push(id);
    }
    let (gene_ids, sig_ids, data) = match layout {
        Layout::Rows => (cols, row_ids, values),
        Layout::Columns => {
            let (nr, nc) = (row_ids.len(), cols.len());
            let mut t = vec![0.0; nr * nc];
            for r in 0..nr {
                for c in 0..nc {
                    t[c * nr + r] = values[r * nc + c];
                }
            }
            (row_ids, cols, t)
        }
    };
    let genes = GeneSpace::new(gene_ids).map_err(|e| ExprError::parse(path, 1, e.to_string()))?;
    SignatureMatrix::new(
        Arc::new(genes),
        sig_ids,
        data,
        MetaTable::empty(),
        MetaTable::empty(),
    )
}

/// Writes a delimited matrix (metadata is not written).
pub fn write_matrix(m: &SignatureMatrix, path: &Path, layout: Layout) -> Result<()> {
    let d = delimiter(path);
    let mut w = create_text(path)?;
    let e = werr(path);
    let (n, c) = (m.n_genes(), m.n_signatures());
    match layout {
        Layout::Rows => {
            write!(w, "id").map_err(&e)?;
            for g in m.genes.ids() {
                write!(w, "{d}{g}").map_err(&e)?;
            }
            writeln!(w).map_err(&e)?;
            for s in 0..c {
                write!(w, "{}", m.ids[s]).map_err(&e)?;
                for v in m.column(s) {
                    write!(w, "{d}{}", format_value(*v)).map_err(&e)?;
                }
                writeln!(w).map_err(&e)?;
            }
        }
        Layout::Columns => {
            write!(w, "id").map_err(&e)?;
            for id in &m.ids {
                write!(w, "{d}{id}").map_err(&e)?;
            }
            writeln!(w).map_err(&e)?;
            for (g, gid) in m.genes.ids().iter().enumerate() {
                write!(w, "{gid}").map_err(&e)?;
                for s in 0..c {
                    write!(w, "{d}{}", format_value(m.data[s * n + g])).map_err(&e)?;
                }
                writeln!(w).map_err(&e)?;
            }
        }
    }
    w.flush().map_err(&e)
}

/// Reads any supported signature file by its extension: `.gct`, `.gctx`,
/// otherwise a delimited matrix with the given layout.
pub fn read_signatures(path: &Path, layout: Layout) -> Result<SignatureMatrix> {
    let name = base_name(path);
    if name.ends_with(".gctx") {
        super::gctx::read_gctx(path)
    } else if name.ends_with(".gct") {
        super::gct::read_gct(path)
    } else {
        read_matrix(path, layout)
    }
}
