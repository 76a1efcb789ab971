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
