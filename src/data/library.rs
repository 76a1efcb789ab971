//! Streaming compound-library readers: `.smi`, `.csv`/`.tsv` (each optionally `.gz`), `.sdf`
//! (optionally `.gz`) and Parquet. They yield [`LibraryRow`]s one at a time with their 0-based
//! row number, so memory does not grow with the file. A row that cannot be read (a malformed
//! CSV row, bytes that are not UTF-8, a null SMILES cell) is still yielded, carrying the reason
//! in [`LibraryRow::error`] (SDF records are decoded leniently instead: bytes that are not
//! UTF-8 become U+FFFD, and RDKit judges the molblock); only I/O failures (and, in Parquet, undecodable pages) end the
//! stream: the `Err` is yielded once and the reader then returns `None`.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::error::DataError;
use super::reader::{RecordLines, base_name, delimiter_for, is_gz};
use crate::chem::sdf::SdfRecords;

/// File formats a library can come in (chosen by extension, `.gz` stripped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LibraryFormat {
    /// Whitespace-separated `SMILES [id]` lines (`.smi`, `.smiles`, `.txt`).
    Smi,
    /// Delimited text with a header (`.csv`, or tab for `.tsv`/`.tab`).
    Delimited(u8),
    /// MDL SD file (`.sdf`, `.sd`, `.mol`).
    Sdf,
    /// Apache Parquet with a string SMILES column (`.parquet`, `.pq`).
    Parquet,
}

impl LibraryFormat {
    /// The format a file name implies.
    pub fn from_path(path: &Path) -> Result<Self, DataError> {
        let name = base_name(path).to_lowercase();
        let ext = name.rsplit('.').next().unwrap_or("");
        Ok(match ext {
            "smi" | "smiles" | "txt" => LibraryFormat::Smi,
            "csv" | "tsv" | "tab" => LibraryFormat::Delimited(delimiter_for(path)),
            "sdf" | "sd" | "mol" => LibraryFormat::Sdf,
            "parquet" | "pq" if !is_gz(path) => LibraryFormat::Parquet,
            _ => {
                return Err(DataError::Malformed {
                    path: path.to_path_buf(),
                    line: 0,
                    reason: "unknown library format (expected .smi, .csv, .tsv, .sdf, \
                             each optionally .gz, or .parquet)"
                        .into(),
                });
            }
        })
    }
}

/// Which columns hold the SMILES and the identifier (CSV/TSV/Parquet), or which SDF data item
/// holds the identifier (default: the record's title line).
#[derive(Debug, Clone, Default)]
pub struct LibraryOptions {
    /// SMILES column; default: the first column whose name contains "smiles" (any case).
    pub smiles_column: Option<String>,
    /// Identifier column / SDF data item; default: a column named `id`, `name`, `title` or
    /// ending in `_id` (any case), else none.
    pub id_column: Option<String>,
}

/// The text a row describes its molecule with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoleculeText {
    /// A SMILES string as written (trimmed).
    Smiles(String),
    /// An MDL molfile block (from an SDF record).
    Molblock(String),
}

/// One library entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibraryRow {
    /// 0-based index of the entry among the file's entries (header, blank and comment lines
    /// excluded). Stable across runs: shards and resumption are defined on it.
    pub row: u64,
    /// 1-based line where the entry starts (0 for Parquet).
    pub line: u64,
    /// The entry's identifier (empty when the file has none).
    pub id: String,
    /// The molecule as written.
    pub molecule: MoleculeText,
    /// Why the entry could not be read, if it could not.
    pub error: Option<String>,
}

/// How far a reader has got through its file, shared with other threads for progress bars.
#[derive(Debug, Clone)]
pub struct ReadProgress {
    consumed: Arc<AtomicU64>,
    /// Size of the file in bytes (compressed size for `.gz`).
    pub total_bytes: u64,
}

impl ReadProgress {
    /// Bytes of the file consumed so far (compressed bytes for `.gz`; estimated for Parquet).
    pub fn consumed_bytes(&self) -> u64 {
        self.consumed.load(Ordering::Relaxed).min(self.total_bytes)
    }
}

/// A streaming reader over a compound library.
pub struct LibraryReader {
    rows: Box<dyn Iterator<Item = Result<LibraryRow, DataError>> + Send>,
    progress: ReadProgress,
    path: PathBuf,
    /// Set once an error was yielded: the stream is over (a failing decoder would otherwise
    /// return the same error forever).
    ended: bool,
}

impl std::fmt::Debug for LibraryReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LibraryReader")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Counts the bytes read through it.
struct CountingRead<R> {
    inner: R,
    consumed: Arc<AtomicU64>,
}

impl<R: Read> Read for CountingRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.consumed.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl LibraryReader {
    /// Opens a library, choosing the format by extension and checking the columns it needs.
    pub fn open(path: &Path, options: &LibraryOptions) -> Result<Self, DataError> {
        let format = LibraryFormat::from_path(path)?;
        let io = |source| DataError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        let total_bytes = file.metadata().map_err(io)?.len();
        let consumed = Arc::new(AtomicU64::new(0));
        let progress = ReadProgress {
            consumed: consumed.clone(),
            total_bytes,
        };
        let rows: Box<dyn Iterator<Item = Result<LibraryRow, DataError>> + Send> = match format {
            LibraryFormat::Parquet => Box::new(super::parquet_rows::ParquetRows::open(
                path, file, options, consumed,
            )?),
            _ => {
                let counted = CountingRead {
                    inner: file,
                    consumed,
                };
                let inner: Box<dyn Read + Send> = if is_gz(path) {
                    Box::new(flate2::read::MultiGzDecoder::new(counted))
                } else {
                    Box::new(counted)
                };
                let text: Box<dyn BufRead + Send> =
                    Box::new(BufReader::with_capacity(1 << 16, inner));
                match format {
                    LibraryFormat::Smi => Box::new(SmiRows::new(path, text)),
                    LibraryFormat::Delimited(sep) => {
                        Box::new(DelimitedRows::open(path, text, sep, options)?)
                    }
                    _ => Box::new(SdfRows::new(path, text, options)),
                }
            }
        };
        Ok(LibraryReader {
            rows,
            progress,
            path: path.to_path_buf(),
            ended: false,
        })
    }

    /// A handle for reporting progress from another thread.
    pub fn progress(&self) -> ReadProgress {
        self.progress.clone()
    }

    /// The library's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Iterator for LibraryReader {
    type Item = Result<LibraryRow, DataError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.ended {
            return None;
        }
        let item = self.rows.next();
        self.ended = matches!(item, None | Some(Err(_)));
        item
    }
}

impl std::iter::FusedIterator for LibraryReader {}

/// Decodes bytes as UTF-8, or says where they are not.
fn utf8(bytes: &[u8]) -> Result<String, String> {
    std::str::from_utf8(bytes)
        .map(str::to_string)
        .map_err(|e| format!("not valid UTF-8 (byte {})", e.valid_up_to() + 1))
}

/// `.smi` lines: `SMILES [id ...]`; blank lines and `#` comments are skipped, as is a first
/// line whose first word is `smiles` (a header).
struct SmiRows {
    path: PathBuf,
    reader: Box<dyn BufRead + Send>,
    buf: Vec<u8>,
    line: u64,
    row: u64,
}

impl SmiRows {
    fn new(path: &Path, reader: Box<dyn BufRead + Send>) -> Self {
        SmiRows {
            path: path.to_path_buf(),
            reader,
            buf: Vec::new(),
            line: 0,
            row: 0,
        }
    }
}

impl Iterator for SmiRows {
    type Item = Result<LibraryRow, DataError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            self.buf.clear();
            match self.reader.read_until(b'\n', &mut self.buf) {
                Err(source) => {
                    return Some(Err(DataError::Io {
                        path: self.path.clone(),
                        source,
                    }));
                }
                Ok(0) => return None,
                Ok(_) => self.line += 1,
            }
            let (text, error) = match utf8(&self.buf) {
                Ok(t) => (t, None),
                Err(e) => (String::from_utf8_lossy(&self.buf).into_owned(), Some(e)),
            };
            let text = text.trim();
            if text.is_empty() || text.starts_with('#') {
                continue;
            }
            let (smiles, id) = text
                .split_once(char::is_whitespace)
                .map_or((text, ""), |(s, rest)| (s, rest.trim()));
            if self.line == 1 && smiles.eq_ignore_ascii_case("smiles") {
                continue;
            }
            let row = LibraryRow {
                row: self.row,
                line: self.line,
                id: id.to_string(),
                molecule: MoleculeText::Smiles(smiles.to_string()),
                error,
            };
            self.row += 1;
            return Some(Ok(row));
        }
    }
}

/// Finds the identifier column among `names` (see [`LibraryOptions::id_column`]).
pub(crate) fn default_id_column(names: &[String]) -> Option<usize> {
    names.iter().position(|n| {
        let n = n.to_lowercase();
        n == "id" || n == "name" || n == "title" || n.ends_with("_id")
    })
}

/// Resolves the SMILES and id columns of a header.
pub(crate) fn pick_columns(
    path: &Path,
    names: &[String],
    options: &LibraryOptions,
) -> Result<(usize, Option<usize>), DataError> {
    let available = names.join(",");
    let find = |c: &str| {
        names
            .iter()
            .position(|n| n == c)
            .ok_or_else(|| DataError::MissingColumn {
                path: path.to_path_buf(),
                column: c.to_string(),
                available: available.clone(),
            })
    };
    let smiles = match &options.smiles_column {
        Some(c) => find(c)?,
        None => {
            super::reader::find_smiles_column(names).ok_or_else(|| DataError::NoSmilesColumn {
                path: path.to_path_buf(),
                available: available.clone(),
            })?
        }
    };
    let id = match &options.id_column {
        Some(c) => Some(find(c)?),
        None => default_id_column(names).filter(|&i| i != smiles),
    };
    Ok((smiles, id))
}

/// CSV/TSV rows; a row with the wrong number of fields or non-UTF-8 cells is yielded with an
/// error rather than ending the stream.
struct DelimitedRows {
    path: PathBuf,
    reader: csv::Reader<Box<dyn Read + Send>>,
    record: csv::ByteRecord,
    lines: RecordLines,
    n_fields: usize,
    smiles: usize,
    id: Option<usize>,
    row: u64,
}

impl DelimitedRows {
    fn open(
        path: &Path,
        text: Box<dyn BufRead + Send>,
        sep: u8,
        options: &LibraryOptions,
    ) -> Result<Self, DataError> {
        let lines = RecordLines::default();
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(sep)
            .has_headers(true)
            .flexible(true)
            .from_reader(lines.tap(text));
        let header = reader.byte_headers().map_err(|e| DataError::Malformed {
            path: path.to_path_buf(),
            line: 1,
            reason: e.to_string(),
        })?;
        let names: Vec<String> = header
            .iter()
            .map(|h| String::from_utf8_lossy(h).trim().to_string())
            .collect();
        let (smiles, id) = pick_columns(path, &names, options)?;
        Ok(DelimitedRows {
            path: path.to_path_buf(),
            n_fields: names.len(),
            reader,
            record: csv::ByteRecord::new(),
            lines,
            smiles,
            id,
            row: 0,
        })
    }
}

impl Iterator for DelimitedRows {
    type Item = Result<LibraryRow, DataError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.reader.read_byte_record(&mut self.record) {
            Ok(false) => return None,
            Ok(true) => {}
            Err(e) => {
                return Some(Err(DataError::Malformed {
                    path: self.path.clone(),
                    line: self.lines.line_of(e.position()),
                    reason: e.to_string(),
                }));
            }
        }
        let line = self.lines.line_of(self.record.position());
        let cell = |i: usize| self.record.get(i).map(utf8);
        let smiles = cell(self.smiles).unwrap_or(Ok(String::new()));
        let id = self.id.and_then(cell).unwrap_or(Ok(String::new()));
        let mut error = None;
        if self.record.len() != self.n_fields {
            error = Some(format!(
                "line {line}: {} fields, the header has {}",
                self.record.len(),
                self.n_fields
            ));
        }
        let lossy = |r: Result<String, String>, what: &str, error: &mut Option<String>| {
            r.unwrap_or_else(|e| {
                error.get_or_insert_with(|| format!("line {line}: {what} {e}"));
                String::new()
            })
        };
        let smiles = lossy(smiles, "SMILES", &mut error);
        let id = lossy(id, "id", &mut error);
        let row = LibraryRow {
            row: self.row,
            line,
            id: id.trim().to_string(),
            molecule: MoleculeText::Smiles(smiles.trim().to_string()),
            error,
        };
        self.row += 1;
        Some(Ok(row))
    }
}

/// SDF records; the id is the title line or the named data item.
struct SdfRows {
    path: PathBuf,
    records: SdfRecords<Box<dyn BufRead + Send>>,
    id_field: Option<String>,
}

impl SdfRows {
    fn new(path: &Path, text: Box<dyn BufRead + Send>, options: &LibraryOptions) -> Self {
        SdfRows {
            path: path.to_path_buf(),
            records: SdfRecords::new(text),
            id_field: options.id_column.clone(),
        }
    }
}

impl Iterator for SdfRows {
    type Item = Result<LibraryRow, DataError>;

    fn next(&mut self) -> Option<Self::Item> {
        let record = match self.records.next()? {
            Ok(r) => r,
            Err(source) => {
                return Some(Err(DataError::Io {
                    path: self.path.clone(),
                    source,
                }));
            }
        };
        let id = match &self.id_field {
            Some(name) => record
                .fields
                .iter()
                .find(|(n, _)| n == name)
                .map_or("", |(_, v)| v.as_str()),
            None => record.title(),
        };
        Some(Ok(LibraryRow {
            row: record.index as u64,
            line: record.line as u64,
            id: id.trim().to_string(),
            error: None,
            molecule: MoleculeText::Molblock(record.molblock),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Found by the fuzz campaign (`tests/fuzz.rs`, `library_smi_gz`): a truncated `.gz`
    /// library returned its decoder's error on every later call, so a reader that skipped
    /// errors never ended.
    #[test]
    fn a_truncated_gz_library_yields_its_rows_then_one_error_then_ends() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lib.smi.gz");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        for i in 0..200 {
            writeln!(gz, "C{} id{i}", "C".repeat(i % 7)).unwrap();
        }
        let bytes = gz.finish().unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 12]).unwrap();
        let items: Vec<_> = LibraryReader::open(&path, &LibraryOptions::default())
            .unwrap()
            .take(10_000)
            .collect();
        let errors = items.iter().filter(|r| r.is_err()).count();
        assert_eq!(errors, 1, "{} items", items.len());
        assert!(items.last().unwrap().is_err());
        assert!(items.len() <= 201);
    }
}
