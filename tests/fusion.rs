//! The fusion model end to end: `train-fusion` on generated profiled compounds whose label is
//! planted in their measured signature, then `predict` from the fusion folder with measured
//! signatures (the label is recovered) and without (signatures predicted from structure).

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const GENES: std::ops::Range<u32> = 1000..1020;

/// 150 small molecules: chains with different end groups, and alkylbenzenes.
fn molecules() -> Vec<String> {
    let mut out = Vec::new();
    for n in 1..=30 {
        let chain = "C".repeat(n);
        for m in [
            chain.clone(),
            format!("{chain}O"),
            format!("{chain}N"),
            format!("{chain}Cl"),
            format!("c1ccccc1{chain}"),
        ] {
            out.push(m);
        }
    }
    out
}

/// Signatures (seeded noise) with the label planted in gene 1000: label 1 iff it is > 0.
fn write_files(dir: &Path) -> (PathBuf, PathBuf, PathBuf, Vec<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut sigs = String::from("id");
    for g in GENES {
        sigs.push_str(&format!("\t{g}"));
    }
    sigs.push('\n');
    let mut structures = String::from("id\tsmiles\n");
    let mut labels = String::from("id,active\n");
    let mut truth = Vec::new();
    for (i, smiles) in molecules().iter().enumerate() {
        let values: Vec<f64> = GENES.map(|_| rng.random_range(-2.0..2.0)).collect();
        let active = f64::from(u8::from(values[0] > 0.0));
        truth.push(active);
        sigs.push_str(&format!("P{i:03}"));
        for v in &values {
            sigs.push_str(&format!("\t{v:.4}"));
        }
        sigs.push('\n');
        structures.push_str(&format!("P{i:03}\t{smiles}\n"));
        labels.push_str(&format!("P{i:03},{active}\n"));
    }
    let paths = [
        dir.join("sigs.tsv"),
        dir.join("structures.tsv"),
        dir.join("labels.csv"),
    ];
    std::fs::write(&paths[0], sigs).unwrap();
    std::fs::write(&paths[1], structures).unwrap();
    std::fs::write(&paths[2], labels).unwrap();
    let [a, b, c] = paths;
    (a, b, c, truth)
}

/// ROC-AUC of scores against 0/1 labels (Mann–Whitney, ties counted half).
fn roc_auc(scores: &[f64], labels: &[f64]) -> f64 {
    let (mut pairs, mut wins) = (0.0, 0.0);
    for (s, l) in scores.iter().zip(labels) {
        for (s2, l2) in scores.iter().zip(labels) {
            if *l == 1.0 && *l2 == 0.0 {
                pairs += 1.0;
                wins += if s > s2 {
                    1.0
                } else if s == s2 {
                    0.5
                } else {
                    0.0
                };
            }
        }
    }
    wins / pairs
}

fn predictions(path: &Path) -> (Vec<String>, Vec<f64>) {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header = reader.headers().unwrap().clone();
    let col = header.iter().position(|h| h == "active").unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    (
        rows.iter().map(|r| r[1].to_string()).collect(),
        rows.iter().map(|r| r[col].parse().unwrap()).collect(),
    )
}

#[test]
fn fusion_model_trains_and_predicts_with_measured_or_predicted_signatures() {
    let dir = tempfile::tempdir().unwrap();
    let (sigs, structures, labels, truth) = write_files(dir.path());
    // A structure → signature model: the neighbour model `train-signatures` writes.
    let s2s = dir.path().join("s2s");
    Command::cargo_bin("moltx")
        .unwrap()
        .args(["train-signatures", "--signatures"])
        .arg(&sigs)
        .arg("--structures")
        .arg(&structures)
        .args(["--model", "neighbors", "--quiet", "--out"])
        .arg(&s2s)
        .assert()
        .success();
    let knn = s2s.join("seed_0/neighbors/neighbors.moltx");
    assert!(knn.is_file());

    let fusion = dir.path().join("fusion");
    let assert = Command::cargo_bin("moltx")
        .unwrap()
        .args(["train-fusion", "--signatures"])
        .arg(&sigs)
        .arg("--structures")
        .arg(&structures)
        .arg("--labels")
        .arg(&labels)
        .arg("--struct2sig")
        .arg(&knn)
        .args(["--hidden", "32", "--ffn-hidden", "32", "--embedding", "16"])
        .args([
            "--encoder-hidden",
            "32",
            "--epochs",
            "40",
            "--split",
            "random",
            "--quiet",
            "--out",
        ])
        .arg(&fusion)
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    assert!(
        stdout.contains("fusion model on 150 compounds (20 genes"),
        "{stdout}"
    );
    assert!(fusion.join("fusion.moltx").is_file() && fusion.join("struct2sig.moltx").is_file());
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fusion.join("metrics.json")).unwrap())
            .unwrap();
    assert_eq!(metrics["task_type"], "classification");

    // Predict every compound: with measured signatures the planted label comes back; without
    // them the model falls back on signatures predicted from structure, which carry no label.
    let with = dir.path().join("with.csv");
    let without = dir.path().join("without.csv");
    for (out, extra) in [(&with, Some(&sigs)), (&without, None)] {
        let mut cmd = Command::cargo_bin("moltx").unwrap();
        cmd.args(["predict", "--model"])
            .arg(&fusion)
            .arg("--input")
            .arg(&structures)
            .args(["--quiet", "--out"])
            .arg(out);
        if let Some(s) = extra {
            cmd.arg("--signatures").arg(s);
        }
        cmd.assert().success();
    }
    let (ids, measured) = predictions(&with);
    assert_eq!(ids.len(), 150);
    assert_eq!(ids[7], "P007", "one row per input, in order, with its id");
    let (_, predicted) = predictions(&without);
    let (auc_measured, auc_predicted) = (roc_auc(&measured, &truth), roc_auc(&predicted, &truth));
    assert!(
        auc_measured > 0.85,
        "measured signatures: ROC-AUC {auc_measured}"
    );
    assert!(
        auc_measured > auc_predicted + 0.1,
        "measured {auc_measured} vs predicted {auc_predicted}"
    );

    // A fusion-only flag on another model is refused.
    Command::cargo_bin("moltx")
        .unwrap()
        .args(["predict", "--model", "fixtures/models/tox21", "--input"])
        .arg(&structures)
        .arg("--signatures")
        .arg(&sigs)
        .arg("--out")
        .arg(dir.path().join("x.csv"))
        .assert()
        .failure()
        .stderr(predicates::str::contains("is not one"));
}
