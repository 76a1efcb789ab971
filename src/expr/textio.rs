//! Small helpers shared by the text formats: transparent `.gz`, number parsing.

use super::error::{ExprError, Result};
use flate2::Compression;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

/// True when the path ends in `.gz`.
pub fn is_gz(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"))
}

/// The file name with a trailing `.gz` removed, lower-cased (for format detection).
pub fn base_name(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    name.strip_suffix(".gz").map(str::to_string).unwrap_or(name)
}

/// Opens a text file for buffered reading, decompressing it when it ends in `.gz`.
pub fn open_text(path: &Path) -> Result<Box<dyn BufRead>> {
    let file = File::open(path).map_err(|e| ExprError::io(path, e))?;
    if is_gz(path) {
        Ok(Box::new(BufReader::new(MultiGzDecoder::new(file))))
    } else {
        Ok(Box::new(BufReader::new(file)))
    }
}

/// Creates a text file for buffered writing, gzip-compressing it when it ends in `.gz`.
pub fn create_text(path: &Path) -> Result<Box<dyn Write>> {
    let file = File::create(path).map_err(|e| ExprError::io(path, e))?;
    if is_gz(path) {
        Ok(Box::new(BufWriter::new(GzEncoder::new(
            file,
            Compression::default(),
        ))))
    } else {
        Ok(Box::new(BufWriter::new(file)))
    }
}

/// Reads the next line (without the trailing `\n`/`\r\n`), counting lines.
/// Returns `Ok(None)` at end of file.
pub fn next_line(
    reader: &mut dyn BufRead,
    buf: &mut String,
    line_no: &mut usize,
    path: &Path,
) -> Result<Option<()>> {
    buf.clear();
    let n = reader.read_line(buf).map_err(|e| ExprError::io(path, e))?;
    if n == 0 {
        return Ok(None);
    }
    *line_no += 1;
    while buf.ends_with('\n') || buf.ends_with('\r') {
        buf.pop();
    }
    Ok(Some(()))
}

/// Parses a numeric cell. Empty cells and `NA`/`NaN`/`nan` are read as NaN.
pub fn parse_value(cell: &str, path: &Path, line: usize, column: &str) -> Result<f64> {
    let t = cell.trim();
    match t {
        "" | "NA" | "NaN" | "nan" | "NAN" | "na" => Ok(f64::NAN),
        _ => t
            .parse::<f64>()
            .map_err(|_| ExprError::parse_at(path, line, column, format!("not a number: '{t}'"))),
    }
}

/// Formats a value for text output (`NaN` for missing, shortest round-trip form otherwise).
pub fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else {
        format!("{v}")
    }
}

/// Maps a write error to [`ExprError::Io`].
pub fn werr(path: &Path) -> impl Fn(std::io::Error) -> ExprError + '_ {
    move |e| ExprError::io(path, e)
}
