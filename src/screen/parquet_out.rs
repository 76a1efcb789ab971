//! One Parquet file of scored rows: `row` (INT64), `id` and `smiles` (UTF-8), one optional
//! DOUBLE per task, per task's spread and per interval bound, one optional UTF-8 per
//! prediction set and note column, and an optional UTF-8 `error`; one row group per call of
//! [`RowSink::write_rows`].

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parquet::basic::{ConvertedType, Repetition, Type as PhysicalType};
use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int64Type};
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::{Type, TypePtr};

use super::output::{OutputLayout, RowSink};
use super::{ScoredRow, ScreenError};

/// What one output column holds.
#[derive(Debug, Clone, Copy)]
enum Column {
    Row,
    Id,
    Smiles,
    Value(usize),
    Spread(usize),
    Lower(usize),
    Upper(usize),
    Set(usize),
    Note(usize),
    Error,
}

/// The layout's columns in file order (the order of [`OutputLayout::header`]).
fn columns(layout: &OutputLayout) -> Vec<Column> {
    let t = layout.tasks.len();
    let mut columns = vec![Column::Row, Column::Id, Column::Smiles];
    columns.extend((0..t).map(Column::Value));
    if layout.with_std {
        columns.extend((0..t).map(Column::Spread));
    }
    if layout.intervals {
        columns.extend((0..t).map(Column::Lower));
        columns.extend((0..t).map(Column::Upper));
    }
    if layout.sets {
        columns.extend((0..t).map(Column::Set));
    }
    columns.extend((0..layout.notes.len()).map(Column::Note));
    columns.push(Column::Error);
    columns
}

/// The Parquet schema of a layout.
pub(super) fn schema(layout: &OutputLayout) -> Result<TypePtr, ParquetError> {
    let text = |name: &str, rep| {
        Type::primitive_type_builder(name, PhysicalType::BYTE_ARRAY)
            .with_converted_type(ConvertedType::UTF8)
            .with_repetition(rep)
            .build()
    };
    let fields = columns(layout)
        .into_iter()
        .zip(layout.header())
        .map(|(column, name)| match column {
            Column::Row => Type::primitive_type_builder(&name, PhysicalType::INT64)
                .with_repetition(Repetition::REQUIRED)
                .build(),
            Column::Id | Column::Smiles => text(&name, Repetition::REQUIRED),
            Column::Value(_) | Column::Spread(_) | Column::Lower(_) | Column::Upper(_) => {
                Type::primitive_type_builder(&name, PhysicalType::DOUBLE)
                    .with_repetition(Repetition::OPTIONAL)
                    .build()
            }
            Column::Set(_) | Column::Note(_) | Column::Error => text(&name, Repetition::OPTIONAL),
        })
        .map(|f| f.map(Arc::new))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Arc::new(
        Type::group_type_builder("moltx_screen")
            .with_fields(fields)
            .build()?,
    ))
}

/// The writer properties of every moltx Parquet output.
pub(super) fn properties() -> Arc<WriterProperties> {
    Arc::new(
        WriterProperties::builder()
            .set_compression(parquet::basic::Compression::SNAPPY)
            .build(),
    )
}

/// The parquet crate's error as the pipeline's, naming the file.
pub(super) fn parquet_error(path: &Path) -> impl Fn(ParquetError) -> ScreenError + '_ {
    move |e| ScreenError::Parquet {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// A Parquet file written row group by row group.
pub(super) struct ParquetSink {
    path: PathBuf,
    writer: SerializedFileWriter<File>,
    columns: Vec<Column>,
    len: u64,
}

impl ParquetSink {
    /// Creates (or truncates) `path`.
    pub(super) fn create(path: &Path, layout: &OutputLayout) -> Result<Self, ScreenError> {
        let pq = parquet_error(path);
        let file = File::create(path).map_err(|source| ScreenError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let writer = SerializedFileWriter::new(file, schema(layout).map_err(&pq)?, properties())
            .map_err(&pq)?;
        Ok(ParquetSink {
            path: path.to_path_buf(),
            writer,
            columns: columns(layout),
            len: 0,
        })
    }

    /// Closes the file and makes it durable.
    pub(super) fn close_durably(self) -> Result<(), ScreenError> {
        let path = self.path.clone();
        let file = self.writer.into_inner().map_err(parquet_error(&path))?;
        file.sync_all()
            .map_err(|source| ScreenError::Io { path, source })
    }
}

/// Writes one optional text column: a value where `get` gives one, null elsewhere.
fn optional_text<'a>(
    rows: &'a [ScoredRow],
    get: impl Fn(&'a ScoredRow) -> Option<&'a str>,
) -> (Vec<ByteArray>, Vec<i16>) {
    let values = rows.iter().filter_map(&get).map(ByteArray::from).collect();
    let defined = rows.iter().map(|r| i16::from(get(r).is_some())).collect();
    (values, defined)
}

impl RowSink for ParquetSink {
    fn write_rows(&mut self, rows: &[ScoredRow]) -> Result<u64, ScreenError> {
        let path = self.path.clone();
        let pq = parquet_error(&path);
        let mut group = self.writer.next_row_group().map_err(&pq)?;
        let mut index = 0usize;
        while let Some(mut col) = group.next_column().map_err(&pq)? {
            match self.columns[index] {
                Column::Row => {
                    let v: Vec<i64> = rows.iter().map(|r| r.row as i64).collect();
                    col.typed::<Int64Type>().write_batch(&v, None, None)
                }
                Column::Id | Column::Smiles => {
                    let id = matches!(self.columns[index], Column::Id);
                    let v: Vec<ByteArray> = rows
                        .iter()
                        .map(|r| ByteArray::from(if id { &*r.id } else { &*r.smiles }))
                        .collect();
                    col.typed::<ByteArrayType>().write_batch(&v, None, None)
                }
                c
                @ (Column::Value(j) | Column::Spread(j) | Column::Lower(j) | Column::Upper(j)) => {
                    let get = |r: &ScoredRow| match c {
                        Column::Value(_) => r.values.get(j).copied(),
                        Column::Lower(_) => r.lower.get(j).copied(),
                        Column::Upper(_) => r.upper.get(j).copied(),
                        _ => r.stds.get(j).copied(),
                    };
                    let v: Vec<f64> = rows.iter().filter_map(get).collect();
                    let def: Vec<i16> = rows.iter().map(|r| i16::from(get(r).is_some())).collect();
                    col.typed::<DoubleType>().write_batch(&v, Some(&def), None)
                }
                Column::Set(j) => {
                    let (v, def) = optional_text(rows, |r| r.sets.get(j).map(String::as_str));
                    col.typed::<ByteArrayType>()
                        .write_batch(&v, Some(&def), None)
                }
                Column::Note(j) => {
                    let (v, def) = optional_text(rows, |r| r.notes.get(j).map(String::as_str));
                    col.typed::<ByteArrayType>()
                        .write_batch(&v, Some(&def), None)
                }
                Column::Error => {
                    let (v, def) = optional_text(rows, |r| r.error.as_deref());
                    col.typed::<ByteArrayType>()
                        .write_batch(&v, Some(&def), None)
                }
            }
            .map_err(&pq)?;
            col.close().map_err(&pq)?;
            index += 1;
        }
        let meta = group.close().map_err(&pq)?;
        self.len += meta.compressed_size().max(0) as u64;
        Ok(self.len)
    }

    fn position(&self) -> u64 {
        self.len
    }

    fn finish(self: Box<Self>) -> Result<(), ScreenError> {
        let path = self.path.clone();
        self.writer.close().map_err(parquet_error(&path))?;
        Ok(())
    }
}
