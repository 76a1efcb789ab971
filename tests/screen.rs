//! Library readers and the screening pipeline on small generated libraries, with the bundled
//! Tox21 model.

use std::io::Write;
use std::path::{Path, PathBuf};

use burn::tensor::Device;
use moltx::data::{LibraryOptions, LibraryReader, LibraryRow, MoleculeText};
use moltx::model::Ensemble;
use moltx::model::bundled::bundled_tox21;
use moltx::screen::{ScreenOptions, ScreenSummary, Shard, TopKOption, screen};

const ETHANOL: &str = "ethanol\n  manual\n\n  3  2  0  0  0  0  0  0  0  0999 V2000\n    0.0000    0.0000    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0\n    1.5000    0.0000    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0\n    2.0000    1.0000    0.0000 O   0  0  0  0  0  0  0  0  0  0  0  0\n  1  2  1  0\n  2  3  1  0\nM  END\n";

/// (name, SMILES) of the bundled approved drugs.
fn drugs() -> Vec<(String, String)> {
    let text = std::fs::read_to_string("fixtures/approved_drugs.csv").unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let (n, s) = l.split_once(',').unwrap();
            (n.to_string(), s.to_string())
        })
        .collect()
}

fn read_all(path: &Path, options: &LibraryOptions) -> Vec<LibraryRow> {
    LibraryReader::open(path, options)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn smiles_of(row: &LibraryRow) -> &str {
    match &row.molecule {
        MoleculeText::Smiles(s) => s,
        MoleculeText::Molblock(_) => panic!("expected SMILES"),
    }
}

fn gz(path: &Path, bytes: &[u8]) {
    let mut e = flate2::write::GzEncoder::new(
        std::fs::File::create(path).unwrap(),
        flate2::Compression::fast(),
    );
    e.write_all(bytes).unwrap();
    e.finish().unwrap();
}

#[test]
fn smi_reader_skips_header_blank_and_comment_lines_and_flags_bad_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes =
        b"smiles name\r\nCCO ethanol\r\n\r\n# a comment\nc1ccccc1   benzene ring\n".to_vec();
    bytes.extend_from_slice(b"CC\xffO bad\nC\n");
    for (name, compress) in [("lib.smi", false), ("lib.smi.gz", true)] {
        let path = dir.path().join(name);
        if compress {
            gz(&path, &bytes);
        } else {
            std::fs::write(&path, &bytes).unwrap();
        }
        let rows = read_all(&path, &LibraryOptions::default());
        assert_eq!(rows.len(), 4, "{name}");
        assert_eq!(rows.iter().map(|r| r.row).collect::<Vec<_>>(), [0, 1, 2, 3]);
        assert_eq!(
            rows.iter().map(|r| r.line).collect::<Vec<_>>(),
            [2, 5, 6, 7]
        );
        assert_eq!(
            (smiles_of(&rows[0]), rows[0].id.as_str()),
            ("CCO", "ethanol")
        );
        assert_eq!(rows[1].id, "benzene ring");
        assert!(rows[2].error.as_deref().unwrap().contains("UTF-8"));
        assert_eq!((smiles_of(&rows[3]), rows[3].id.as_str()), ("C", ""));
        assert!(
            rows.iter()
                .enumerate()
                .all(|(i, r)| (i == 2) == r.error.is_some())
        );
    }
}

#[test]
fn csv_reader_handles_crlf_ids_short_rows_and_bad_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lib.csv");
    let mut bytes = b"zinc_id,SMILES,mw\r\nZ1,CCO,46\r\nZ2,c1ccccc1\r\nZ3,CC".to_vec();
    bytes.extend_from_slice(b"\xfe,1\r\n\r\nZ4,\"C(=O)O\",46\r\n");
    std::fs::write(&path, &bytes).unwrap();
    let rows = read_all(&path, &LibraryOptions::default());
    assert_eq!(rows.len(), 4);
    // Z4 follows a blank CRLF line: line 6.
    assert_eq!(
        rows.iter().map(|r| r.line).collect::<Vec<_>>(),
        [2, 3, 4, 6]
    );
    assert_eq!(rows.iter().map(|r| r.row).collect::<Vec<_>>(), [0, 1, 2, 3]);
    assert_eq!(rows[0].id, "Z1");
    assert!(
        rows[1]
            .error
            .as_deref()
            .unwrap()
            .contains("2 fields, the header has 3")
    );
    assert!(rows[2].error.as_deref().unwrap().contains("UTF-8"));
    assert_eq!(
        (smiles_of(&rows[3]), rows[3].error.as_ref()),
        ("C(=O)O", None)
    );

    let tsv = dir.path().join("lib.tsv.gz");
    gz(&tsv, b"name\tsmi\nwater\tO\n");
    let options = LibraryOptions {
        smiles_column: Some("smi".into()),
        id_column: None,
    };
    let rows = read_all(&tsv, &options);
    assert_eq!((smiles_of(&rows[0]), rows[0].id.as_str()), ("O", "water"));
    let missing = LibraryOptions {
        smiles_column: Some("nope".into()),
        id_column: None,
    };
    let err = LibraryReader::open(&tsv, &missing).unwrap_err().to_string();
    assert!(err.contains("no column named \"nope\""), "{err}");
}

#[test]
fn sdf_reader_names_records_and_keeps_a_broken_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lib.sdf.gz");
    let text = format!(
        "{ETHANOL}> <id>\nE-1\n\n$$$$\nbroken\n  x\n\n  9  9  0  0\nM  END\n$$$$\n{ETHANOL}$$$$\n"
    );
    gz(&path, text.as_bytes());
    let rows = read_all(&path, &LibraryOptions::default());
    assert_eq!(rows.len(), 3);
    assert_eq!(
        rows.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["ethanol", "broken", "ethanol"]
    );
    let by_item = LibraryOptions {
        smiles_column: None,
        id_column: Some("id".into()),
    };
    assert_eq!(read_all(&path, &by_item)[0].id, "E-1");
}

/// Writes `(id, smiles)` pairs (None = null SMILES) as Parquet.
fn write_parquet(path: &Path, rows: &[(&str, Option<&str>)]) {
    use parquet::data_type::{ByteArray, ByteArrayType};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::parser::parse_message_type;
    use std::sync::Arc;
    let schema = parse_message_type(
        "message lib { required binary id (UTF8); optional binary smiles (UTF8); }",
    )
    .unwrap();
    let file = std::fs::File::create(path).unwrap();
    let props = Arc::new(WriterProperties::builder().build());
    let mut writer = SerializedFileWriter::new(file, Arc::new(schema), props).unwrap();
    let mut group = writer.next_row_group().unwrap();
    let ids: Vec<ByteArray> = rows.iter().map(|r| ByteArray::from(r.0)).collect();
    let smiles: Vec<ByteArray> = rows
        .iter()
        .filter_map(|r| r.1.map(ByteArray::from))
        .collect();
    let def: Vec<i16> = rows.iter().map(|r| i16::from(r.1.is_some())).collect();
    let mut col = group.next_column().unwrap().unwrap();
    col.typed::<ByteArrayType>()
        .write_batch(&ids, None, None)
        .unwrap();
    col.close().unwrap();
    let mut col = group.next_column().unwrap().unwrap();
    col.typed::<ByteArrayType>()
        .write_batch(&smiles, Some(&def), None)
        .unwrap();
    col.close().unwrap();
    group.close().unwrap();
    writer.close().unwrap();
}

#[test]
fn parquet_reader_reads_the_smiles_column_and_flags_nulls() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lib.parquet");
    write_parquet(
        &path,
        &[("a", Some("CCO")), ("b", None), ("c", Some("c1ccccc1"))],
    );
    let rows = read_all(&path, &LibraryOptions::default());
    assert_eq!(rows.len(), 3);
    assert_eq!((smiles_of(&rows[0]), rows[0].id.as_str()), ("CCO", "a"));
    assert!(rows[1].error.as_deref().unwrap().contains("null"));
    assert_eq!((rows[2].row, smiles_of(&rows[2])), (2, "c1ccccc1"));
}

/// A library of the bundled drugs repeated `copies` times, with a few rows RDKit rejects.
fn library(dir: &Path, copies: usize) -> PathBuf {
    let path = dir.join("lib.smi");
    let mut text = String::new();
    for c in 0..copies {
        for (i, (name, smiles)) in drugs().iter().enumerate() {
            if i == 7 {
                text.push_str(&format!("C1CC( broken-ring-{c}\n"));
            }
            text.push_str(&format!("{smiles} {name}-{c}\n"));
        }
    }
    std::fs::write(&path, text).unwrap();
    path
}

fn model() -> Ensemble {
    Ensemble::new(
        vec![bundled_tox21(&Device::flex()).unwrap()],
        Path::new("bundled"),
    )
    .unwrap()
}

fn run(lib: &Path, out: &Path, options: &ScreenOptions) -> ScreenSummary {
    screen(lib, &model(), out, options, &Device::flex(), &mut |_| {}).unwrap()
}

fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    r.records()
        .map(|rec| rec.unwrap().iter().map(String::from).collect())
        .collect()
}

#[test]
fn every_row_comes_out_once_in_order_with_failures_explained() {
    let dir = tempfile::tempdir().unwrap();
    let lib = library(dir.path(), 2);
    let out = dir.path().join("out.csv");
    let options = ScreenOptions {
        chunk_size: 10,
        batch_size: 7,
        ..ScreenOptions::default()
    };
    let summary = run(&lib, &out, &options);
    let rows = csv_rows(&out);
    let n = 2 * (drugs().len() + 1);
    assert_eq!(rows.len(), n);
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row[0], i.to_string());
    }
    let failed: Vec<&Vec<String>> = rows.iter().filter(|r| !r[15].is_empty()).collect();
    assert_eq!(failed.len(), 2);
    assert!(failed[0][1].starts_with("broken-ring"));
    assert!(failed[0][3].is_empty(), "a failed row has no predictions");
    assert_eq!(summary.scored, n as u64 - 2);
    assert_eq!(summary.failed.values().sum::<u64>(), 2);
    assert_eq!(summary.rows_read, n as u64);
    // Predictions do not depend on chunking or batching.
    let other = dir.path().join("other.csv");
    run(&lib, &other, &ScreenOptions::default());
    assert_eq!(csv_rows(&other), rows);
    assert!(!moltx::screen::resume::manifest_path(&out).exists());
}

#[test]
fn top_k_equals_sorting_the_full_output() {
    let dir = tempfile::tempdir().unwrap();
    let lib = library(dir.path(), 1);
    let full = dir.path().join("full.csv");
    run(&lib, &full, &ScreenOptions::default());
    let task = "SR-MMP";
    for ascending in [false, true] {
        let top = dir.path().join("top.csv");
        let options = ScreenOptions {
            chunk_size: 9,
            top_k: Some(TopKOption {
                k: 5,
                task: task.into(),
                ascending,
            }),
            ..ScreenOptions::default()
        };
        run(&lib, &top, &options);
        let col = 3 + 10; // row, id, smiles, then tasks in model order (SR-MMP is the 11th)
        let mut all: Vec<Vec<String>> = csv_rows(&full)
            .into_iter()
            .filter(|r| !r[col].is_empty())
            .collect();
        all.sort_by(|a, b| {
            let (x, y): (f64, f64) = (a[col].parse().unwrap(), b[col].parse().unwrap());
            let o = if ascending {
                x.total_cmp(&y)
            } else {
                y.total_cmp(&x)
            };
            o.then(a[0].parse::<u64>().unwrap().cmp(&b[0].parse().unwrap()))
        });
        all.truncate(5);
        assert_eq!(csv_rows(&top), all, "ascending={ascending}");
    }
}

#[test]
fn shards_partition_the_rows() {
    let dir = tempfile::tempdir().unwrap();
    let lib = library(dir.path(), 1);
    let full = dir.path().join("full.csv");
    run(&lib, &full, &ScreenOptions::default());
    let mut merged = Vec::new();
    for index in 0..3 {
        let out = dir.path().join(format!("shard{index}.csv"));
        let options = ScreenOptions {
            shard: Some(Shard { index, count: 3 }),
            ..ScreenOptions::default()
        };
        let summary = run(&lib, &out, &options);
        let rows = csv_rows(&out);
        assert!(
            rows.iter()
                .all(|r| r[0].parse::<u64>().unwrap() % 3 == index)
        );
        assert_eq!(summary.rows_in_shard, rows.len() as u64);
        merged.extend(rows);
    }
    merged.sort_by_key(|r| r[0].parse::<u64>().unwrap());
    assert_eq!(merged, csv_rows(&full));
    assert!("3/3".parse::<Shard>().is_err());
    assert!("1-3".parse::<Shard>().is_err());
}

#[test]
fn parquet_output_has_the_same_rows() {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::RowAccessor;
    let dir = tempfile::tempdir().unwrap();
    let lib = library(dir.path(), 1);
    let (csv_out, pq_out) = (dir.path().join("o.csv"), dir.path().join("o.parquet"));
    run(&lib, &csv_out, &ScreenOptions::default());
    let options = ScreenOptions {
        chunk_size: 20,
        ..ScreenOptions::default()
    };
    run(&lib, &pq_out, &options);
    let reader = SerializedFileReader::new(std::fs::File::open(&pq_out).unwrap()).unwrap();
    assert_eq!(reader.metadata().num_row_groups(), 4);
    let expected = csv_rows(&csv_out);
    let rows: Vec<_> = reader
        .get_row_iter(None)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows.len(), expected.len());
    for (row, want) in rows.iter().zip(&expected) {
        assert_eq!(row.get_long(0).unwrap().to_string(), want[0]);
        assert_eq!(row.get_string(1).unwrap(), &want[1]);
        match row.get_double(3) {
            Ok(v) => assert_eq!(format!("{v:.6}"), want[3]),
            Err(_) => assert!(want[3].is_empty() && !want[15].is_empty()),
        }
    }
}
