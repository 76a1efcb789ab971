//! Target columns whose names hold commas (SIDER's do) are named whole with `--target NAME`
//! (repeated) or `--targets-file FILE`; `--targets A,B` stays for simple names.

use assert_cmd::Command;

/// A SIDER column name.
const NEOPLASMS: &str = "Neoplasms benign, malignant and unspecified (incl cysts and polyps)";

/// A CSV of the bundled drugs with a comma-named 0/1 column and a numeric one.
fn table(dir: &std::path::Path) -> std::path::PathBuf {
    let drugs = std::fs::read_to_string("fixtures/approved_drugs.csv").unwrap();
    let mut text = format!("smiles,\"{NEOPLASMS}\",len\n");
    for (i, line) in drugs.lines().skip(1).enumerate() {
        let smiles = line.split_once(',').unwrap().1;
        text.push_str(&format!(
            "{smiles},{},{}\n",
            i % 2,
            smiles.len() as f64 / 10.0
        ));
    }
    let path = dir.join("sider.csv");
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
fn a_column_name_with_commas_is_a_target_of_inspect_train_and_evaluate() {
    let dir = tempfile::tempdir().unwrap();
    let data = table(dir.path());
    let data = data.to_str().unwrap();
    // inspect: one task of that whole name.
    let (ok, out, err) = moltx(&["inspect", data, "--target", NEOPLASMS, "--json"]);
    assert!(ok, "{err}");
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    let tasks = summary["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 1, "{out}");
    assert_eq!(tasks[0]["name"], NEOPLASMS);
    // The comma form splits the name, so it names columns that do not exist.
    let (ok, _, err) = moltx(&["inspect", data, "--targets", NEOPLASMS]);
    assert!(!ok);
    assert!(
        err.contains("no column named \"Neoplasms benign\""),
        "{err}"
    );
    // train: repeated --target, in order.
    let model = dir.path().join("model");
    let (ok, out, err) = moltx(&[
        "train",
        "--data",
        data,
        "--target",
        NEOPLASMS,
        "--target",
        "len",
        "--epochs",
        "1",
        "--hidden",
        "16",
        "--ffn-hidden",
        "16",
        "--quiet",
        "--out",
        model.to_str().unwrap(),
    ]);
    assert!(ok, "{out}{err}");
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(model.join("metrics.json")).unwrap())
            .unwrap();
    assert_eq!(metrics["tasks"], serde_json::json!([NEOPLASMS, "len"]));
    // evaluate: the names from a file, one per line (CRLF and blank lines tolerated).
    let names = dir.path().join("targets.txt");
    std::fs::write(&names, format!("{NEOPLASMS}\r\n\r\nlen\r\n")).unwrap();
    let (ok, out, err) = moltx(&[
        "evaluate",
        "--model",
        model.to_str().unwrap(),
        "--data",
        data,
        "--targets-file",
        names.to_str().unwrap(),
    ]);
    assert!(ok, "{out}{err}");
    let evaluated: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(evaluated["tasks"], serde_json::json!([NEOPLASMS, "len"]));
    // The simple comma form still works for simple names.
    let (ok, out, err) = moltx(&["inspect", data, "--targets", "len", "--json"]);
    assert!(ok, "{err}");
    assert!(out.contains("\"len\""), "{out}");
}

#[test]
fn the_target_forms_do_not_mix_and_an_empty_or_missing_names_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = table(dir.path());
    let data = data.to_str().unwrap();
    let (ok, _, err) = moltx(&["inspect", data, "--targets", "len", "--target", "len"]);
    assert!(!ok);
    assert!(err.contains("cannot be used with"), "{err}");
    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, "\n\n").unwrap();
    let (ok, _, err) = moltx(&["inspect", data, "--targets-file", empty.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("names no column"), "{err}");
    let (ok, _, err) = moltx(&["inspect", data, "--targets-file", "nope.txt"]);
    assert!(!ok);
    assert!(err.contains("nope.txt"), "{err}");
}
