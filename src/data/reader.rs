//! Opening delimited text files: `.gz` decompression and delimiter choice by extension.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::{Arc, Mutex};

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

/// The column that holds SMILES when none is named: the first whose name contains
/// "smiles", in any case (`smiles`, `SMILES`, `canonical_smiles`, `Smiles_1`).
pub fn find_smiles_column<S: AsRef<str>>(header: &[S]) -> Option<usize> {
    header
        .iter()
        .position(|h| h.as_ref().to_lowercase().contains("smiles"))
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

/// A CSV reader like [`csv_reader`] whose records' line numbers [`RecordLines`] can give.
pub fn csv_reader_with_lines(
    path: &Path,
) -> Result<(csv::Reader<Box<dyn Read + Send>>, RecordLines), DataError> {
    let lines = RecordLines::default();
    let reader = csv::ReaderBuilder::new()
        .delimiter(delimiter_for(path))
        .has_headers(true)
        .flexible(false)
        .from_reader(lines.tap(open_maybe_gz(path)?));
    Ok((reader, lines))
}

/// Exact 1-based line numbers of CSV records. The csv crate's own position of a record is
/// where it began parsing: the end of the previous record, before any line terminators and
/// blank lines in between (so off by one for CRLF files, and by the number of blank lines
/// before a record). A tracker sees the bytes the reader consumes ([`RecordLines::tap`]) and
/// finds each record's first byte after that position. It keeps only the bytes after the
/// last record asked about: call [`RecordLines::line_of`] for every record, in order.
#[derive(Debug, Clone, Default)]
pub struct RecordLines {
    state: Arc<Mutex<SeenBytes>>,
}

/// Bytes read but not yet behind a resolved record, and the newlines before them.
#[derive(Debug, Default)]
struct SeenBytes {
    /// File offset of `window[0]`.
    base: u64,
    window: VecDeque<u8>,
    newlines_before_base: u64,
}

/// A reader that shows a [`RecordLines`] every byte it passes on.
struct Tap {
    inner: Box<dyn BufRead + Send>,
    state: Arc<Mutex<SeenBytes>>,
}

impl Read for Tap {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Ok(mut seen) = self.state.lock() {
            seen.window.extend(&buf[..n]);
        }
        Ok(n)
    }
}

impl RecordLines {
    /// Wraps the reader a CSV reader will read, so the tracker sees its bytes.
    pub fn tap(&self, inner: Box<dyn BufRead + Send>) -> Box<dyn Read + Send> {
        Box::new(Tap {
            inner,
            state: Arc::clone(&self.state),
        })
    }

    /// 1-based line where the record at this csv position starts (0 without a position).
    pub fn line_of(&self, position: Option<&csv::Position>) -> u64 {
        let (Some(p), Ok(mut seen)) = (position, self.state.lock()) else {
            return 0;
        };
        // Forget everything before the parse position (records come in file order), then
        // step over line terminators to the record's first byte.
        let mut newlines = seen.newlines_before_base;
        let mut drop = usize::try_from(p.byte().saturating_sub(seen.base)).unwrap_or(usize::MAX);
        drop = drop.min(seen.window.len());
        newlines += seen
            .window
            .iter()
            .take(drop)
            .filter(|&&b| b == b'\n')
            .count() as u64;
        while let Some(&b) = seen.window.get(drop) {
            if b != b'\n' && b != b'\r' {
                break;
            }
            newlines += u64::from(b == b'\n');
            drop += 1;
        }
        seen.window.drain(..drop);
        seen.base += drop as u64;
        seen.newlines_before_base = newlines;
        newlines + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines of every record of `text` read through a tracked CSV reader.
    fn lines_of(text: &str) -> Vec<u64> {
        let lines = RecordLines::default();
        let inner: Box<dyn BufRead + Send> =
            Box::new(std::io::Cursor::new(text.as_bytes().to_vec()));
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(lines.tap(inner));
        reader
            .records()
            .map(|r| lines.line_of(r.unwrap().position()))
            .collect()
    }

    #[test]
    fn record_lines_are_exact_with_crlf_blank_lines_and_quoted_newlines() {
        assert_eq!(lines_of("a,b\n1,2\n3,4\n\n5,6\n7,8\n"), [2, 3, 5, 6]);
        assert_eq!(
            lines_of("a,b\r\n1,2\r\n3,4\r\n\r\n5,6\r\n7,8"),
            [2, 3, 5, 6]
        );
        assert_eq!(lines_of("a,b\r\n1,2\r\n\r\n\r\n5,6\r\n"), [2, 5]);
        // A quoted cell spanning two lines: the next record starts two lines later.
        assert_eq!(lines_of("a,b\n\"x\ny\",2\n3,4\n"), [2, 4]);
        // Long files: the tracker keeps up past the csv buffer.
        let mut long = String::from("a,b\n");
        for i in 0..5000 {
            long.push_str(&format!("{i},{}\r\n", "x".repeat(i % 7)));
            if i % 100 == 0 {
                long.push_str("\r\n");
            }
        }
        let got = lines_of(&long);
        assert_eq!(got.len(), 5000);
        assert_eq!(got[0], 2);
        assert_eq!(got[1], 4, "a blank line follows record 0");
        assert_eq!(got[4999], 2 + 4999 + 50);
    }
}
