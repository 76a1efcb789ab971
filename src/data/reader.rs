//! Opening delimited text files: `.gz` decompression and delimiter choice by extension.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use super::error::DataError;
pub use crate::expr::textio::{base_name, is_gz};

/// Opens a file for buffered reading, decompressing it when its name ends in `.gz`.
pub fn open_maybe_gz(path: &Path) -> Result<Box<dyn BufRead + Send>, DataError> {
    let file = File::open(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let inner: Box<dyn Read + Send> = if is_gz(path) {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    Ok(Box::new(BufReader::with_capacity(1 << 16, inner)))
}

/// Tab for `.tsv`/`.tab` files (optionally gzipped), comma otherwise.
pub fn delimiter_for(path: &Path) -> u8 {
    let name = base_name(path);
    if name.ends_with(".tsv") || name.ends_with(".tab") {
        b'\t'
    } else {
        b','
    }
}

/// A CSV reader over a (possibly gzipped) file with the delimiter its name implies.
pub fn csv_reader(path: &Path) -> Result<csv::Reader<Box<dyn BufRead + Send>>, DataError> {
    Ok(csv::ReaderBuilder::new()
        .delimiter(delimiter_for(path))
        .has_headers(true)
        .flexible(false)
        .from_reader(open_maybe_gz(path)?))
}

/// Line numbers of CSV records. The csv crate places a record's start on the `\n` of a
/// preceding `\r\n`, one line early; this corrects that for files whose first line ends in CRLF.
#[derive(Debug, Clone, Copy, Default)]
pub struct RecordLines {
    crlf: bool,
}

impl RecordLines {
    /// Sniffs the first line of the file.
    pub fn sniff(path: &Path) -> Result<Self, DataError> {
        let mut reader = open_maybe_gz(path)?;
        let mut first = Vec::new();
        reader
            .read_until(b'\n', &mut first)
            .map_err(|source| DataError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(RecordLines {
            crlf: first.ends_with(b"\r\n"),
        })
    }

    /// 1-based line number where a data record (not the header) starts.
    pub fn line_of(&self, position: Option<&csv::Position>) -> u64 {
        position.map_or(0, |p| p.line() + u64::from(self.crlf))
    }
}
