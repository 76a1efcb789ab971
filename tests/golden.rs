//! Golden outputs: the bundled Tox21 model's screen of the bundled drugs and the committed
//! format-v1 model's predictions, as the commit before the scoring-core redesign (742a303)
//! wrote them (`fixtures/golden/`), must come out the same to 1e-6.

use std::path::Path;

use assert_cmd::Command;

/// Rows of a CSV file as (header, records).
fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header = reader.headers().unwrap().iter().map(String::from).collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

/// The numeric cells of `column` in both files agree to 1e-6, row by row.
fn assert_same_values(
    golden: &(Vec<String>, Vec<Vec<String>>),
    now: &(Vec<String>, Vec<Vec<String>>),
    columns: &[&str],
) {
    assert_eq!(golden.1.len(), now.1.len(), "row count");
    for column in columns {
        let g = golden.0.iter().position(|h| h == column).unwrap();
        let n = now.0.iter().position(|h| h == column).unwrap();
        for (i, (a, b)) in golden.1.iter().zip(&now.1).enumerate() {
            let (a, b): (f64, f64) = (a[g].parse().unwrap(), b[n].parse().unwrap());
            assert!(
                (a - b).abs() <= 1e-6,
                "row {i}, {column}: {a} then, {b} now"
            );
        }
    }
}

#[test]
fn bundled_tox21_screen_of_the_bundled_drugs_is_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("screen.csv");
    Command::cargo_bin("moltx")
        .unwrap()
        .args([
            "screen",
            "--library",
            "fixtures/approved_drugs.csv",
            "--quiet",
        ])
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let golden = read_csv(Path::new("fixtures/golden/tox21_screen_approved_drugs.csv"));
    let now = read_csv(&out);
    assert_eq!(golden.0, now.0, "same columns");
    let tasks: Vec<&str> = golden.0[3..golden.0.len() - 1]
        .iter()
        .map(String::as_str)
        .collect();
    assert_eq!(tasks.len(), 12);
    assert_same_values(&golden, &now, &tasks);
    for (g, n) in golden.1.iter().zip(&now.1) {
        assert_eq!(g[..3], n[..3], "row, id and SMILES");
    }
}

#[test]
fn format_v1_model_predictions_are_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("preds.csv");
    Command::cargo_bin("moltx")
        .unwrap()
        .args([
            "predict",
            "--model",
            "fixtures/models/format_v1_small.moltx",
        ])
        .args(["--input", "fixtures/approved_drugs.csv", "--quiet", "--out"])
        .arg(&out)
        .assert()
        .success();
    let golden = read_csv(Path::new(
        "fixtures/golden/format_v1_predict_approved_drugs.csv",
    ));
    let now = read_csv(&out);
    assert_same_values(&golden, &now, &["smiles_length"]);
}
