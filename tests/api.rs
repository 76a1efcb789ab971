//! The facade: in-memory prediction (one result per input, in order), screening through the
//! facade equals the CLI, connectivity from the library, and the examples' code paths.

use std::path::Path;

use assert_cmd::Command;
use moltx::prelude::*;

#[path = "../examples/predict.rs"]
mod predict_example;

/// The bundled model's predictions of the bundled drugs as the golden screen stores them.
fn golden_predictions() -> Vec<(String, Vec<f64>)> {
    let mut reader =
        csv::Reader::from_path("fixtures/golden/tox21_screen_approved_drugs.csv").unwrap();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            let values = (3..15).map(|j| r[j].parse().unwrap()).collect();
            (r[2].to_string(), values)
        })
        .collect()
}

#[test]
fn predict_smiles_matches_the_golden_screen_and_keeps_failures_in_place() {
    let predictor = Predictor::bundled().unwrap();
    assert_eq!(predictor.tasks().len(), 12);
    let golden = golden_predictions();
    let mut smiles: Vec<&str> = golden.iter().map(|(s, _)| s.as_str()).collect();
    smiles.insert(5, "C1CC(");
    smiles.insert(20, "");
    let results = predictor.predict_smiles(&smiles);
    assert_eq!(results.len(), smiles.len(), "one result per input");
    assert!(matches!(&results[5], Err(MolError::Input(_))));
    assert!(
        results[5]
            .as_ref()
            .unwrap_err()
            .to_string()
            .contains("C1CC(")
    );
    assert!(results[20].is_err());
    let ok: Vec<&Prediction> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(ok.len(), golden.len());
    for (p, (s, values)) in ok.iter().zip(&golden) {
        for (a, b) in p.values.iter().zip(values) {
            assert!((a - b).abs() <= 1e-6, "{s}: {a} vs golden {b}");
        }
        assert!(p.spread.is_none(), "a single model has no spread");
    }
    assert_eq!(ok[0].value("NR-AR"), Some(ok[0].values[0]));
    assert_eq!(ok[0].value("no such task"), None);
    // The size limit applies in memory too.
    let small = Predictor::bundled().unwrap().with_max_heavy_atoms(5);
    let r = small.predict_smiles(&["CCO", "c1ccccc1"]);
    assert!(r[0].is_ok());
    assert!(
        r[1].as_ref()
            .unwrap_err()
            .to_string()
            .contains("too large: 6")
    );
}

#[test]
fn the_predict_example_runs_on_the_bundled_model() {
    let lines = predict_example::run(None).unwrap();
    assert_eq!(lines.len(), predict_example::SMILES.len());
    let golden = golden_predictions();
    let aspirin = &golden
        .iter()
        .find(|(s, _)| s == predict_example::SMILES[0])
        .unwrap()
        .1;
    assert!(
        lines[0].contains(&format!("NR-AR={:.3}", aspirin[0])),
        "{} (golden {:.3})",
        lines[0],
        aspirin[0]
    );
    assert!(lines[2].contains("error: invalid SMILES"), "{}", lines[2]);
}

#[test]
fn facade_screen_writes_what_the_cli_writes() {
    let dir = tempfile::tempdir().unwrap();
    let library = Library::open(Path::new("fixtures/approved_drugs.csv")).unwrap();
    let out = dir.path().join("facade.csv");
    let summary = screen(
        &library,
        &Predictor::bundled().unwrap(),
        &out,
        &ScreenOptions::default(),
    )
    .unwrap();
    assert_eq!((summary.rows_in_shard, summary.scored), (61, 61));
    let cli = dir.path().join("cli.csv");
    Command::cargo_bin("moltx")
        .unwrap()
        .args([
            "screen",
            "--library",
            "fixtures/approved_drugs.csv",
            "--quiet",
            "--out",
        ])
        .arg(&cli)
        .assert()
        .success();
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&cli).unwrap());
    assert!(Library::open(Path::new("fixtures/no_such_library.csv")).is_err());
}

#[test]
fn connectivity_from_the_library_ranks_the_reverser_first() {
    let references = References::read(Path::new("fixtures/expr/refs.tsv")).unwrap();
    let query = Query::read(Path::new("fixtures/expr/query.gmt")).unwrap();
    let ranking = connectivity::score(&query, &references, Score::Wtcs).unwrap();
    assert_eq!(ranking.len(), references.ids().len());
    assert_eq!(ranking[0].id, "DB00001");
    assert_eq!(ranking.last().unwrap().id, "DB00000");
    assert!(ranking[0].normalized.unwrap() < 0.0 && ranking[0].tau.is_some());
    // A query of genes the references lack is an error, not a ranking.
    let dir = tempfile::tempdir().unwrap();
    let q = dir.path().join("q.tsv");
    std::fs::write(&q, "gene\tdirection\nTP53\tup\n").unwrap();
    let err = connectivity::score(&Query::read(&q).unwrap(), &references, Score::Wtcs);
    assert!(
        err.unwrap_err()
            .to_string()
            .contains("none of its 1 gene ids")
    );
}
