//! Row-level faults in streaming libraries: a valid CSV/TSV/`.smi`/SDF file of `n` records
//! with one record made faulty (a bad SMILES, a ragged row, invalid UTF-8, a NUL, a quoted
//! delimiter, CRLF, blank and comment lines, a broken molblock). The reader must yield exactly
//! `n` rows, the faulty one in its place (flagged where the fault makes it unreadable), and
//! every other row exactly as written, with its row index and line number.

use std::path::Path;

use moltx::data::{
    LibraryOptions, LibraryReader, LibraryRow, MoleculeTable, MoleculeText, TableOptions,
};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{TestCaseError, TestError};

use super::harness::{cases, quietly, runner, scratch};
use super::mutate::escape;
use super::seeds::{drugs, molblock};

/// Library formats under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    Tsv,
    Smi,
    Sdf,
}

/// What is wrong with the faulty record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// A SMILES RDKit rejects (the reader passes it on unchanged).
    BadSmiles(usize),
    /// One field too many (delimited) or trailing words (`.smi`).
    ExtraField,
    /// The id field is missing (delimited only).
    MissingField,
    /// A `\xff` byte inside the SMILES (or SDF title).
    InvalidUtf8,
    /// A NUL byte inside the SMILES.
    Nul,
    /// The SMILES quoted, with the delimiter inside (delimited only).
    QuotedDelimiter,
    /// The record ends in CRLF.
    Crlf,
    /// Blank lines (and a `.smi` comment) before the record.
    BlankLines,
    /// The molblock replaced by garbage without `M  END` (SDF only).
    BrokenMolblock,
}

/// SMILES RDKit rejects, none containing a delimiter, quote or line end.
const BAD_SMILES: &[&str] = &["C1CC(", "Q", "[Xx]", "C%%", "c1cccc1", "))((", "C=1=C"];

/// The faults that apply to a format.
fn fault(format: Format) -> impl Strategy<Value = Fault> {
    let delimited = matches!(format, Format::Csv | Format::Tsv);
    let mut faults = vec![Fault::InvalidUtf8, Fault::Crlf];
    if format == Format::Sdf {
        faults.push(Fault::BrokenMolblock);
    } else {
        faults.extend([Fault::ExtraField, Fault::Nul, Fault::BlankLines]);
        faults.extend((0..BAD_SMILES.len()).map(Fault::BadSmiles));
    }
    if delimited {
        faults.extend([Fault::MissingField, Fault::QuotedDelimiter]);
    }
    proptest::sample::select(faults)
}

fn format() -> impl Strategy<Value = Format> {
    prop_oneof![
        Just(Format::Csv),
        Just(Format::Tsv),
        Just(Format::Smi),
        Just(Format::Sdf)
    ]
}

/// A file and the rows the reader must yield (the faulty row's contents are checked apart).
struct Built {
    bytes: Vec<u8>,
    expected: Vec<LibraryRow>,
    /// Whether the faulty row must carry an error.
    flagged: bool,
}

/// Writes `n` records with the fault at `k`.
fn build(format: Format, n: usize, k: usize, fault: Fault) -> Built {
    let records = drugs(n);
    let d = if format == Format::Tsv { b'\t' } else { b',' };
    let mut bytes = Vec::new();
    let mut line = 1u64;
    let mut expected = Vec::new();
    let mut flagged = false;
    if matches!(format, Format::Csv | Format::Tsv) {
        bytes.extend_from_slice(&[b"name".as_slice(), &[d], b"smiles\n"].concat());
        line += 1;
    }
    for (i, (id, smiles)) in records.iter().enumerate() {
        let here = i == k;
        if here && fault == Fault::BlankLines && format != Format::Sdf {
            let extra: &[u8] = if format == Format::Smi {
                b"\n# note\n  \n"
            } else {
                b"\n\r\n"
            };
            bytes.extend_from_slice(extra);
            line += extra.iter().filter(|&&b| b == b'\n').count() as u64;
        }
        let mut smiles_bytes = smiles.as_bytes().to_vec();
        let mut id_text = id.clone();
        let mut eol: &[u8] = b"\n";
        if here {
            match fault {
                Fault::BadSmiles(b) => smiles_bytes = BAD_SMILES[b].as_bytes().to_vec(),
                Fault::InvalidUtf8 if format == Format::Sdf => id_text.insert(1, '\u{fffd}'),
                Fault::InvalidUtf8 => {
                    smiles_bytes.insert(1, 0xff);
                    flagged = true;
                }
                Fault::Nul => smiles_bytes.insert(1, 0),
                Fault::Crlf => eol = b"\r\n",
                _ => {}
            }
        }
        let start = line;
        let mut text_smiles = String::from_utf8_lossy(&smiles_bytes).into_owned();
        match format {
            Format::Csv | Format::Tsv => {
                let mut rec = id_text.as_bytes().to_vec();
                match (here, fault) {
                    (true, Fault::MissingField) => flagged = true,
                    (true, Fault::QuotedDelimiter) => {
                        text_smiles = format!("{smiles}{}x", d as char);
                        rec.push(d);
                        rec.extend_from_slice(format!("\"{text_smiles}\"").as_bytes());
                    }
                    _ => {
                        rec.push(d);
                        rec.extend_from_slice(&smiles_bytes);
                    }
                }
                if here && fault == Fault::ExtraField {
                    rec.extend_from_slice(&[d, b'x']);
                    flagged = true;
                }
                bytes.extend_from_slice(&rec);
                bytes.extend_from_slice(eol);
                line += 1;
            }
            Format::Smi => {
                bytes.extend_from_slice(&smiles_bytes);
                bytes.push(b' ');
                bytes.extend_from_slice(id.as_bytes());
                if here && fault == Fault::ExtraField {
                    bytes.extend_from_slice(b" extra words");
                    id_text = format!("{id} extra words");
                }
                bytes.extend_from_slice(eol);
                line += 1;
            }
            Format::Sdf => {
                let mut block = molblock(&id_text, 2 + i % 4);
                if here && fault == Fault::BrokenMolblock {
                    block = format!("{id_text}\ngarbage\n  9  9  0\nnot an atom\n");
                }
                let text = format!("{block}> <id>\n{id}\n\n$$$$\n");
                if here && fault == Fault::InvalidUtf8 {
                    // The title holds U+FFFD where the file has a lone 0xff byte.
                    let at = text.find('\u{fffd}').expect("marker");
                    let mut b = text.clone().into_bytes();
                    b.splice(at..at + 3, [0xff]);
                    bytes.extend_from_slice(&b);
                } else if here && fault == Fault::Crlf {
                    bytes.extend_from_slice(text.replace('\n', "\r\n").as_bytes());
                } else {
                    bytes.extend_from_slice(text.as_bytes());
                }
                line += text.matches('\n').count() as u64;
                if here && fault == Fault::BrokenMolblock {
                    // Without `M  END` the data items stay in the molblock.
                    block = text.trim_end_matches("$$$$\n").to_string();
                }
                expected.push(LibraryRow {
                    row: i as u64,
                    line: start,
                    id: id_text.trim().to_string(),
                    molecule: MoleculeText::Molblock(block),
                    error: None,
                });
                continue;
            }
        }
        expected.push(LibraryRow {
            row: i as u64,
            line: start,
            id: id_text.trim().to_string(),
            molecule: MoleculeText::Smiles(text_smiles.trim().to_string()),
            error: None,
        });
    }
    Built {
        bytes,
        expected,
        flagged,
    }
}

/// Reads a library completely (a stream error fails the case).
fn read(path: &Path) -> Result<Vec<LibraryRow>, TestCaseError> {
    let reader = LibraryReader::open(path, &LibraryOptions::default())
        .map_err(|e| TestCaseError::fail(format!("open: {e}")))?;
    reader
        .take(10_000)
        .map(|r| r.map_err(|e| TestCaseError::fail(format!("stream error: {e}"))))
        .collect()
}

/// Checks one faulty file.
fn check(
    dir: &Path,
    format: Format,
    n: usize,
    k: usize,
    fault: Fault,
) -> Result<(), TestCaseError> {
    let built = build(format, n, k, fault);
    let name = match format {
        Format::Csv => "lib.csv",
        Format::Tsv => "lib.tsv",
        Format::Smi => "lib.smi",
        Format::Sdf => "lib.sdf",
    };
    let path = dir.join(name);
    std::fs::write(&path, &built.bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let rows = read(&path)?;
    let context = || format!("input: b\"{}\"", escape(&built.bytes));
    prop_assert_eq!(rows.len(), n, "rows yielded; {}", context());
    for (i, (got, want)) in rows.iter().zip(&built.expected).enumerate() {
        if i == k {
            prop_assert_eq!(got.row, want.row, "faulty row index; {}", context());
            prop_assert_eq!(got.line, want.line, "faulty row line; {}", context());
            prop_assert_eq!(
                got.error.is_some(),
                built.flagged,
                "faulty row error {:?}; {}",
                got.error,
                context()
            );
            if !built.flagged {
                prop_assert_eq!(got, want, "faulty row; {}", context());
            }
        } else {
            prop_assert_eq!(got, want, "row {} around the fault; {}", i, context());
        }
    }
    if let (Fault::BadSmiles(_), Format::Csv | Format::Tsv) = (fault, format) {
        // The labelled-table reader reports the row and reads the rest.
        let table = MoleculeTable::read(&path, &TableOptions::default())
            .map_err(|e| TestCaseError::fail(format!("table: {e}")))?;
        prop_assert_eq!(table.n_rows, n);
        prop_assert_eq!(table.failures.len(), 1);
        prop_assert_eq!(table.failures[0].row, k);
        prop_assert_eq!(table.len(), n - 1);
    }
    Ok(())
}

/// Runs the row-fault property for `cases` cases.
fn run(cases: u32) {
    let dir = scratch();
    let strategy = format()
        .prop_flat_map(|format| (Just(format), 2..10usize, any::<Index>(), fault(format)))
        .prop_map(|(format, n, k, fault)| (format, n, k.index(n), fault));
    let mut runner = runner("library_rows", cases);
    let result = quietly(|| {
        runner.run(&strategy, |(format, n, k, fault)| {
            check(dir.path(), format, n, k, fault)
        })
    });
    eprintln!("fuzz {:<18} {cases:>7} cases", "library_rows");
    match result {
        Ok(()) => {}
        Err(TestError::Fail(reason, case)) => {
            panic!("library_rows: {reason}\nminimal case: {case:?}")
        }
        Err(TestError::Abort(reason)) => panic!("library_rows: aborted: {reason}"),
    }
}

#[test]
fn fuzz_library_rows_sample() {
    run(cases(false));
}

#[test]
#[ignore = "full fuzz campaign: cargo test --release --test fuzz -- --ignored fuzz"]
fn fuzz_library_rows_full() {
    run(cases(true));
}
