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

/// Largest factor by which a dataset's values may exceed the bytes the file stores for them
/// (deflate, the filter cmapPy uses, expands at most about 1032-fold).
const MAX_EXPANSION: u64 = 1100;

/// Number of elements of a dataset, checked against the bytes the file stores for it, so a
/// corrupt shape cannot size an allocation: the elements (at their stored width) must fit in
/// [`MAX_EXPANSION`] times the dataset's storage.
fn checked_size(ds: &hdf5::Dataset, path: &Path) -> Result<usize> {
    let bad = |message: String| ExprError::Hdf5 {
        path: path.into(),
        message: format!("{}: {message}", ds.name()),
    };
    let shape = ds.shape();
    let elements = shape
        .iter()
        .try_fold(1u64, |n, &d| n.checked_mul(d as u64))
        .ok_or_else(|| bad(format!("shape {shape:?} overflows")))?;
    let width = ds.dtype().map_err(h5err(path))?.size() as u64;
    let stored = ds.storage_size();
    match elements.checked_mul(width.max(1)) {
        Some(bytes) if bytes <= stored.saturating_mul(MAX_EXPANSION) => {
            usize::try_from(elements).map_err(|_| bad(format!("{elements} elements")))
        }
        _ => Err(bad(format!(
            "shape {shape:?} needs more data than the {stored} bytes stored"
        ))),
    }
}

/// Reads the unsigned little-endian integer in `bytes`.
fn uint(bytes: &[u8]) -> u64 {
    bytes.iter().rev().fold(0, |v, &x| (v << 8) | u64::from(x))
}

/// Checks the global heap collections that hold a contiguous variable-length string
/// dataset's strings before HDF5 reads them, refusing what makes libhdf5 1.10 (Debian 12's
/// 1.10.8) misbehave: a zero-sized free-space object before a collection's end (its decoder
/// loops forever), an object running past its collection, a reference to an object larger
/// than the string length it records (the copy overruns the buffer sized by that length:
/// heap corruption, then a crash) and a reference to an object the collection does not hold
/// (read from beyond its object table: use after free). What this check cannot follow (chunked or compact layout,
/// references outside the file, a block that is not a collection) is left to HDF5, which
/// reports it.
fn check_global_heaps(ds: &hdf5::Dataset, n: usize, path: &Path) -> Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let Some(offset) = ds.offset() else {
        return Ok(());
    };
    let file = ds.file().map_err(h5err(path))?;
    let sizes = file.fcpl().map_err(h5err(path))?.sizes();
    let (sa, ss) = (sizes.sizeof_addr, sizes.sizeof_size);
    if !(1..=8).contains(&sa) || !(1..=8).contains(&ss) {
        return Ok(());
    }
    let base = file.userblock();
    let io = |e| ExprError::io(path, e);
    let mut raw = std::fs::File::open(path).map_err(io)?;
    let file_len = raw.metadata().map_err(io)?.len();
    // Each element is stored as (length u32, collection address, object index u32).
    let width = 8 + sa;
    let Some(total) = n
        .checked_mul(width)
        .filter(|&t| offset.saturating_add(t as u64) <= file_len)
    else {
        return Ok(());
    };
    let mut refs = vec![0u8; total];
    raw.seek(SeekFrom::Start(offset)).map_err(io)?;
    raw.read_exact(&mut refs).map_err(io)?;
    let mut wanted: std::collections::BTreeMap<u64, Vec<(u64, u64)>> = Default::default();
    for r in refs.chunks_exact(width) {
        // Address 0 is a null string; any other reference is read, even of length 0.
        let (len, address, index) = (uint(&r[..4]), uint(&r[4..4 + sa]), uint(&r[4 + sa..]));
        if address != 0 {
            wanted.entry(address).or_default().push((index, len));
        }
    }
    let corrupt = |at: u64, what: String| ExprError::Hdf5 {
        path: path.into(),
        message: format!(
            "{}: corrupt global heap collection at byte {at}: {what}",
            ds.name()
        ),
    };
    for (address, strings) in wanted {
        let Some(at) = address.checked_add(base).filter(|&a| a < file_len) else {
            continue;
        };
        let mut head = vec![0u8; 8 + ss];
        raw.seek(SeekFrom::Start(at)).map_err(io)?;
        if raw.read_exact(&mut head).is_err() || &head[..4] != b"GCOL" || head[4] != 1 {
            continue;
        }
        let size = uint(&head[8..]);
        if size > file_len - at {
            continue;
        }
        let mut heap = vec![0u8; size as usize];
        raw.seek(SeekFrom::Start(at)).map_err(io)?;
        raw.read_exact(&mut heap).map_err(io)?;
        // The walk of libhdf5's collection decoder (H5HG__cache_heap_deserialize).
        let header = 8 + ss;
        let mut objects = std::collections::HashMap::new();
        let mut p = 8 + ss;
        while p + header <= heap.len() {
            let index = uint(&heap[p..p + 2]);
            let object = uint(&heap[p + 8..p + header]);
            let need = if index > 0 {
                object.saturating_add(7) / 8 * 8 + header as u64
            } else {
                object
            };
            if need == 0 {
                return Err(corrupt(
                    at,
                    format!("an empty object at byte {}", at + p as u64),
                ));
            }
            let end = (p as u64).saturating_add(need);
            if index > 0 && end > heap.len() as u64 {
                return Err(corrupt(at, format!("object {index} runs past its end")));
            }
            if index > 0 {
                objects.insert(index, object);
            }
            p = usize::try_from(end).unwrap_or(usize::MAX);
        }
        for (index, len) in strings {
            match objects.get(&index) {
                Some(&object) if object <= len => {}
                other => {
                    return Err(corrupt(
                        at,
                        format!("a {len}-byte string refers to object {index} ({other:?} bytes)"),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Text of string bytes as stored. (`as_str` of the hdf5 string types assumes valid UTF-8
/// without checking it: undefined behaviour on a file whose strings are not.)
fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Reads a 1-D metadata dataset of `n` entries as strings.
fn read_strings(ds: &hdf5::Dataset, n: usize, path: &Path) -> Result<Vec<String>> {
    let e = h5err(path);
    let size = checked_size(ds, path)?;
    if size != n {
        return Err(ExprError::Hdf5 {
            path: path.into(),
            message: format!("{} has {size} entries, expected {n}", ds.name()),
        });
    }
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
            v.iter().map(|s| lossy(s.as_bytes())).collect()
        }
        TypeDescriptor::FixedUnicode(n) => {
            if n > 1024 {
                return Err(too_long(n));
            }
            let v: Vec<FixedUnicode<1024>> = ds.read_raw().map_err(&e)?;
            v.iter().map(|s| lossy(s.as_bytes())).collect()
        }
        TypeDescriptor::VarLenAscii => {
            check_global_heaps(ds, n, path)?;
            let v: Vec<VarLenAscii> = ds.read_raw().map_err(&e)?;
            v.iter().map(|s| lossy(s.as_bytes())).collect()
        }
        TypeDescriptor::VarLenUnicode => {
            check_global_heaps(ds, n, path)?;
            let v: Vec<VarLenUnicode> = ds.read_raw().map_err(&e)?;
            v.iter().map(|s| lossy(s.as_bytes())).collect()
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
    let ids = read_strings(&g.dataset("id").map_err(&e)?, n, path)?;
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
        let vals = read_strings(&ds, n, path)?;
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
    checked_size(&ds, path)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the fuzz campaign (`tests/fuzz.rs`, `gctx`): the matrix shape was trusted for
    /// the allocation of its values, so a file declaring a huge dataset that stores nothing
    /// asked for terabytes (the product of its dimensions even overflowed).
    #[test]
    fn a_matrix_larger_than_its_storage_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.gctx");
        {
            let file = hdf5::File::create(&path).unwrap();
            file.create_group("0/DATA/0").unwrap();
            file.new_dataset::<f32>()
                .chunk((1, 1024))
                .shape((1usize << 30, 1usize << 20))
                .create(MATRIX)
                .unwrap();
        }
        let err = read_gctx(&path).unwrap_err().to_string();
        assert!(err.contains("needs more data than"), "{err}");
    }

    /// Found by the fuzz campaign (`tests/fuzz.rs`, `gctx`): one byte of a string's size in
    /// the global heap (`0x02` → `0xa2`, the id `S1`) made libhdf5 1.10.8 loop forever in
    /// `H5HG_read` when reading the column ids.
    #[test]
    fn a_corrupt_global_heap_is_an_error_not_a_hang() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.gctx");
        let m = crate::expr::gct::read_gct(Path::new("fixtures/expr/v12.gct")).unwrap();
        write_gctx(&m, &path).unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        let heap = bytes.windows(4).position(|w| w == b"GCOL").unwrap();
        let data = heap
            + bytes[heap..]
                .windows(8)
                .position(|w| w == b"S1\0\0\0\0\0\0")
                .unwrap();
        assert_eq!(bytes[data - 8], 2, "the size of the 2-byte string S1");
        bytes[data - 8] = 0xa2;
        std::fs::write(&path, &bytes).unwrap();
        let err = read_gctx(&path).unwrap_err().to_string();
        assert!(err.contains("corrupt global heap"), "{err}");
    }

    /// Found by the fuzz campaign (`tests/fuzz.rs`, `gctx`): a string reference whose
    /// recorded length is smaller than its heap object made libhdf5 1.10.8 copy the object
    /// past the buffer it sized by that length (glibc then aborted: "malloc(): invalid size").
    #[test]
    fn a_string_shorter_than_its_heap_object_is_an_error_not_a_heap_overflow() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.gctx");
        let mut m = crate::expr::gct::read_gct(Path::new("fixtures/expr/v12.gct")).unwrap();
        m.ids = vec!["a-long-signature-id".into(), "S2".into()];
        write_gctx(&m, &path).unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        let heap = bytes.windows(4).position(|w| w == b"GCOL").unwrap();
        let data = heap + bytes[heap..].windows(4).position(|w| w == b"a-lo").unwrap();
        // The object's size, then the reference's length (u32 before the collection address).
        let size = bytes[data - 8] as u32;
        assert_eq!(size, 19);
        let address = (heap as u64).to_le_bytes();
        let mut reference = 19u32.to_le_bytes().to_vec();
        reference.extend_from_slice(&address);
        let at = bytes
            .windows(12)
            .position(|w| w == reference.as_slice())
            .unwrap();
        bytes[at] = 1;
        std::fs::write(&path, &bytes).unwrap();
        let err = read_gctx(&path).unwrap_err().to_string();
        assert!(err.contains("1-byte string refers to object"), "{err}");
    }

    /// Found by the fuzz campaign (`tests/fuzz.rs`, `gctx`, release): one byte of a
    /// zero-length string's object index (`5` → `0x240005`) made libhdf5 1.10.8 read the
    /// object table past its end (valgrind: reads inside a freed block; in the campaign, a
    /// segfault a few cases later).
    #[test]
    fn a_reference_to_a_missing_heap_object_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.gctx");
        let m = crate::expr::gct::read_gct(Path::new("fixtures/expr/v12.gct")).unwrap();
        write_gctx(&m, &path).unwrap();
        // The third description (gene g3's, empty) is a zero-length reference
        // (0u32, collection address, object index u32).
        let refs = hdf5::File::open(&path)
            .and_then(|f| f.dataset("0/META/ROW/Description"))
            .map(|d| d.offset().unwrap())
            .unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        let at = refs as usize + 2 * 16;
        assert_eq!(bytes[at..at + 4], [0; 4], "g3 has an empty description");
        bytes[at + 14] = 0x24;
        std::fs::write(&path, &bytes).unwrap();
        let err = read_gctx(&path).unwrap_err().to_string();
        assert!(err.contains("refers to object"), "{err}");
    }
}
