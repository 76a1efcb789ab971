//! Structure → signature training and `moltx repurpose` end to end, on signatures generated
//! here for the bundled drugs over the 20 genes of `fixtures/expr/disease.tsv`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use burn::tensor::Device;
use moltx::model::{Checkpoint, featurize};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

mod common;
use common::drugs;

const GENES: std::ops::Range<u32> = 1000..1020;

/// The disease's z-score per gene id (from the STARGEO-style fixture).
fn disease_z() -> HashMap<String, f64> {
    std::fs::read_to_string("fixtures/expr/disease.tsv")
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[1].to_string(), f[2].parse().unwrap())
        })
        .collect()
}

fn write_signatures(path: &Path, rows: &[(String, Vec<f64>)]) {
    let mut text = String::from("perturbagen");
    for g in GENES {
        text.push_str(&format!("\t{g}"));
    }
    text.push('\n');
    for (id, values) in rows {
        text.push_str(id);
        for v in values {
            text.push_str(&format!("\t{v:.4}"));
        }
        text.push('\n');
    }
    std::fs::write(path, text).unwrap();
}

/// Signatures for the drugs (seeded noise plus a size effect) and their structure table.
fn training_files(dir: &Path) -> (PathBuf, PathBuf) {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let rows: Vec<(String, Vec<f64>)> = drugs()
        .iter()
        .enumerate()
        .map(|(i, (_, smiles))| {
            let size = smiles.len() as f64 / 30.0;
            let values = GENES
                .map(|g| size * if g % 2 == 0 { 1.0 } else { -1.0 } + rng.random_range(-0.5..0.5))
                .collect();
            (format!("D{i:03}"), values)
        })
        .collect();
    let sigs = dir.join("signatures.tsv");
    write_signatures(&sigs, &rows);
    let mut structures = String::from("drugbank_id\tname\tsmiles\n");
    for (i, (name, smiles)) in drugs().iter().enumerate() {
        structures.push_str(&format!("D{i:03}\t{name}\t{smiles}\n"));
    }
    structures.push_str("D999\tno structure\t\n");
    let table = dir.join("drugs.tsv");
    std::fs::write(&table, structures).unwrap();
    (sigs, table)
}

/// Indications of the bundled drugs: "long" (SMILES over 30 characters) and "aromatic N"
/// as disease-modifying, plus a symptomatic-only disease.
fn write_indications(path: &Path) {
    let mut text = String::from("doid_id\tdrugbank_id\tdisease\tdrug\tcategory\n");
    for (i, (name, smiles)) in drugs().iter().enumerate() {
        if smiles.len() > 30 {
            text.push_str(&format!("D:1\tD{i:03}\tlong\t{name}\tDM\n"));
        }
        if smiles.contains('n') {
            text.push_str(&format!("D:2\tD{i:03}\taromatic N\t{name}\tDM\n"));
        }
        text.push_str(&format!("D:3\tD{i:03}\tsymptomatic only\t{name}\tSYM\n"));
    }
    std::fs::write(path, text).unwrap();
}

fn train_model(dir: &Path) -> PathBuf {
    let (sigs, table) = training_files(dir);
    let out = dir.join("s2s");
    let assert = Command::cargo_bin("moltx")
        .unwrap()
        .args(["train-signatures", "--signatures"])
        .arg(&sigs)
        .arg("--structures")
        .arg(&table)
        .args(["--split", "random", "--epochs", "3", "--hidden", "16"])
        .args(["--ffn-hidden", "16", "--top-k", "5", "--quiet", "--out"])
        .arg(&out)
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    assert!(stdout.contains("mean training signature"), "{stdout}");
    for row in ["D-MPNN, shuffled", "neighbours ", "neighbours, shuffled"] {
        assert!(stdout.contains(row), "{row} missing: {stdout}");
    }
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(stderr.contains("61 compounds with a structure"), "{stderr}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("signature_metrics.json")).unwrap())
            .unwrap();
    assert_eq!(report["genes"], 20);
    assert!(
        report["seeds"][0]["model"]["pearson"]
            .as_f64()
            .unwrap()
            .is_finite()
    );
    assert!(
        report["seeds"][0]["neighbors"]["metrics"]["pearson"]
            .as_f64()
            .unwrap()
            .is_finite()
    );
    assert!(out.join("seed_0/neighbors/neighbors.moltx").is_file());
    out.join("seed_0")
}

#[test]
fn structure_to_signature_model_round_trips_and_repurpose_ranks_every_compound_once() {
    let dir = tempfile::tempdir().unwrap();
    let model_dir = train_model(dir.path());

    // The model file: one output per gene, named by gene id; identical predictions on reload.
    let device = Device::flex();
    let model = Checkpoint::load(&model_dir.join("model_0.moltx"), &device).unwrap();
    let genes: Vec<String> = GENES.map(|g| g.to_string()).collect();
    assert_eq!(model.header.tasks, genes);
    let input = featurize(&model.header.model, "CC(=O)Oc1ccccc1C(=O)O").unwrap();
    let again =
        Checkpoint::from_bytes(&model.to_bytes().unwrap(), Path::new("m"), &device).unwrap();
    assert_eq!(
        model.predict(&[&input], 1, &device).unwrap(),
        again.predict(&[&input], 1, &device).unwrap()
    );

    // Both kinds of structure → signature model serve `repurpose`.
    repurpose_ranks_every_compound_once(dir.path(), &model_dir);
    repurpose_ranks_every_compound_once(dir.path(), &model_dir.join("neighbors/neighbors.moltx"));
}

/// `moltx repurpose` with profiled compounds (one exactly reverses the disease) and the bundled
/// drugs plus an unparsable SMILES as the library: every compound appears exactly once.
fn repurpose_ranks_every_compound_once(dir: &Path, model: &Path) {
    // Profiled compounds: one exactly reverses the disease, the others are noise.
    let z = disease_z();
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let mut measured = vec![(
        "REVERSER".to_string(),
        GENES.map(|g| -z[&g.to_string()]).collect::<Vec<f64>>(),
    )];
    for i in 0..5 {
        let noise = GENES.map(|_| rng.random_range(-2.0..2.0)).collect();
        measured.push((format!("P{i}"), noise));
    }
    let measured_path = dir.join("measured.tsv");
    write_signatures(&measured_path, &measured);
    let library = dir.join("library.csv");
    let mut text = std::fs::read_to_string("fixtures/approved_drugs.csv").unwrap();
    text.push_str("broken,C1CC(\n");
    std::fs::write(&library, text).unwrap();

    let out = dir.join("candidates.tsv");
    let assert = Command::cargo_bin("moltx")
        .unwrap()
        .args([
            "repurpose",
            "--disease",
            "fixtures/expr/disease.tsv",
            "--signatures",
        ])
        .arg(&measured_path)
        .arg("--model")
        .arg(model)
        .arg("--library")
        .arg(&library)
        .args(["--n-genes", "5", "--top", "0", "--out"])
        .arg(&out)
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    assert!(stdout.contains("6 profiled compounds"), "{stdout}");
    assert!(stdout.contains("1. REVERSER"), "{stdout}");
    let rows = common::read_tsv(&out);
    assert_eq!(
        rows[0],
        ["row", "id", "smiles", "wtcs", "evidence", "error"]
    );
    let body = &rows[1..];
    assert_eq!(body.len(), 6 + 61 + 1, "every compound exactly once");
    let mut ids: Vec<&str> = body.iter().map(|r| r[1].as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), body.len());
    // Profiled compounds first (in their file's order), then the library in input order.
    assert_eq!(body[0][1], "REVERSER");
    assert_eq!(body[0][4], "measured");
    assert!(body[0][3].parse::<f64>().unwrap() < -0.9);
    let evidence = |id: &str| body.iter().find(|r| r[1] == id).unwrap()[4].clone();
    assert_eq!(evidence("P3"), "measured");
    assert_eq!(evidence("aspirin"), "predicted");
    assert_eq!((body[6][0].as_str(), body[6][1].as_str()), ("0", "aspirin"));
    let broken = body.last().unwrap();
    assert_eq!((broken[0].as_str(), broken[1].as_str()), ("61", "broken"));
    assert!(
        broken[3].is_empty() && broken[4].is_empty() && !broken[5].is_empty(),
        "{broken:?}"
    );
}

#[test]
fn bundled_demo_ranks_the_generated_reverser_first() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("candidates.tsv");
    Command::cargo_bin("moltx")
        .unwrap()
        .args(["repurpose", "--disease", "fixtures/repurpose/disease.tsv"])
        .args(["--signatures", "fixtures/repurpose/profiled.tsv"])
        .args(["--model", "fixtures/models/struct2sig"])
        .args([
            "--library",
            "fixtures/approved_drugs.csv",
            "--score",
            "cosine",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success();
    let text = std::fs::read_to_string(&out).unwrap();
    let rows: Vec<Vec<&str>> = text
        .lines()
        .skip(1)
        .map(|l| l.split('\t').collect())
        .collect();
    // Ranked, most reversing first (the default keeps the best 1000).
    assert_eq!(rows.len(), 8 + 61);
    assert_eq!((rows[0][1], rows[0][4]), ("DEMO-REVERSER", "measured"));
    assert_eq!(rows.iter().filter(|r| r[4] == "predicted").count(), 61);
    let scores: Vec<f64> = rows.iter().map(|r| r[3].parse().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] <= w[1]), "{scores:?}");
    assert!(
        rows.iter().all(|r| r[5].is_empty()),
        "every compound scored"
    );
}

#[test]
fn repurpose_counts_every_library_compound_when_keeping_the_top() {
    // More library rows than the streaming ranker keeps before pruning to the top N
    // (4·max(N, 1024)): the summary must still count every one of them.
    let dir = tempfile::tempdir().unwrap();
    let library = dir.path().join("lib.smi");
    let mut text = String::new();
    for copy in 0..70 {
        for (name, smiles) in drugs() {
            text.push_str(&format!("{smiles} {name}-{copy}\n"));
        }
        text.push_str(&format!("C1CC( broken-{copy}\n"));
    }
    std::fs::write(&library, text).unwrap();
    let out = dir.path().join("candidates.tsv");
    let assert = Command::cargo_bin("moltx")
        .unwrap()
        .args(["repurpose", "--disease", "fixtures/repurpose/disease.tsv"])
        .args(["--signatures", "fixtures/repurpose/profiled.tsv"])
        .args(["--model", "fixtures/models/struct2sig", "--library"])
        .arg(&library)
        .args(["--score", "cosine", "--top", "3", "--out"])
        .arg(&out)
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    assert!(
        stdout.contains("ranked 8 profiled compounds (measured signatures) and 4340 library"),
        "{stdout}"
    );
    assert!(stdout.contains("70 could not be scored"), "{stdout}");
    let rows = common::read_tsv(&out);
    assert_eq!(
        rows.len(),
        1 + 3,
        "the top 3 (failures are counted, not ranked)"
    );
    assert_eq!(rows[1][1], "DEMO-REVERSER");
}

#[test]
fn train_encoder_writes_one_embedding_per_signature() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("embeddings.csv");
    let saved = dir.path().join("encoder.moltx");
    let sets = dir.path().join("sets.gmt");
    let first_half: Vec<String> = (1000..1010).map(|g| g.to_string()).collect();
    std::fs::write(
        &sets,
        format!("FIRST_HALF\tna\t{}\n", first_half.join("\t")),
    )
    .unwrap();
    let assert = Command::cargo_bin("moltx")
        .unwrap()
        .args([
            "train-encoder",
            "--signatures",
            "fixtures/expr/refs.tsv",
            "--epochs",
            "5",
        ])
        .args([
            "--hidden",
            "16",
            "--embedding",
            "4",
            "--holdout",
            "0.2",
            "--input",
            "both",
            "--gene-sets",
        ])
        .arg(&sets)
        .arg("--save")
        .arg(&saved)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    assert!(stdout.contains("mean-signature baseline"), "{stdout}");
    assert!(stdout.contains("× 21 inputs (Both)"), "{stdout}");
    let encoder =
        moltx::model::signature_file::SignatureEncoderFile::load(&saved, &Device::flex()).unwrap();
    assert_eq!(
        encoder.header.featurizer.names().last().unwrap(),
        "FIRST_HALF"
    );
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "id,e0,e1,e2,e3");
    assert_eq!(lines.len(), 1 + 6);
    assert!(lines[1].starts_with("DB00000,"));
}

#[test]
fn indication_models_train_on_structure_signature_and_both() {
    use moltx::eval::indications::{Modality, SignatureSide, run_indication_eval};
    use moltx::link::profiled::{read_indications, read_profiled};
    use moltx::model::{ModelConfig, ModelKind};
    use moltx::train::trainer::TrainOptions;
    let dir = tempfile::tempdir().unwrap();
    let (sigs, table) = training_files(dir.path());
    let profiled = read_profiled(&sigs, &table, None).unwrap();
    // Two generated "diseases": long SMILES, and aromatic nitrogen.
    let path = dir.path().join("indications.tsv");
    write_indications(&path);
    let labels = read_indications(&path, &profiled, 5).unwrap();
    assert_eq!(labels.diseases, ["aromatic N", "long"]);
    let options = TrainOptions {
        epochs: 2,
        ..TrainOptions::default()
    };
    let raw = SignatureSide::raw_genes(&profiled);
    let results = run_indication_eval(
        &profiled,
        &labels,
        &raw,
        &[0],
        &options,
        &ModelConfig::defaults(ModelKind::Dmpnn, 0),
        &Device::flex(),
        &mut |_, _, _| {},
    )
    .unwrap();
    let kinds: Vec<Modality> = results.iter().map(|r| r.modality).collect();
    assert_eq!(
        kinds,
        [Modality::Structure, Modality::Signature, Modality::Fused]
    );
    // With predicted signatures (here: measured ones, halved) and a signature encoder, the
    // flagged fusion is evaluated too; here the structure network reads Morgan bits.
    let encoded = SignatureSide {
        predicted: Some(
            raw.measured
                .iter()
                .map(|r| r.iter().map(|v| v / 2.0).collect())
                .collect(),
        ),
        encoder: Some(moltx::model::FeatureEncoderConfig {
            hidden: 8,
            layers: 1,
            embedding: 4,
            passthrough: 0,
        }),
        ..raw.clone()
    };
    let more = run_indication_eval(
        &profiled,
        &labels,
        &encoded,
        &[0],
        &options,
        &ModelConfig::defaults(ModelKind::FfnMorgan, 0),
        &Device::flex(),
        &mut |_, _, _| {},
    )
    .unwrap();
    assert_eq!(more.len(), 4);
    assert_eq!(more[3].modality, Modality::FusedPredicted);
    for r in results.iter().chain(&more) {
        // An AUC is reported exactly when some disease has both classes in the test set.
        assert_eq!(r.roc_auc.is_some(), r.diseases_scored > 0, "{r:?}");
    }
}

#[test]
fn features_only_model_trains_from_descriptors() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("len.csv");
    let mut text = String::from("smiles,len\n");
    for (_, s) in drugs() {
        text.push_str(&format!("{s},{}\n", s.len() as f64 / 10.0));
    }
    std::fs::write(&data, text).unwrap();
    let out = dir.path().join("m");
    let train = |extra: &[&str]| {
        Command::cargo_bin("moltx")
            .unwrap()
            .args(["train", "--data"])
            .arg(&data)
            .args([
                "--targets",
                "len",
                "--epochs",
                "2",
                "--model",
                "features-only",
            ])
            .args(extra)
            .args(["--quiet", "--out"])
            .arg(&out)
            .assert()
    };
    train(&[])
        .failure()
        .stderr(predicates::str::contains("needs --features-generators"));
    train(&["--features-generators", "rdkit_2d"]).success();
    let model = Checkpoint::load(&out.join("model_0.moltx"), &Device::flex()).unwrap();
    let input = featurize(&model.header.model, "CCO").unwrap();
    assert!(model.predict(&[&input], 1, &Device::flex()).unwrap()[0].is_finite());
}

#[test]
fn indication_eval_runs_from_the_cli_with_pathways_encoder_and_predicted_signatures() {
    let dir = tempfile::tempdir().unwrap();
    let (sigs, table) = training_files(dir.path());
    let indications = dir.path().join("indications.tsv");
    write_indications(&indications);
    let data = common::write_data_folder(
        dir.path(),
        &sigs,
        &table,
        &std::fs::read_to_string(&indications).unwrap(),
    );
    let sets = dir.path().join("sets.gmt");
    std::fs::write(
        &sets,
        "EVEN\tna\t1000\t1002\t1004\t1006\nODD\tna\t1001\t1003\t1005\t1007\n",
    )
    .unwrap();
    // "Predicted" signatures: the measured ones, as a separate file.
    let run = |extra: &[&str]| {
        Command::cargo_bin("moltx")
            .unwrap()
            .arg("indication-eval")
            .arg("--data")
            .arg(&data)
            .args([
                "--seeds",
                "1",
                "--epochs",
                "2",
                "--min-drugs",
                "5",
                "--quiet",
            ])
            .args(extra)
            .assert()
    };
    let sets = sets.to_str().unwrap();
    let sigs = sigs.to_str().unwrap();
    let out = run(&[
        "--input",
        "pathways",
        "--gene-sets",
        sets,
        "--min-genes",
        "2",
        "--encoder-embedding",
        "4",
        "--encoder-hidden",
        "8",
        "--predicted-signatures",
        sigs,
    ])
    .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        stdout.contains("2 values per compound (Pathways), encoded to 4"),
        "{stdout}"
    );
    for row in ["structure", "signature", "fused ", "fused_predicted"] {
        for method in ["network", "neighbors"] {
            let line = format!("{method:<10} {row}");
            assert!(stdout.contains(&line), "{line} missing: {stdout}");
        }
    }
    assert!(
        stdout.contains("fused − better single modality"),
        "{stdout}"
    );
    // A predicted-signature file that lacks a compound is refused, naming it.
    let partial = dir.path().join("partial.tsv");
    let text = std::fs::read_to_string(sigs).unwrap();
    let kept: Vec<&str> = text.lines().filter(|l| !l.starts_with("D003")).collect();
    std::fs::write(&partial, kept.join("\n")).unwrap();
    run(&["--predicted-signatures", partial.to_str().unwrap()])
        .failure()
        .stderr(predicates::str::contains("no predicted signature for D003"));
}

#[test]
fn screen_with_a_disease_gives_repurpose_s_library_scores() {
    let dir = tempfile::tempdir().unwrap();
    let ranked = dir.path().join("candidates.tsv");
    Command::cargo_bin("moltx")
        .unwrap()
        .args(["repurpose", "--disease", "fixtures/repurpose/disease.tsv"])
        .args(["--model", "fixtures/models/struct2sig"])
        .args([
            "--library",
            "fixtures/approved_drugs.csv",
            "--score",
            "cosine",
            "--out",
        ])
        .arg(&ranked)
        .assert()
        .success();
    let expected: HashMap<String, f64> = common::read_tsv(&ranked)
        .into_iter()
        .skip(1)
        .map(|r| (r[1].clone(), r[3].parse().unwrap()))
        .collect();
    assert_eq!(expected.len(), 61);
    // The same scores through the streaming pipeline, and its top-k (most reversing first).
    let streamed = dir.path().join("reversal.csv");
    let top = dir.path().join("top.csv");
    for (out, extra) in [
        (&streamed, vec![]),
        (&top, vec!["--top-k", "5", "--by", "cosine", "--ascending"]),
    ] {
        Command::cargo_bin("moltx")
            .unwrap()
            .args(["screen", "--model", "fixtures/models/struct2sig"])
            .args(["--library", "fixtures/approved_drugs.csv", "--disease"])
            .arg("fixtures/repurpose/disease.tsv")
            .args(["--score", "cosine", "--quiet", "--out"])
            .arg(out)
            .args(extra)
            .assert()
            .success();
    }
    let mut reader = csv::Reader::from_path(&streamed).unwrap();
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        ["row", "id", "smiles", "cosine", "error"]
    );
    let mut got: Vec<(String, f64)> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[1].to_string(), r[3].parse().unwrap())
        })
        .collect();
    assert_eq!(got.len(), 61);
    for (id, score) in &got {
        assert!(
            (score - expected[id]).abs() < 1e-6,
            "{id}: {score} vs {}",
            expected[id]
        );
    }
    got.sort_by(|a, b| a.1.total_cmp(&b.1));
    let best: Vec<String> = csv::Reader::from_path(&top)
        .unwrap()
        .records()
        .map(|r| r.unwrap()[1].to_string())
        .collect();
    let want: Vec<String> = got.iter().take(5).map(|(id, _)| id.clone()).collect();
    assert_eq!(best, want);
}
