//! Hostile inputs found by trying moltx as a new user would: non-finite targets, and molecules
//! so large that RDKit's cubic atom ranking would stall a run.

use std::path::Path;
use std::time::{Duration, Instant};

use assert_cmd::Command;

/// A labelled table of the bundled drugs' first rows with one target cell replaced.
fn table_with_target(dir: &Path, bad_row: usize, bad_cell: &str) -> std::path::PathBuf {
    let mut text = String::from("smiles,y\n");
    for (i, smiles) in ["CCO", "CCN", "c1ccccc1", "CC(=O)O", "CCCC", "OCCO"]
        .iter()
        .enumerate()
    {
        let y = if i == bad_row {
            bad_cell.to_string()
        } else {
            format!("{}.5", i)
        };
        text.push_str(&format!("{smiles},{y}\n"));
    }
    let path = dir.join("labels.csv");
    std::fs::write(&path, text).unwrap();
    path
}

fn moltx(args: &[&str]) -> (bool, String, String) {
    let out = Command::cargo_bin("moltx")
        .unwrap()
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn non_finite_targets_are_errors_naming_row_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    for cell in ["inf", "-inf", "1e400", "-Infinity", "4e38"] {
        let data = table_with_target(dir.path(), 3, cell);
        let data = data.to_str().unwrap();
        let out = dir.path().join(format!("model-{cell}"));
        let (ok, _, stderr) = moltx(&[
            "train",
            "--data",
            data,
            "--epochs",
            "1",
            "--hidden",
            "8",
            "--ffn-hidden",
            "8",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(!ok, "{cell}: training must refuse a non-finite label");
        assert!(
            stderr.contains(&format!(
                "row 3 (line 5), column \"y\": \"{cell}\" is not a finite number"
            )),
            "{cell}: {stderr}"
        );
        assert!(
            !out.join("model_0.moltx").exists(),
            "{cell}: no model file may be written"
        );
        let (ok, stdout, stderr) = moltx(&["inspect", data]);
        assert!(!ok, "{cell}: inspect printed {stdout}");
        assert!(stderr.contains("is not a finite number"), "{stderr}");
    }
}

#[test]
fn huge_molecules_are_error_rows_and_never_parsed() {
    let dir = tempfile::tempdir().unwrap();
    // 2,000 carbons: RDKit 2022.09 takes about a minute to parse this; the limit answers at
    // once. A 400-carbon chain is below the default limit and must still be scored.
    let huge = "C".repeat(2000);
    let large = "C".repeat(400);
    let lib = dir.path().join("lib.csv");
    std::fs::write(
        &lib,
        format!("id,smiles\nethanol,CCO\nhuge,{huge}\nlarge,{large}\nbenzene,c1ccccc1\n"),
    )
    .unwrap();
    let out = dir.path().join("hits.csv");
    let started = Instant::now();
    let (ok, stdout, stderr) = moltx(&[
        "screen",
        "--library",
        lib.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(ok, "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(40),
        "the huge row was parsed: {:?}",
        started.elapsed()
    );
    let mut reader = csv::Reader::from_path(&out).unwrap();
    let headers = reader.headers().unwrap().clone();
    let error = headers.iter().position(|h| h == "error").unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 4, "one output row per input row");
    assert_eq!(&rows[1][1], "huge");
    assert_eq!(&rows[1][error], "too large: 2000 heavy atoms, limit 500");
    for ok_row in [0, 2, 3] {
        assert_eq!(&rows[ok_row][error], "", "row {ok_row}");
    }
    assert!(
        stdout.contains("1 failed") || stderr.contains("1 failed"),
        "{stdout}{stderr}"
    );
    assert!(
        stdout.contains("too large") || stderr.contains("too large"),
        "{stdout}{stderr}"
    );

    // A lower limit turns the 400-carbon chain away too, in predict as in screen.
    let preds = dir.path().join("preds.csv");
    let (ok, _, stderr) = moltx(&[
        "predict",
        "--model",
        "fixtures/models/tox21",
        "--input",
        lib.to_str().unwrap(),
        "--out",
        preds.to_str().unwrap(),
        "--max-atoms",
        "100",
    ]);
    assert!(ok, "{stderr}");
    let mut reader = csv::Reader::from_path(&preds).unwrap();
    let errors: Vec<String> = reader
        .records()
        .map(|r| r.unwrap().iter().next_back().unwrap().to_string())
        .collect();
    assert_eq!(
        errors,
        [
            "",
            "too large: 2000 heavy atoms, limit 100",
            "too large: 400 heavy atoms, limit 100",
            ""
        ]
    );
}

#[test]
fn inspect_counts_too_large_molecules_by_reason() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d.csv");
    std::fs::write(
        &data,
        format!("smiles,y\nCCO,1\n{},2\nCCN,3\n", "C".repeat(3000)),
    )
    .unwrap();
    let (ok, stdout, stderr) = moltx(&["inspect", data.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("failed         1"), "{stdout}");
    assert!(stdout.contains("too large"), "{stdout}");
    assert!(stdout.contains("3000 heavy atoms, limit 500"), "{stdout}");
}

#[test]
fn a_second_training_run_into_the_same_folder_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = table_with_target(dir.path(), 0, "0.5");
    let out = dir.path().join("model");
    let args = [
        "train",
        "--data",
        data.to_str().unwrap(),
        "--epochs",
        "1",
        "--hidden",
        "8",
        "--ffn-hidden",
        "8",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ];
    // This test process holds the folder's lock, as a running `moltx train` would.
    let lock = moltx::data::OutputLock::acquire(&out).unwrap();
    let (ok, _, stderr) = moltx(&args);
    assert!(!ok, "the second run must be refused");
    assert!(
        stderr.contains("another moltx run is writing this output"),
        "{stderr}"
    );
    assert!(!out.join("model_0.moltx").exists());
    drop(lock);
    let (ok, _, stderr) = moltx(&args);
    assert!(ok, "{stderr}");
    assert!(out.join("model_0.moltx").exists());
}
