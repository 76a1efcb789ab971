//! Training options beyond chemprop's: a moving average of the weights, starting weights
//! (fine-tuning a moltx or chemprop model), and the per-step log that replays a run elsewhere.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use burn::module::Module;
use burn::tensor::Device;
use moltx::chem::MolGraph;
use moltx::model::{Aggregation, ModelConfig, ModelKind, MoleculeInput, StructureInput};
use moltx::train::metrics::TaskType;
use moltx::train::trainer::{Labelled, TrainOptions, TrainedModel, fit};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// Heavy atoms / 10 of the first `n` approved drugs, as graphs.
fn drugs(n: usize) -> (Vec<MoleculeInput>, Vec<f32>) {
    let text = std::fs::read_to_string(fixture("approved_drugs.csv")).unwrap();
    let inputs: Vec<MoleculeInput> = text
        .lines()
        .skip(1)
        .take(n)
        .map(|l| MoleculeInput::graph(MolGraph::from_smiles(l.split_once(',').unwrap().1).unwrap()))
        .collect();
    let y = inputs
        .iter()
        .map(|i| match &i.structure {
            StructureInput::Graph(g) => g.n_atoms() as f32 / 10.0,
            _ => unreachable!(),
        })
        .collect();
    (inputs, y)
}

fn train(inputs: &[MoleculeInput], y: &[f32], options: &TrainOptions) -> TrainedModel {
    let refs: Vec<&MoleculeInput> = inputs.iter().collect();
    let mask = vec![true; y.len()];
    let (train, val) = refs.split_at(16);
    let (y_train, y_val) = y.split_at(16);
    let mut config = ModelConfig::defaults(ModelKind::Dmpnn, 1);
    config.hidden = 32;
    config.ffn_hidden = 32;
    config.aggregation = Aggregation::Mean;
    fit(
        &config,
        TaskType::Regression,
        &["atoms".into()],
        &Labelled {
            inputs: train,
            targets: y_train,
            mask: &mask[..16],
        },
        &Labelled {
            inputs: val,
            targets: y_val,
            mask: &mask[16..],
        },
        options,
        "test".into(),
        &Device::flex(),
        &mut |_| {},
    )
    .unwrap()
}

#[test]
fn averaging_keeps_the_trajectory_and_validates_the_average() {
    let (inputs, y) = drugs(24);
    let base = TrainOptions {
        epochs: 6,
        batch_size: 4,
        seed: 5,
        data_parallel: 1,
        record_steps: true,
        ..TrainOptions::default()
    };
    let raw = train(&inputs, &y, &base);
    let averaged = train(
        &inputs,
        &y,
        &TrainOptions {
            weight_average: Some(0.9),
            ..base.clone()
        },
    );
    // The optimizer's path is the same: the average only changes what is validated and kept.
    let losses = |t: &TrainedModel| t.steps.iter().map(|s| s.loss).collect::<Vec<_>>();
    assert_eq!(losses(&raw), losses(&averaged));
    assert_eq!(
        raw.steps.len(),
        6 * 4,
        "16 molecules in batches of 4, 6 epochs"
    );
    let val = |t: &TrainedModel| t.epochs.iter().map(|e| e.val_loss).collect::<Vec<_>>();
    assert_ne!(val(&raw), val(&averaged));
    // Each epoch's steps cover the training set once, in the recorded order.
    for epoch in 1..=6 {
        let seen: BTreeSet<usize> = raw
            .steps
            .iter()
            .filter(|s| s.epoch == epoch)
            .flat_map(|s| s.batch.iter().copied())
            .collect();
        assert_eq!(seen, (0..16).collect());
    }
    let steps: Vec<usize> = raw.steps.iter().map(|s| s.step).collect();
    assert_eq!(steps, (0..24).collect::<Vec<_>>());
}

#[test]
fn starting_weights_are_trained_from_and_another_architecture_is_refused() {
    let (inputs, y) = drugs(24);
    let options = TrainOptions {
        epochs: 2,
        batch_size: 4,
        seed: 1,
        ..TrainOptions::default()
    };
    let first = train(&inputs, &y, &options);
    // No epoch: the kept model is the start, weights and scaling, whatever the seed.
    let kept = train(
        &inputs,
        &y,
        &TrainOptions {
            epochs: 0,
            seed: 9,
            initial_weights: Some(first.checkpoint.clone()),
            ..options.clone()
        },
    )
    .checkpoint;
    let bytes = |c: &moltx::model::Checkpoint| c.net.clone().into_record().into_bytes().unwrap();
    assert_eq!(bytes(&kept), bytes(&first.checkpoint));
    assert_eq!(
        kept.header.target_scaling,
        first.checkpoint.header.target_scaling
    );
    // One epoch from it starts where the first run ended, not where a fresh one starts.
    let next = |initial_weights| {
        train(
            &inputs,
            &y,
            &TrainOptions {
                epochs: 1,
                initial_weights,
                record_steps: true,
                ..options.clone()
            },
        )
        .steps[0]
            .loss
    };
    assert_ne!(next(Some(first.checkpoint.clone())), next(None));
    let mut other = first.checkpoint.clone();
    other.header.model.depth = 2;
    let refs: Vec<&MoleculeInput> = inputs.iter().collect();
    let mask = vec![true; 24];
    let data = Labelled {
        inputs: &refs,
        targets: &y,
        mask: &mask,
    };
    let err = fit(
        &first.checkpoint.header.model,
        TaskType::Regression,
        &["atoms".into()],
        &data,
        &data,
        &TrainOptions {
            initial_weights: Some(other),
            ..options
        },
        "test".into(),
        &Device::flex(),
        &mut |_| {},
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("another architecture"), "{err}");
    assert!(err.contains("depth 2"), "{err}");
}

#[test]
fn cli_fine_tunes_a_chemprop_model_and_logs_its_steps() {
    let dir = tempfile::tempdir().unwrap();
    let data = fixture("chemprop/train_regression.csv");
    let run = |out: &Path, extra: &[&str]| {
        Command::cargo_bin("moltx")
            .unwrap()
            .args(["train", "--data"])
            .arg(&data)
            .args(["--targets", "heavy_atoms,logp", "--quiet"])
            .args(["--log-steps", "--batch-size", "16", "--out"])
            .arg(out)
            .args(extra)
            .assert()
            .success();
        std::fs::read_to_string(out.join("steps_0.csv")).unwrap()
    };
    let model = fixture("chemprop/regression.pt");
    let start = ["--init-from", model.to_str().unwrap()];
    let tuned = run(
        &dir.path().join("tuned"),
        &[&start[..], &["--epochs", "1"]].concat(),
    );
    let fresh = run(&dir.path().join("fresh"), &["--epochs", "1"]);
    let rows = |log: &str| -> Vec<(f64, Vec<usize>)> {
        log.lines()
            .skip(1)
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                let rows = f[4].split(' ').map(|r| r.parse().unwrap()).collect();
                (f[3].parse().unwrap(), rows)
            })
            .collect()
    };
    let (tuned, fresh) = (rows(&tuned), rows(&fresh));
    assert_eq!(tuned.len(), fresh.len());
    assert_ne!(tuned[0].0, fresh[0].0, "from other weights");
    // The logged rows are the training rows of split.csv, each once.
    let split = std::fs::read_to_string(dir.path().join("tuned/split.csv")).unwrap();
    let train: BTreeSet<usize> = split
        .lines()
        .skip(1)
        .filter(|l| l.ends_with(",train"))
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect();
    let logged: BTreeSet<usize> = tuned.iter().flat_map(|(_, r)| r.iter().copied()).collect();
    assert_eq!(logged, train);
    // With no epoch the model kept is chemprop's: it predicts what chemprop predicts.
    let kept = dir.path().join("kept");
    let _ = run(&kept, &[&start[..], &["--epochs", "0"]].concat());
    let preds = dir.path().join("preds.csv");
    Command::cargo_bin("moltx")
        .unwrap()
        .args(["predict", "--model"])
        .arg(kept.join("model_0.moltx"))
        .args(["--input", "fixtures/approved_drugs.csv", "--out"])
        .arg(&preds)
        .assert()
        .success();
    let read = |path: &Path, column: &str| -> Vec<f64> {
        let mut r = csv::Reader::from_path(path).unwrap();
        let at = r
            .headers()
            .unwrap()
            .iter()
            .position(|h| h == column)
            .unwrap();
        r.records()
            .map(|x| x.unwrap()[at].parse().unwrap())
            .collect()
    };
    for task in ["heavy_atoms", "logp"] {
        let (ours, theirs) = (
            read(&preds, task),
            read(&fixture("chemprop/regression_preds.csv"), task),
        );
        assert_eq!(ours.len(), theirs.len());
        let worst = ours
            .iter()
            .zip(&theirs)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(worst < 1e-4, "{task}: {worst}");
    }
    // A model with another number of outputs is refused, naming both counts.
    Command::cargo_bin("moltx")
        .unwrap()
        .args(["train", "--data"])
        .arg(&data)
        .args(["--targets", "logp", "--out"])
        .arg(dir.path().join("refused"))
        .arg("--init-from")
        .arg(&model)
        .assert()
        .failure()
        .stderr(predicates::str::contains("has 2 output(s); the data has 1"));
}
