//! Nearest-neighbour models end to end: a structure → signature model that must find a
//! structural signal planted in generated signatures (and fall back to the mean when there is
//! none), and the neighbour indication models.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use moltx::link::neighbors::NeighborModel;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

mod common;
use common::drugs;

const GENES: usize = 30;

/// Signatures over `GENES` genes: a shared pattern plus seeded noise, and with `planted` a
/// random projection of each drug's Morgan fingerprint bits, so drugs that share bits share
/// signature.
fn write_training_files(dir: &Path, planted: bool) -> (PathBuf, PathBuf) {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let weights: Vec<f64> = (0..2048 * GENES)
        .map(|_| rng.random_range(-1.0..1.0))
        .collect();
    let mut sigs = String::from("id");
    for g in 0..GENES {
        sigs.push_str(&format!("\t{}", 2000 + g));
    }
    sigs.push('\n');
    let mut structures = String::from("id\tsmiles\n");
    for (i, (_, smiles)) in drugs().iter().enumerate() {
        let fp = moltx::chem::Molecule::from_smiles(smiles)
            .unwrap()
            .morgan_fingerprint(2, 2048)
            .unwrap();
        let scale = 3.0 / (fp.on_bits.len().max(1) as f64).sqrt();
        sigs.push_str(&format!("C{i}"));
        for g in 0..GENES {
            let shared = 0.5 * (g as f64 / 5.0).sin();
            let projection: f64 = fp
                .on_bits
                .iter()
                .map(|&b| weights[b as usize * GENES + g])
                .sum::<f64>()
                * scale;
            let v = shared + if planted { projection } else { 0.0 } + rng.random_range(-0.5..0.5);
            sigs.push_str(&format!("\t{v:.4}"));
        }
        sigs.push('\n');
        structures.push_str(&format!("C{i}\t{smiles}\n"));
    }
    let (s, t) = (dir.join("sigs.tsv"), dir.join("structures.tsv"));
    std::fs::write(&s, sigs).unwrap();
    std::fs::write(&t, structures).unwrap();
    (s, t)
}

fn train_neighbors(dir: &Path, planted: bool) -> serde_json::Value {
    let (sigs, structures) = write_training_files(dir, planted);
    let out = dir.join("out");
    Command::cargo_bin("moltx")
        .unwrap()
        .args(["train-signatures", "--model", "neighbors", "--signatures"])
        .arg(&sigs)
        .arg("--structures")
        .arg(&structures)
        .args([
            "--split",
            "random",
            "--seeds",
            "2",
            "--neighbors-k",
            "3,5,10",
        ])
        .args(["--top-k", "5", "--quiet", "--out"])
        .arg(&out)
        .assert()
        .success()
        .stdout(predicates::str::contains("neighbours, shuffled"));
    serde_json::from_str(&std::fs::read_to_string(out.join("signature_metrics.json")).unwrap())
        .unwrap()
}

#[test]
fn neighbour_model_finds_a_planted_structural_signal_and_beats_both_baselines() {
    let dir = tempfile::tempdir().unwrap();
    let report = train_neighbors(dir.path(), true);
    for seed in report["seeds"].as_array().unwrap() {
        let n = &seed["neighbors"];
        let model = n["metrics"]["pearson"].as_f64().unwrap();
        let mean = seed["mean_signature"]["pearson"].as_f64().unwrap();
        let shuffled = n["shuffled"]["pearson"].as_f64().unwrap();
        assert!(model > mean + 0.03 && model > shuffled + 0.03, "{seed}");
        assert!(n["shrinkage"].as_f64().unwrap() >= 0.3, "{seed}");
        // k and p come from the lists given (k) and the default grid (p).
        assert!([3, 5, 10].contains(&n["k"].as_u64().unwrap()), "{seed}");
        assert!(
            [1.0, 3.0, 5.0].contains(&n["power"].as_f64().unwrap()),
            "{seed}"
        );
        assert!(seed["model"].is_null(), "no network was asked for");
    }
    // The saved file reloads to the same model, and predicts a training drug's signature back
    // from its structure better than the mean does.
    let file = dir.path().join("out/seed_0/neighbors/neighbors.moltx");
    let model = NeighborModel::load(&file).unwrap();
    let again = NeighborModel::from_bytes(&model.to_bytes().unwrap(), &file).unwrap();
    assert_eq!(model, again);
    let id = &model.header.ids[0];
    let smiles = &drugs()[id[1..].parse::<usize>().unwrap()].1;
    let fp = moltx::chem::Molecule::from_smiles(smiles)
        .unwrap()
        .morgan_fingerprint(2, 2048)
        .unwrap();
    let truth: Vec<f64> = model.targets[..GENES]
        .iter()
        .map(|&v| f64::from(v))
        .collect();
    let pearson = moltx::expr::signature::pearson;
    assert!(pearson(&model.predict(&fp), &truth) > pearson(&model.header.mean, &truth));
}

#[test]
fn without_a_structural_signal_the_neighbour_model_shrinks_to_the_mean() {
    let dir = tempfile::tempdir().unwrap();
    let report = train_neighbors(dir.path(), false);
    for seed in report["seeds"].as_array().unwrap() {
        assert!(
            seed["neighbors"]["shrinkage"].as_f64().unwrap() <= 0.2,
            "{seed}"
        );
    }
}

#[test]
fn neighbour_indication_models_are_deterministic_and_cover_every_modality() {
    use moltx::eval::indication_neighbors::run_neighbor_indications;
    use moltx::eval::indications::{Method, Modality, SignatureSide};
    use moltx::link::neighbors::NeighborSearch;
    use moltx::link::profiled::IndicationLabels;
    use moltx::link::profiled::read_profiled;
    let dir = tempfile::tempdir().unwrap();
    let (sigs, structures) = write_training_files(dir.path(), true);
    let profiled = read_profiled(&sigs, &structures, None).unwrap();
    // One "disease" treated by the aromatic drugs, one by drugs with a nitrogen.
    let labels = IndicationLabels {
        diseases: vec!["aromatic".into(), "nitrogen".into()],
        labels: profiled
            .table
            .smiles
            .iter()
            .flat_map(|s| {
                [
                    f32::from(u8::from(s.contains('c'))),
                    f32::from(u8::from(s.contains('N') || s.contains('n'))),
                ]
            })
            .collect(),
    };
    let raw = SignatureSide::raw_genes(&profiled);
    let side = SignatureSide {
        predicted: Some(raw.measured.clone()),
        ..raw
    };
    // The default grid: each modality chooses k and p by leave-one-out on each split's
    // references.
    let search = NeighborSearch::default();
    let run = || run_neighbor_indications(&profiled, &labels, &side, &[0, 1], &search).unwrap();
    let results = run();
    let modalities: Vec<Modality> = results.iter().take(4).map(|r| r.modality).collect();
    assert_eq!(
        modalities,
        [
            Modality::Structure,
            Modality::Signature,
            Modality::Fused,
            Modality::FusedPredicted
        ]
    );
    assert_eq!(results.len(), 8);
    assert!(results.iter().all(|r| r.method == Method::Neighbors));
    let aucs: Vec<Option<f64>> = results.iter().map(|r| r.roc_auc).collect();
    // An AUC is reported exactly when some disease has both classes in the test set.
    for r in &results {
        assert_eq!(r.roc_auc.is_some(), r.diseases_scored > 0, "{r:?}");
    }
    assert!(
        aucs.iter().any(Option::is_some),
        "nothing was scored: {results:?}"
    );
    assert_eq!(aucs, run().iter().map(|r| r.roc_auc).collect::<Vec<_>>());
    // With the measured signatures given as "predicted", the two fusions agree.
    assert_eq!(results[2].roc_auc, results[3].roc_auc);
}

/// A data folder laid out as the shared data, from the planted generator: signatures,
/// structures, and two "diseases" (aromatic drugs; drugs with nitrogen) as DM indications.
fn write_reference_data(dir: &Path) -> PathBuf {
    let (sigs, structures) = write_training_files(dir, true);
    let mut text = String::from("doid_id\tdrugbank_id\tdisease\tdrug\tcategory\n");
    for (i, (name, smiles)) in drugs().iter().enumerate() {
        if smiles.contains('c') {
            text.push_str(&format!("D:1\tC{i}\taromatic\t{name}\tDM\n"));
        }
        if smiles.contains('N') || smiles.contains('n') {
            text.push_str(&format!("D:2\tC{i}\tnitrogen\t{name}\tDM\n"));
        }
    }
    common::write_data_folder(dir, &sigs, &structures, &text)
}

#[test]
fn indications_scores_every_library_compound_once_with_its_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_reference_data(dir.path());
    let report = train_neighbors(dir.path(), true);
    let model = report["seeds"][0]["neighbors"]["file"]
        .as_str()
        .unwrap()
        .to_string();
    // Profiled C0 and C1 (their measured signatures are in the file given), two new
    // compounds (predicted signatures), and an unparsable one.
    let library = dir.path().join("library.csv");
    let d = drugs();
    std::fs::write(
        &library,
        format!(
            "id,smiles\nC0,{}\nC1,{}\nNEW-AROMATIC,c1ccccc1CCO\nNEW-ALIPHATIC,CCCCCCO\nbroken,C1CC(\n\
             ASPIRIN-COPY,{ASPIRIN_REWRITTEN}\n",
            d[0].1, d[1].1
        ),
    )
    .unwrap();
    let out = dir.path().join("indications.tsv");
    Command::cargo_bin("moltx")
        .unwrap()
        .args(["indications", "--library"])
        .arg(&library)
        .arg("--signatures")
        .arg(dir.path().join("sigs.tsv"))
        .args([
            "--model",
            &model,
            "--min-drugs",
            "5",
            "--neighbors-k",
            "5",
            "--data",
        ])
        .arg(&data)
        .arg("--out")
        .arg(&out)
        .assert()
        .success()
        .stdout(predicates::str::contains(
            "0 from structure, 2 with a measured signature, 3 with a predicted one",
        ))
        .stdout(predicates::str::contains("5 scored, 1 failed"));
    let rows = common::read_tsv(&out);
    assert_eq!(
        rows[0],
        [
            "row",
            "id",
            "smiles",
            "aromatic",
            "nitrogen",
            "evidence",
            "top",
            "reference",
            "known",
            "error"
        ]
    );
    let ids: Vec<&str> = rows[1..].iter().map(|r| r[1].as_str()).collect();
    assert_eq!(
        ids,
        [
            "C0",
            "C1",
            "NEW-AROMATIC",
            "NEW-ALIPHATIC",
            "broken",
            "ASPIRIN-COPY"
        ]
    );
    // Reference compounds are recognised by constitution, whatever their id or SMILES.
    let reference: Vec<(&str, &str)> = rows[1..]
        .iter()
        .map(|r| (r[7].as_str(), r[8].as_str()))
        .collect();
    assert_eq!(reference[0], ("C0", "aromatic"));
    assert_eq!(reference[1].0, "C1");
    assert_eq!(&reference[2..5], [("", ""); 3]);
    assert_eq!(reference[5], ("C0", "aromatic"));
    let evidence: Vec<&str> = rows[1..].iter().map(|r| r[5].as_str()).collect();
    assert_eq!(
        evidence,
        [
            "structure+measured",
            "structure+measured",
            "structure+predicted",
            "structure+predicted",
            "",
            "structure+predicted"
        ]
    );
    assert!(
        !rows[5][9].is_empty() && rows[5][3].is_empty(),
        "{:?}",
        rows[5]
    );
    let score = |r: usize, c: usize| rows[r][c].parse::<f64>().unwrap();
    // The votes tell compounds apart (a constant column would mean the votes were lost).
    let column: Vec<f64> = [1, 2, 3, 4, 6].iter().map(|&r| score(r, 3)).collect();
    assert!(
        column.iter().any(|&v| v != column[0]),
        "identical scores {column:?}"
    );
    // The aromatic newcomer's neighbours treat the "aromatic" disease more than the aliphatic one's.
    assert!(score(3, 3) > score(4, 3), "{:?} {:?}", rows[3], rows[4]);

    // Structure only, k = 2: aspirin's own vote would give "nitrogen" exactly 0; left out,
    // its two nearest other references (warfarin, then paracetamol, which has nitrogen) vote.
    let copy = dir.path().join("copy.smi");
    std::fs::write(&copy, format!("{ASPIRIN_REWRITTEN} ASPIRIN-COPY\n")).unwrap();
    let out = dir.path().join("copy.tsv");
    Command::cargo_bin("moltx")
        .unwrap()
        .args(["indications", "--library"])
        .arg(&copy)
        .args([
            "--min-drugs",
            "5",
            "--neighbors-k",
            "2",
            "--neighbors-power",
            "3",
        ])
        .arg("--data")
        .arg(&data)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let rows = common::read_tsv(&out);
    assert_eq!(
        (rows[1][5].as_str(), rows[1][7].as_str()),
        ("structure", "C0")
    );
    let nitrogen: f64 = rows[1][4].parse().unwrap();
    assert!(nitrogen > 0.2, "{:?}", rows[1]);
}

/// Aspirin (`CC(=O)Oc1ccccc1C(=O)O`, the first bundled drug) written another way.
const ASPIRIN_REWRITTEN: &str = "OC(=O)c1ccccc1OC(C)=O";
