//! Parquet libraries: the SMILES (and id) string columns of a Parquet file, read row group by
//! row group through the `parquet` crate's record reader, projected to just those columns.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::reader::RowIter;
use parquet::record::{Field, Row};
use parquet::schema::types::Type;

use super::error::DataError;
use super::library::{LibraryOptions, LibraryRow, MoleculeText, pick_columns};

/// Rows of a Parquet library.
pub(crate) struct ParquetRows {
    path: PathBuf,
    rows: RowIter<'static>,
    smiles_name: String,
    id_name: Option<String>,
    row: u64,
    total_rows: u64,
    total_bytes: u64,
    consumed: Arc<AtomicU64>,
}

/// Runs a call into the `parquet` crate, turning a panic into an error: on corrupt files
/// (an emptied or flipped byte in a page) its decoders panic instead of returning `Err`
/// (e.g. "Decoder for dict should have been set" in parquet 60.1.0).
fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        format!("corrupt Parquet file (the decoder failed: {what})")
    })
}

impl ParquetRows {
    /// Opens the file and projects it onto the SMILES and id columns.
    pub(crate) fn open(
        path: &Path,
        file: File,
        options: &LibraryOptions,
        consumed: Arc<AtomicU64>,
    ) -> Result<Self, DataError> {
        let bad = |reason: String| DataError::Malformed {
            path: path.to_path_buf(),
            line: 0,
            reason,
        };
        guarded(|| Self::open_unguarded(path, file, options, consumed)).map_err(bad)?
    }

    fn open_unguarded(
        path: &Path,
        file: File,
        options: &LibraryOptions,
        consumed: Arc<AtomicU64>,
    ) -> Result<Self, DataError> {
        let bad = |reason: String| DataError::Malformed {
            path: path.to_path_buf(),
            line: 0,
            reason,
        };
        let total_bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
        let reader = SerializedFileReader::new(file).map_err(|e| bad(e.to_string()))?;
        let meta = reader.metadata().file_metadata();
        let total_rows = meta.num_rows().max(0) as u64;
        let root = meta.schema();
        let fields = root.get_fields();
        let names: Vec<String> = fields.iter().map(|f| f.name().to_string()).collect();
        let (smiles, id) = pick_columns(path, &names, options)?;
        for i in std::iter::once(smiles).chain(id) {
            if !fields[i].is_primitive() {
                return Err(bad(format!("column {:?} is not a string column", names[i])));
            }
        }
        let projected: Vec<Arc<Type>> = std::iter::once(smiles)
            .chain(id)
            .map(|i| fields[i].clone())
            .collect();
        let projection = Type::group_type_builder(root.name())
            .with_fields(projected)
            .build()
            .map_err(|e| bad(e.to_string()))?;
        let rows = RowIter::from_file_into(Box::new(reader))
            .project(Some(projection))
            .map_err(|e| bad(e.to_string()))?;
        Ok(ParquetRows {
            path: path.to_path_buf(),
            rows,
            smiles_name: names[smiles].clone(),
            id_name: id.map(|i| names[i].clone()),
            row: 0,
            total_rows,
            total_bytes,
            consumed,
        })
    }
}

/// The text of a cell: strings as they are, byte arrays when UTF-8, other scalars printed.
fn cell_text(row: &Row, name: &str) -> Result<String, String> {
    let field = row
        .get_column_iter()
        .find(|(n, _)| n.as_str() == name)
        .map(|(_, f)| f);
    match field {
        None | Some(Field::Null) => Err(format!("{name} is null")),
        Some(Field::Str(s)) => Ok(s.clone()),
        Some(Field::Bytes(b)) => std::str::from_utf8(b.data())
            .map(str::to_string)
            .map_err(|e| format!("{name} is not valid UTF-8 (byte {})", e.valid_up_to() + 1)),
        Some(other) => Ok(other.to_string()),
    }
}

impl Iterator for ParquetRows {
    type Item = Result<LibraryRow, DataError>;

    fn next(&mut self) -> Option<Self::Item> {
        let failed = |reason: String| {
            Some(Err(DataError::Malformed {
                path: self.path.clone(),
                line: 0,
                reason: format!("row {}: {reason}", self.row),
            }))
        };
        let record = match guarded(|| self.rows.next()) {
            Ok(None) => return None,
            Ok(Some(Ok(r))) => r,
            Ok(Some(Err(e))) => return failed(e.to_string()),
            Err(panicked) => return failed(panicked),
        };
        let mut error = None;
        let smiles = cell_text(&record, &self.smiles_name).unwrap_or_else(|e| {
            error = Some(e);
            String::new()
        });
        let id = match &self.id_name {
            Some(name) => cell_text(&record, name).unwrap_or_default(),
            None => String::new(),
        };
        let row = LibraryRow {
            row: self.row,
            line: 0,
            id: id.trim().to_string(),
            molecule: MoleculeText::Smiles(smiles.trim().to_string()),
            error,
        };
        self.row += 1;
        if self.total_rows > 0 {
            let done = (self.total_bytes as f64 * self.row as f64 / self.total_rows as f64) as u64;
            self.consumed.store(done, Ordering::Relaxed);
        }
        Some(Ok(row))
    }
}
