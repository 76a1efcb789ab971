//! Screening output: `row, id, smiles, <task>..., <task>_std..., error` as CSV/TSV (appended
//! chunk by chunk, each chunk flushed to disk before it counts as done) or Parquet (one row
//! group per chunk).

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parquet::basic::{ConvertedType, Repetition, Type as PhysicalType};
use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::Type;

use super::{ScoredRow, ScreenError};
use crate::data::reader::{base_name, delimiter_for};

/// The output's columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputLayout {
    /// Task names, in model order.
    pub tasks: Vec<String>,
    /// Whether `<task>_std` columns follow (ensembles).
    pub with_std: bool,
}

impl OutputLayout {
    /// Column names in order.
    pub fn header(&self) -> Vec<String> {
        let mut head: Vec<String> = ["row", "id", "smiles"].map(String::from).to_vec();
        head.extend(self.tasks.iter().cloned());
        if self.with_std {
            head.extend(self.tasks.iter().map(|t| format!("{t}_std")));
        }
        head.push("error".into());
        head
    }

    /// One row's cells (values with 6 decimals; blanks where the row failed).
    pub fn cells(&self, row: &ScoredRow) -> Vec<String> {
        let mut cells = vec![row.row.to_string(), row.id.clone(), row.smiles.clone()];
        let t = self.tasks.len();
        let fmt = |v: Option<&f64>| v.map_or(String::new(), |v| format!("{v:.6}"));
        cells.extend((0..t).map(|j| fmt(row.values.get(j))));
        if self.with_std {
            cells.extend((0..t).map(|j| fmt(row.stds.get(j))));
        }
        cells.push(row.error.clone().unwrap_or_default());
        cells
    }
}

/// Where scored rows go.
pub trait RowSink: Send {
    /// Writes rows and makes them durable; returns the output's length in bytes afterwards.
    fn write_rows(&mut self, rows: &[ScoredRow]) -> Result<u64, ScreenError>;
    /// Completes the file.
    fn finish(self: Box<Self>) -> Result<(), ScreenError>;
}

/// True when the output path names a Parquet file.
pub fn is_parquet(path: &Path) -> bool {
    let name = base_name(path).to_lowercase();
    name.ends_with(".parquet") || name.ends_with(".pq")
}

/// Opens the sink for `path`: a fresh file, or (CSV only) an existing one cut back to
/// `resume_at` bytes, the length recorded with the last completed chunk.
pub fn open_sink(
    path: &Path,
    layout: &OutputLayout,
    resume_at: Option<u64>,
) -> Result<Box<dyn RowSink>, ScreenError> {
    if is_parquet(path) {
        if resume_at.is_some() {
            return Err(ScreenError::ResumeNeedsCsv);
        }
        return Ok(Box::new(ParquetSink::create(path, layout)?));
    }
    Ok(Box::new(CsvSink::open(path, layout, resume_at)?))
}

/// CSV/TSV output appended chunk by chunk.
struct CsvSink {
    path: PathBuf,
    file: File,
    layout: OutputLayout,
    sep: u8,
    len: u64,
}

impl CsvSink {
    fn open(
        path: &Path,
        layout: &OutputLayout,
        resume_at: Option<u64>,
    ) -> Result<Self, ScreenError> {
        let io = |source| ScreenError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut sink = match resume_at {
            Some(len) => {
                let mut file = OpenOptions::new().write(true).open(path).map_err(io)?;
                file.set_len(len).map_err(io)?;
                file.seek(SeekFrom::End(0)).map_err(io)?;
                CsvSink {
                    path: path.to_path_buf(),
                    file,
                    layout: layout.clone(),
                    sep: delimiter_for(path),
                    len,
                }
            }
            None => CsvSink {
                path: path.to_path_buf(),
                file: File::create(path).map_err(io)?,
                layout: layout.clone(),
                sep: delimiter_for(path),
                len: 0,
            },
        };
        if resume_at.is_none() {
            let header = sink.layout.header();
            sink.append(std::iter::once(header))?;
        }
        Ok(sink)
    }

    fn append(&mut self, records: impl Iterator<Item = Vec<String>>) -> Result<u64, ScreenError> {
        let mut w = csv::WriterBuilder::new()
            .delimiter(self.sep)
            .from_writer(Vec::new());
        let io = |source| ScreenError::Io {
            path: self.path.clone(),
            source,
        };
        for record in records {
            w.write_record(&record).map_err(|e| ScreenError::Io {
                path: self.path.clone(),
                source: e.into(),
            })?;
        }
        let bytes = w.into_inner().map_err(|e| io(e.into_error()))?;
        self.file.write_all(&bytes).map_err(io)?;
        self.file.sync_data().map_err(io)?;
        self.len += bytes.len() as u64;
        Ok(self.len)
    }
}

impl RowSink for CsvSink {
    fn write_rows(&mut self, rows: &[ScoredRow]) -> Result<u64, ScreenError> {
        let layout = self.layout.clone();
        self.append(rows.iter().map(|r| layout.cells(r)))
    }

    fn finish(self: Box<Self>) -> Result<(), ScreenError> {
        Ok(())
    }
}

/// Parquet output, one row group per chunk.
struct ParquetSink {
    path: PathBuf,
    writer: SerializedFileWriter<File>,
    layout: OutputLayout,
    len: u64,
}

impl ParquetSink {
    fn create(path: &Path, layout: &OutputLayout) -> Result<Self, ScreenError> {
        let pq = |e: parquet::errors::ParquetError| ScreenError::Parquet {
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        let text = |name: &str, rep| {
            Type::primitive_type_builder(name, PhysicalType::BYTE_ARRAY)
                .with_converted_type(ConvertedType::UTF8)
                .with_repetition(rep)
                .build()
        };
        let mut fields = vec![
            Type::primitive_type_builder("row", PhysicalType::INT64)
                .with_repetition(Repetition::REQUIRED)
                .build(),
            text("id", Repetition::REQUIRED),
            text("smiles", Repetition::REQUIRED),
        ];
        let header = layout.header();
        for name in &header[3..header.len() - 1] {
            fields.push(
                Type::primitive_type_builder(name, PhysicalType::DOUBLE)
                    .with_repetition(Repetition::OPTIONAL)
                    .build(),
            );
        }
        fields.push(text("error", Repetition::OPTIONAL));
        let fields = fields
            .into_iter()
            .map(|f| f.map(Arc::new))
            .collect::<Result<Vec<_>, _>>()
            .map_err(pq)?;
        let schema = Type::group_type_builder("moltx_screen")
            .with_fields(fields)
            .build()
            .map_err(pq)?;
        let file = File::create(path).map_err(|source| ScreenError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let props = WriterProperties::builder()
            .set_compression(parquet::basic::Compression::SNAPPY)
            .build();
        let writer =
            SerializedFileWriter::new(file, Arc::new(schema), Arc::new(props)).map_err(pq)?;
        Ok(ParquetSink {
            path: path.to_path_buf(),
            writer,
            layout: layout.clone(),
            len: 0,
        })
    }
}

impl RowSink for ParquetSink {
    fn write_rows(&mut self, rows: &[ScoredRow]) -> Result<u64, ScreenError> {
        let path = self.path.clone();
        let pq = |e: parquet::errors::ParquetError| ScreenError::Parquet {
            path: path.clone(),
            reason: e.to_string(),
        };
        let t = self.layout.tasks.len();
        let mut group = self.writer.next_row_group().map_err(pq)?;
        let mut column = 0usize;
        while let Some(mut col) = group.next_column().map_err(pq)? {
            match column {
                0 => {
                    let v: Vec<i64> = rows.iter().map(|r| r.row as i64).collect();
                    col.typed::<Int64Type>().write_batch(&v, None, None)
                }
                1 | 2 => {
                    let v: Vec<ByteArray> = rows
                        .iter()
                        .map(|r| ByteArray::from(if column == 1 { &*r.id } else { &*r.smiles }))
                        .collect();
                    col.typed::<ByteArrayType>().write_batch(&v, None, None)
                }
                c if c < 3 + t * (1 + usize::from(self.layout.with_std)) => {
                    let j = c - 3;
                    let get = |r: &ScoredRow| {
                        if j < t {
                            r.values.get(j)
                        } else {
                            r.stds.get(j - t)
                        }
                        .copied()
                    };
                    let v: Vec<f64> = rows.iter().filter_map(get).collect();
                    let def: Vec<i16> = rows.iter().map(|r| i16::from(get(r).is_some())).collect();
                    col.typed::<DoubleType>().write_batch(&v, Some(&def), None)
                }
                _ => {
                    let v: Vec<ByteArray> = rows
                        .iter()
                        .filter_map(|r| r.error.as_deref().map(ByteArray::from))
                        .collect();
                    let def: Vec<i16> = rows.iter().map(|r| i16::from(r.error.is_some())).collect();
                    col.typed::<ByteArrayType>()
                        .write_batch(&v, Some(&def), None)
                }
            }
            .map_err(pq)?;
            col.close().map_err(pq)?;
            column += 1;
        }
        let meta = group.close().map_err(pq)?;
        self.len += meta.compressed_size().max(0) as u64;
        Ok(self.len)
    }

    fn finish(self: Box<Self>) -> Result<(), ScreenError> {
        let path = self.path.clone();
        self.writer.close().map_err(|e| ScreenError::Parquet {
            path,
            reason: e.to_string(),
        })?;
        Ok(())
    }
}
