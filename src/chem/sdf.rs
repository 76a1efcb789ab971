//! SDF records: a molfile block, then `> <field>` data items, then a `$$$$` line.
//! Splitting is streaming (one record in memory at a time); parsing goes through RDKit.

use std::io::BufRead;

use super::{error::ChemError, mol::Molecule};

/// One raw SDF record and where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdfRecord {
    /// 0-based index of the record in the file.
    pub index: usize,
    /// 1-based line number of the record's first line.
    pub line: usize,
    /// The molfile part (header, counts line, atom and bond blocks, `M  END`).
    pub molblock: String,
    /// Data items `(name, value)` in file order.
    pub fields: Vec<(String, String)>,
}

impl SdfRecord {
    /// The record's title line (the molecule name), trimmed.
    pub fn title(&self) -> &str {
        self.molblock.lines().next().unwrap_or("").trim()
    }

    /// Parses the molfile part with RDKit.
    pub fn molecule(&self) -> Result<Molecule, ChemError> {
        Molecule::from_molblock(&self.molblock)
    }
}

/// Iterates over the records of an SDF stream. I/O errors end the iteration with an `Err`;
/// a final record without `$$$$` is still returned.
pub struct SdfRecords<R> {
    reader: R,
    line_no: usize,
    index: usize,
    buf: Vec<u8>,
    done: bool,
}

impl<R: BufRead> SdfRecords<R> {
    /// Wraps a buffered reader.
    pub fn new(reader: R) -> Self {
        SdfRecords {
            reader,
            line_no: 0,
            index: 0,
            buf: Vec::new(),
            done: false,
        }
    }
}

impl<R: BufRead> Iterator for SdfRecords<R> {
    type Item = std::io::Result<SdfRecord>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let start_line = self.line_no + 1;
        let mut molblock = String::new();
        let mut fields: Vec<(String, String)> = Vec::new();
        let mut in_molblock = true;
        let mut any = false;
        loop {
            self.buf.clear();
            match self.reader.read_until(b'\n', &mut self.buf) {
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
                Ok(0) => {
                    self.done = true;
                    break;
                }
                Ok(_) => {}
            }
            self.line_no += 1;
            let line = String::from_utf8_lossy(&self.buf);
            let line = line.trim_end_matches(['\n', '\r']);
            if line == "$$$$" {
                any = true;
                break;
            }
            if !line.trim().is_empty() {
                any = true;
            }
            if in_molblock {
                molblock.push_str(line);
                molblock.push('\n');
                if line.starts_with("M  END") {
                    in_molblock = false;
                }
            } else if let Some(rest) = line.strip_prefix('>') {
                let name = rest
                    .split_once('<')
                    .and_then(|(_, r)| r.split_once('>'))
                    .map_or("", |(n, _)| n);
                fields.push((name.to_string(), String::new()));
            } else if let Some((_, value)) = fields.last_mut()
                && !line.is_empty()
            {
                if !value.is_empty() {
                    value.push('\n');
                }
                value.push_str(line);
            }
        }
        if !any {
            return None;
        }
        let record = SdfRecord {
            index: self.index,
            line: start_line,
            molblock,
            fields,
        };
        self.index += 1;
        Some(Ok(record))
    }
}
