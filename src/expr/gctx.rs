//! GCTX: the HDF5 container of CMap matrices, with the layout cmapPy writes:
//!
//! ```text
//! /            attribute version = "GCTX1.0"
//! /0/DATA/0/matrix   float32, shape (n_signatures, n_genes): one signature per HDF5 row
//! /0/META/ROW/id     gene ids;  /0/META/ROW/<field>  row metadata
//! /0/META/COL/id     signature ids;  /0/META/COL/<field>  column metadata
//! ```
//! Metadata datasets may be fixed- or variable-length strings, integers or
//! floats; they are read as strings, fields in alphabetical order (HDF5 link order). This module writes variable-length
//! UTF-8 strings and a float32 matrix.

use super::error::{ExprError, Result};
use super::genespace::GeneSpace;
use super::signature::{MetaTable, SignatureMatrix};
use hdf5::types::{
    FixedAscii, FixedUnicode, FloatSize, TypeDescriptor, VarLenAscii, VarLenUnicode,
};
use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

const MATRIX: &str = "0/DATA/0/matrix";
const ROW: &str = "0/META/ROW";
const COL: &str = "0/META/COL";

fn h5err(path: &Path) -> impl Fn(hdf5::Error) -> ExprError + '_ {
    move |e| ExprError::Hdf5 {
        path: path.into(),
        message: e.to_string(),
    }
}

fn read_strings(ds: &hdf5::Dataset, path: &Path) -> Result<Vec<String>> {
    let e = h5err(path);
    let desc = ds.dtype().and_then(|t| t.to_descriptor()).map_err(&e)?;
    let too_long = |n: usize| ExprError::Hdf5 {
        path: path.into(),
        message: format!("{}: fixed strings of {n} bytes exceed 1024", ds.name()),
    };
    let out = match desc {
        TypeDescriptor::FixedAscii(n) => {
            if n > 1024 {
                return Err(too_long(n));
            }
            let v: Vec<FixedAscii<1024>> = ds.read_raw().map_err(&e)?;
            v.iter().map(|s| s.as_str().to_string()).collect()
        }
        TypeDescriptor::FixedUnicode(n) => {
            if n > 1024 {
                return Err(too_long(n));
            }
            let v: Vec<FixedUnicode<1024>> = ds.read_raw().map_err(&e)?;
            v.iter().map(|s| s.as_str().to_string()).collect()
        }
        TypeDescriptor::VarLenAscii => {
            let v: Vec<VarLenAscii> = ds.read_raw().map_err(&e)?;
            v.iter().map(|s| s.as_str().to_string()).collect()
        }
        TypeDescriptor::VarLenUnicode => {
            let v: Vec<VarLenUnicode> = ds.read_raw().map_err(&e)?;
            v.iter().map(|s| s.as_str().to_string()).collect()
        }
        TypeDescriptor::Integer(_) | TypeDescriptor::Unsigned(_) | TypeDescriptor::Boolean => {
            let v: Vec<i64> = ds.read_raw().map_err(&e)?;
            v.iter().map(|x| x.to_string()).collect()
        }
        TypeDescriptor::Float(_) => {
            let v: Vec<f64> = ds.read_raw().map_err(&e)?;
            v.iter().map(|x| x.to_string()).collect()
        }
        other => {
            return Err(ExprError::Hdf5 {
                path: path.into(),
                message: format!("{}: unsupported metadata type {other}", ds.name()),
            });
        }
    };
    Ok(out)
}

fn read_meta(
    file: &hdf5::File,
    group: &str,
    n: usize,
    path: &Path,
) -> Result<(Vec<String>, MetaTable)> {
    let e = h5err(path);
    let g = file.group(group).map_err(&e)?;
    let ids = read_strings(&g.dataset("id").map_err(&e)?, path)?;
    if ids.len() != n {
        return Err(ExprError::Hdf5 {
            path: path.into(),
            message: format!("{group}/id has {} entries, matrix says {n}", ids.len()),
        });
    }
    let mut seen = HashSet::new();
    for id in &ids {
        if !seen.insert(id.as_str()) {
            return Err(ExprError::DuplicateId {
                path: path.into(),
                line: 0,
                id: id.clone(),
            });
        }
    }
    let mut meta = MetaTable::empty();
    let mut names = g.member_names().map_err(&e)?;
    names.sort();
    for name in names.into_iter().filter(|n| n != "id") {
        let Ok(ds) = g.dataset(&name) else { continue };
        let vals = read_strings(&ds, path)?;
        if vals.len() != n {
            return Err(ExprError::Hdf5 {
                path: path.into(),
                message: format!("{group}/{name} has {} entries, expected {n}", vals.len()),
            });
        }
        meta.fields.push(name);
        meta.values.push(vals);
    }
    Ok((ids, meta))
}

/// Reads a GCTX file (genes × signatures, with all row and column metadata).
pub fn read_gctx(path: &Path) -> Result<SignatureMatrix> {
    let e = h5err(path);
    let file = hdf5::File::open(path).map_err(&e)?;
    let ds = file.dataset(MATRIX).map_err(&e)?;
    let shape = ds.shape();
    if shape.len() != 2 {
        return Err(ExprError::Hdf5 {
            path: path.into(),
            message: format!("{MATRIX} is not 2-D: {shape:?}"),
        });
    }
    let (n_sig, n_genes) = (shape[0], shape[1]);
    let data: Vec<f64> = match ds.dtype().and_then(|t| t.to_descriptor()).map_err(&e)? {
        TypeDescriptor::Float(FloatSize::U4) => ds
            .read_raw::<f32>()
            .map_err(&e)?
            .into_iter()
            .map(f64::from)
            .collect(),
        _ => ds.read_raw::<f64>().map_err(&e)?,
    };
    let (gene_ids, gene_meta) = read_meta(&file, ROW, n_genes, path)?;
    let (ids, meta) = read_meta(&file, COL, n_sig, path)?;
    let genes = GeneSpace::new(gene_ids).map_err(|err| ExprError::Hdf5 {
        path: path.into(),
        message: err.to_string(),
    })?;
    SignatureMatrix::new(Arc::new(genes), ids, data, gene_meta, meta)
}

fn to_vlen(values: &[String], path: &Path) -> Result<Vec<VarLenUnicode>> {
    values
        .iter()
        .map(|s| {
            s.parse::<VarLenUnicode>().map_err(|err| ExprError::Hdf5 {
                path: path.into(),
                message: format!("cannot store '{s}': {err}"),
            })
        })
        .collect()
}

fn write_meta(
    file: &hdf5::File,
    group: &str,
    ids: &[String],
    meta: &MetaTable,
    path: &Path,
) -> Result<()> {
    let e = h5err(path);
    let g = file.create_group(group).map_err(&e)?;
    for (name, vals) in std::iter::once(("id", ids)).chain(
        meta.fields
            .iter()
            .map(String::as_str)
            .zip(meta.values.iter().map(Vec::as_slice)),
    ) {
        let ds = g
            .new_dataset::<VarLenUnicode>()
            .shape(vals.len())
            .create(name)
            .map_err(&e)?;
        ds.write_raw(&to_vlen(vals, path)?).map_err(&e)?;
    }
    Ok(())
}

/// Writes a matrix as GCTX (float32 values, string metadata), readable by cmapPy.
pub fn write_gctx(m: &SignatureMatrix, path: &Path) -> Result<()> {
    let e = h5err(path);
    let file = hdf5::File::create(path).map_err(&e)?;
    let version: VarLenUnicode = "GCTX1.0".parse().map_err(|err| ExprError::Hdf5 {
        path: path.into(),
        message: format!("{err}"),
    })?;
    file.new_attr::<VarLenUnicode>()
        .create("version")
        .and_then(|a| a.write_scalar(&version))
        .map_err(&e)?;
    file.create_group("0/DATA/0").map_err(&e)?;
    let ds = file
        .new_dataset::<f32>()
        .shape((m.n_signatures(), m.n_genes()))
        .create(MATRIX)
        .map_err(&e)?;
    let data: Vec<f32> = m.data.iter().map(|&x| x as f32).collect();
    ds.write_raw(&data).map_err(&e)?;
    file.create_group("0/META").map_err(&e)?;
    write_meta(&file, ROW, m.genes.ids(), &m.gene_meta, path)?;
    write_meta(&file, COL, &m.ids, &m.meta, path)?;
    Ok(())
}
