//! Screening output: `row, id, smiles, <task>..., <task>_std... (or <task>_unc...),
//! [<task>_lo..., <task>_hi...], [<task>_set...], <note>..., error` as CSV/TSV
//! (appended chunk by chunk, each chunk flushed to disk before it counts as done) or Parquet
//! (one row group per chunk; see [`super::parts`] for how a Parquet run survives a kill).

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::parquet_out::ParquetSink;
use super::parts::PartsSink;
use super::{ScoredRow, ScreenError};
use crate::data::reader::{base_name, delimiter_for};

/// The output's columns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutputLayout {
    /// Task names, in model order.
    pub tasks: Vec<String>,
    /// Whether spread columns follow (ensembles, MC dropout): `<task>_std`, or `<task>_unc`
    /// with `unc`.
    pub with_std: bool,
    /// Text columns after the values ([`crate::model::Scorer::note_columns`]).
    pub notes: Vec<String>,
    /// The spread columns are `<task>_unc`: an uncertainty was asked for or calibrated.
    pub unc: bool,
    /// `<task>_lo` and then `<task>_hi` columns follow the spread (conformal intervals).
    pub intervals: bool,
    /// `<task>_set` columns follow (conformal prediction sets).
    pub sets: bool,
}

impl OutputLayout {
    /// Column names in order.
    pub fn header(&self) -> Vec<String> {
        let mut head: Vec<String> = ["row", "id", "smiles"].map(String::from).to_vec();
        head.extend(self.tasks.iter().cloned());
        let suffixed =
            |suffix: &'static str| self.tasks.iter().map(move |t| format!("{t}_{suffix}"));
        if self.with_std {
            head.extend(suffixed(if self.unc { "unc" } else { "std" }));
        }
        if self.intervals {
            head.extend(suffixed("lo"));
            head.extend(suffixed("hi"));
        }
        if self.sets {
            head.extend(suffixed("set"));
        }
        head.extend(self.notes.iter().cloned());
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
        if self.intervals {
            cells.extend((0..t).map(|j| fmt(row.lower.get(j))));
            cells.extend((0..t).map(|j| fmt(row.upper.get(j))));
        }
        if self.sets {
            cells.extend((0..t).map(|j| row.sets.get(j).cloned().unwrap_or_default()));
        }
        cells.extend((0..self.notes.len()).map(|j| row.notes.get(j).cloned().unwrap_or_default()));
        cells.push(row.error.clone().unwrap_or_default());
        cells
    }
}

/// Where scored rows go.
pub trait RowSink: Send {
    /// Writes rows and makes them durable; returns the output's length in bytes afterwards.
    fn write_rows(&mut self, rows: &[ScoredRow]) -> Result<u64, ScreenError>;
    /// The progress so far, as [`RowSink::write_rows`] reports it (a resume continues here).
    fn position(&self) -> u64;
    /// Completes the file.
    fn finish(self: Box<Self>) -> Result<(), ScreenError>;
}

/// True when the output path names a Parquet file.
pub fn is_parquet(path: &Path) -> bool {
    let name = base_name(path).to_lowercase();
    name.ends_with(".parquet") || name.ends_with(".pq")
}

/// Opens the streaming sink for `path`: a fresh output, or one continued from `resume_at`,
/// the progress recorded with the last completed chunk (a CSV/TSV file's length in bytes, or
/// the number of finished Parquet part files, [`super::parts`]).
pub fn open_sink(
    path: &Path,
    layout: &OutputLayout,
    resume_at: Option<u64>,
) -> Result<Box<dyn RowSink>, ScreenError> {
    if is_parquet(path) {
        return Ok(Box::new(PartsSink::open(path, layout, resume_at)?));
    }
    Ok(Box::new(CsvSink::open(path, layout, resume_at)?))
}

/// Writes a whole table at once (rows already in their final order, e.g. a top-k
/// selection): CSV/TSV, or one Parquet file.
pub fn write_table(
    path: &Path,
    layout: &OutputLayout,
    rows: &[ScoredRow],
) -> Result<(), ScreenError> {
    let mut sink: Box<dyn RowSink> = if is_parquet(path) {
        Box::new(ParquetSink::create(path, layout)?)
    } else {
        Box::new(CsvSink::open(path, layout, None)?)
    };
    if !rows.is_empty() {
        sink.write_rows(rows)?;
    }
    sink.finish()
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

    fn position(&self) -> u64 {
        self.len
    }

    fn finish(self: Box<Self>) -> Result<(), ScreenError> {
        Ok(())
    }
}
