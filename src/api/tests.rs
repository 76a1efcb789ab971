//! Unit tests of the facade.

use super::connectivity::{Query, References, score};
use super::*;
use crate::expr::Score;
use crate::model::{ModelConfig, ModelKind};
use crate::screen::ScreenOptions;
use std::ops::ControlFlow;
use std::path::Path;

#[test]
fn an_interrupted_screen_resumes_to_the_uninterrupted_output() {
    let dir = tempfile::tempdir().unwrap();
    let library = Library::open(Path::new("fixtures/approved_drugs.csv")).unwrap();
    let predictor = Predictor::bundled().unwrap();
    let options = ScreenOptions {
        chunk_size: 16,
        ..ScreenOptions::default()
    };
    let full = dir.path().join("full.csv");
    screen(&library, &predictor, &full, &options).unwrap();

    let part = dir.path().join("part.csv");
    let mut chunks = 0;
    let stopped = screen_with(&library, &predictor, &part, &options, &mut |_| {
        chunks += 1;
        ControlFlow::Break(())
    });
    assert!(matches!(stopped, Err(ApiError::Interrupted)), "{stopped:?}");
    assert_eq!(chunks, 1, "the run stops after the chunk that asked");
    let written = std::fs::read_to_string(&part).unwrap();
    assert_eq!(
        written.lines().count(),
        1 + 16,
        "header and the first chunk"
    );

    let resume = ScreenOptions {
        resume: true,
        ..options.clone()
    };
    let summary = screen(&library, &predictor, &part, &resume).unwrap();
    assert_eq!(summary.resumed_from, Some(16));
    assert_eq!(
        std::fs::read(&part).unwrap(),
        std::fs::read(&full).unwrap(),
        "resumed output equals the uninterrupted one"
    );
}

#[test]
fn embeddings_are_the_models_readout_one_per_input() {
    let embedder = Predictor::bundled_embedder().unwrap();
    assert_eq!(embedder.tasks().len(), 300);
    assert_eq!(embedder.tasks()[0], "e0");
    let r = embedder.predict_smiles(&["CCO", "C1CC(", "c1ccccc1"]);
    assert_eq!(r.len(), 3);
    assert!(r[1].is_err());
    let (a, b) = (r[0].as_ref().unwrap(), r[2].as_ref().unwrap());
    assert!(a.values.iter().all(|v| v.is_finite()));
    assert_ne!(a.values, b.values);
    let from_file = Predictor::load_embedder(
        Path::new("fixtures/models/tox21/model_0.moltx"),
        &Device::flex(),
    )
    .unwrap();
    let c = from_file.predict_smiles(&["CCO"]);
    assert_eq!(c[0].as_ref().unwrap().values.len(), 300);
}

#[test]
fn in_memory_references_rank_as_the_file_does() {
    let file = References::read(Path::new("fixtures/expr/refs.tsv")).unwrap();
    let m = file.matrix();
    let memory =
        References::from_values(m.genes.ids().to_vec(), m.ids.clone(), m.data.clone()).unwrap();
    let query = Query::read(Path::new("fixtures/expr/query.gmt")).unwrap();
    let a = score(&query, &file, Score::Wtcs).unwrap();
    let b = score(&query, &memory, Score::Wtcs).unwrap();
    assert_eq!(a, b);
    let genes = Query::from_genes(
        "q",
        ["1014", "1000", "1007", "1012"].map(String::from).to_vec(),
        ["1019", "1008", "1009", "1002"].map(String::from).to_vec(),
    );
    assert_eq!(score(&genes, &memory, Score::Wtcs).unwrap(), a);
    let bad = References::from_values(vec!["1".into()], vec!["a".into()], vec![1.0, 2.0]);
    assert!(bad.unwrap_err().to_string().contains("2 values"));
}

#[test]
fn train_writes_a_model_the_predictor_loads_and_stops_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("atoms.csv");
    let drugs = std::fs::read_to_string("fixtures/approved_drugs.csv").unwrap();
    let mut text = String::from("smiles,heavy_atoms\n");
    for line in drugs.lines().skip(1) {
        let smiles = line.split_once(',').map_or(line, |(_, s)| s);
        let n = crate::chem::size::heavy_atoms_in_smiles(smiles);
        text.push_str(&format!("{smiles},{n}\n"));
    }
    text.push_str("C1CC(,3\n");
    std::fs::write(&data, text).unwrap();
    let mut settings = TrainSettings::default();
    (settings.model.hidden, settings.model.ffn_hidden) = (16, 16);
    settings.options.epochs = 3;
    let out = dir.path().join("model");
    let mut epochs = 0;
    let trained = train(&data, &out, &settings, &Device::flex(), &mut |_, _| {
        epochs += 1;
        ControlFlow::Continue(())
    })
    .unwrap();
    assert_eq!(epochs, 3);
    assert_eq!(trained.report.tasks, ["heavy_atoms"]);
    assert_eq!(trained.skipped.len(), 1);
    assert!(out.join("metrics.json").exists());
    let p = Predictor::load(&out, &Device::flex()).unwrap();
    assert_eq!(p.tasks(), ["heavy_atoms"]);

    let again = dir.path().join("again");
    let stopped = train(&data, &again, &settings, &Device::flex(), &mut |_, _| {
        ControlFlow::Break(())
    });
    assert!(matches!(stopped, Err(ApiError::Interrupted)), "{stopped:?}");
    assert!(!again.join("metrics.json").exists());
    let features_only = TrainSettings {
        model: ModelConfig::defaults(ModelKind::FeaturesOnly, 0),
        ..settings.clone()
    };
    let refused = train(
        &data,
        &again,
        &features_only,
        &Device::flex(),
        &mut |_, _| ControlFlow::Continue(()),
    );
    assert!(matches!(refused, Err(ApiError::Invalid(_))));
}
