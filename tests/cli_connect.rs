//! End-to-end tests of `moltx connect` on the fixtures.

use assert_cmd::Command;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/expr")
        .join(name)
}

fn run(query: &str, score: &str, extra: &[&str]) -> (Vec<Vec<String>>, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ranking.tsv");
    let assert = Command::cargo_bin("moltx")
        .unwrap()
        .args(["connect", "--query"])
        .arg(fixture(query))
        .arg("--reference")
        .arg(fixture("refs.tsv"))
        .args(["--score", score, "--out"])
        .arg(&out)
        .args(["--tau-background", "20", "--xsum-n", "5", "--n-genes", "4"])
        .args(extra)
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    let text = std::fs::read_to_string(&out).unwrap();
    (
        text.lines()
            .map(|l| l.split('\t').map(str::to_string).collect())
            .collect(),
        stderr,
    )
}

#[test]
fn gmt_query_ranks_the_reverser_first() {
    let (rows, stderr) = run("query.gmt", "wtcs", &[]);
    assert_eq!(rows[0], ["id", "wtcs", "ncs", "tau"]);
    assert_eq!(rows.len(), 7);
    assert_eq!(rows[1][0], "DB00001");
    assert_eq!(rows[6][0], "DB00000");
    assert!(stderr.contains("8 of 8 genes matched"), "{stderr}");
    let (rows, _) = run("query.gmt", "wtcs", &["--order", "mimic", "--top", "2"]);
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[1][0], "DB00000");
}

#[test]
fn every_score_and_query_kind() {
    for score in ["ks", "xsum"] {
        let (rows, _) = run("updown.tsv", score, &[]);
        assert_eq!(rows[1][0], "DB00001", "{score}");
    }
    for score in ["wtcs", "cosine", "pearson", "spearman"] {
        let (rows, stderr) = run("disease.tsv", score, &[]);
        assert_eq!(rows[1][0], "DB00001", "{score}");
        assert!(stderr.contains("20 of 21 genes matched"), "{stderr}");
    }
}

#[test]
fn gene_set_query_with_correlation_score_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::cargo_bin("moltx")
        .unwrap()
        .args(["connect", "--query"])
        .arg(fixture("query.gmt"))
        .arg("--reference")
        .arg(fixture("refs.tsv"))
        .args(["--score", "cosine", "--out"])
        .arg(dir.path().join("x.tsv"))
        .assert()
        .failure();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(stderr.contains("needs a signature query"), "{stderr}");
}

/// Runs `moltx connect` on a query file written into a temp dir; the output and stderr.
fn run_written(query_name: &str, query: &str, score: &str) -> (bool, Vec<Vec<String>>, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(query_name);
    std::fs::write(&path, query).unwrap();
    let out = dir.path().join("ranking.tsv");
    let output = Command::cargo_bin("moltx")
        .unwrap()
        .args(["connect", "--query"])
        .arg(&path)
        .arg("--reference")
        .arg(fixture("refs.tsv"))
        .args(["--score", score, "--out"])
        .arg(&out)
        .args(["--tau-background", "20", "--n-genes", "4"])
        .output()
        .unwrap();
    let rows = std::fs::read_to_string(&out)
        .map(|t| {
            t.lines()
                .map(|l| l.split('\t').map(str::to_string).collect())
                .collect()
        })
        .unwrap_or_default();
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    (output.status.success(), rows, stderr)
}

#[test]
fn query_matching_no_reference_gene_is_an_error_with_examples() {
    let query = "gene\tdirection\nTP53\tup\nEGFR\tdown\n";
    let (ok, rows, stderr) = run_written("q.tsv", query, "wtcs");
    assert!(!ok, "a query of zero usable genes must fail: {stderr}");
    assert!(rows.is_empty(), "no ranking written: {rows:?}");
    assert!(
        stderr.contains("none of its 2 gene ids matched"),
        "{stderr}"
    );
    assert!(stderr.contains("looked for: TP53, EGFR"), "{stderr}");
    assert!(stderr.contains("look like: 1000, 1001, 1002"), "{stderr}");
    // The same for a signature query and for the correlation scores.
    let signature = "gene\tlogFC\nTP53\t2.0\nEGFR\t-1.5\nMYC\t0.5\n";
    for score in ["wtcs", "cosine"] {
        let (ok, _, stderr) = run_written("sig.tsv", signature, score);
        assert!(!ok, "{score}: {stderr}");
        assert!(
            stderr.contains("none of its 3 gene ids matched"),
            "{stderr}"
        );
    }
}

#[test]
fn two_column_gene_value_table_is_one_signature() {
    // The reverser DB00001's own signature as `gene<TAB>logFC`: it must rank as a signature
    // query (the mimic DB00001 last, its negation DB00000 first when reversing).
    let refs = std::fs::read_to_string(fixture("refs.tsv")).unwrap();
    let mut lines = refs.lines();
    let genes: Vec<&str> = lines.next().unwrap().split('\t').skip(1).collect();
    let db1: Vec<&str> = lines
        .find(|l| l.starts_with("DB00001\t"))
        .unwrap()
        .split('\t')
        .skip(1)
        .collect();
    let mut table = String::from("gene\tlogFC\n");
    for (g, v) in genes.iter().zip(&db1) {
        table.push_str(&format!("{g}\t{v}\n"));
    }
    for score in ["cosine", "wtcs"] {
        let (ok, rows, stderr) = run_written("de.tsv", &table, score);
        assert!(ok, "{score}: {stderr}");
        assert!(
            stderr.contains("query 'logFC': 20 of 20 genes matched"),
            "{stderr}"
        );
        assert_eq!(rows.len(), 7, "{score}: six references and the header");
        assert_eq!(rows[1][0], "DB00000", "{score}: the reverser first");
        assert_eq!(rows[6][0], "DB00001", "{score}: itself last");
    }
}
