//! Models and training on fixtures: overfitting, masked loss, model files, determinism, CLI.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData};
use moltx::chem::MolGraph;
use moltx::model::{
    Aggregation, BatchTensors, Checkpoint, CheckpointError, InputSpec, ModelConfig, ModelKind,
    MoleculeInput, PropertyNet, StructureInput, StructureSpec,
};
use moltx::train::loss::masked_loss;
use moltx::train::metrics::TaskType;
use moltx::train::trainer::{Labelled, TrainOptions, fit};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

fn drug_smiles() -> Vec<String> {
    let text = std::fs::read_to_string(fixture("approved_drugs.csv")).unwrap();
    text.lines()
        .skip(1)
        .map(|l| l.split_once(',').unwrap().1.to_string())
        .collect()
}

fn small_config(kind: ModelKind, n_tasks: usize) -> ModelConfig {
    let mut c = ModelConfig::defaults(kind, n_tasks);
    c.hidden = 32;
    c.ffn_hidden = 32;
    c.morgan_bits = 256;
    // Mean aggregation keeps the embedding's scale on these small molecules (norm divides
    // sums over a dozen atoms by 100).
    c.aggregation = Aggregation::Mean;
    c
}

fn graph_inputs(smiles: &[String]) -> Vec<MoleculeInput> {
    smiles
        .iter()
        .map(|s| MoleculeInput::graph(MolGraph::from_smiles(s).unwrap()))
        .collect()
}

/// A synthetic but learnable target: heavy atoms / 10 and "has an aromatic atom".
fn labels(inputs: &[MoleculeInput]) -> (Vec<f32>, Vec<f32>) {
    inputs
        .iter()
        .map(|i| match &i.structure {
            StructureInput::Graph(g) => (
                g.n_atoms() as f32 / 10.0,
                if g.atoms().any(|a| a.aromatic) {
                    1.0
                } else {
                    0.0
                },
            ),
            _ => unreachable!(),
        })
        .unzip()
}

#[test]
fn tiny_dmpnn_overfits_a_handful_of_molecules() {
    let smiles: Vec<String> = drug_smiles().into_iter().take(8).collect();
    let inputs = graph_inputs(&smiles);
    let refs: Vec<&MoleculeInput> = inputs.iter().collect();
    let (y, _) = labels(&inputs);
    let mask = vec![true; y.len()];
    let data = Labelled {
        inputs: &refs,
        targets: &y,
        mask: &mask,
    };
    let options = TrainOptions {
        epochs: 150,
        batch_size: 2,
        seed: 1,
        ..TrainOptions::default()
    };
    let mut losses = Vec::new();
    let config = small_config(ModelKind::Dmpnn, 1);
    fit(
        &config,
        TaskType::Regression,
        &["atoms".into()],
        &data,
        &data,
        &options,
        "test".into(),
        &Device::flex(),
        &mut |r| losses.push(r.train_loss),
    )
    .unwrap();
    let (first, last) = (losses[0], *losses.last().unwrap());
    assert!(
        last * 10.0 < first,
        "loss {first} → {last} did not fall 10×"
    );
}

#[test]
fn masked_labels_get_no_gradient() {
    let device = Device::flex().autodiff();
    let smiles: Vec<String> = drug_smiles().into_iter().take(4).collect();
    let inputs = graph_inputs(&smiles);
    let refs: Vec<&MoleculeInput> = inputs.iter().collect();
    let config = small_config(ModelKind::Dmpnn, 2);
    let net = PropertyNet::new(&config, &mut ChaCha8Rng::seed_from_u64(3), &device);
    let batch = BatchTensors::new(&refs, &config, &device).unwrap();
    let mask = vec![1.0f32, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 0.0];
    let grad_of = |targets: Vec<f32>| -> Vec<f32> {
        let out = net
            .forward(&config, &batch, false, &mut ChaCha8Rng::seed_from_u64(0))
            .unwrap();
        let y = Tensor::<2>::from_data(TensorData::new(targets, [4, 2]), &device);
        let m = Tensor::<2>::from_data(TensorData::new(mask.clone(), [4, 2]), &device);
        let loss = masked_loss(TaskType::Classification, out, y, m);
        let grads = loss.backward();
        let w = net.head.layers[0].weight.val();
        w.grad(&grads)
            .unwrap()
            .into_data()
            .try_into_vec::<f32>()
            .unwrap()
    };
    let a = grad_of(vec![1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0]);
    // change only masked labels (positions 1, 4, 7)
    let b = grad_of(vec![1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0]);
    assert_eq!(a, b, "masked labels changed the gradient");
    // changing an unmasked label does change it
    let c = grad_of(vec![0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0]);
    assert_ne!(a, c);
    let _ = GradientsParams::new();
}

fn train_small(seed: u64) -> Checkpoint {
    let smiles: Vec<String> = drug_smiles().into_iter().take(16).collect();
    let inputs = graph_inputs(&smiles);
    let refs: Vec<&MoleculeInput> = inputs.iter().collect();
    let (y, _) = labels(&inputs);
    let mask = vec![true; y.len()];
    let data = Labelled {
        inputs: &refs,
        targets: &y,
        mask: &mask,
    };
    let options = TrainOptions {
        epochs: 3,
        batch_size: 4,
        seed,
        ..TrainOptions::default()
    };
    let config = small_config(ModelKind::Dmpnn, 1);
    fit(
        &config,
        TaskType::Regression,
        &["atoms".into()],
        &data,
        &data,
        &options,
        "h".into(),
        &Device::flex(),
        &mut |_| {},
    )
    .unwrap()
    .checkpoint
}

#[test]
fn training_is_deterministic_to_the_byte() {
    let a = train_small(5).to_bytes().unwrap();
    let b = train_small(5).to_bytes().unwrap();
    assert!(a == b, "same seed and data gave different model files");
    assert!(a != train_small(6).to_bytes().unwrap());
}

#[test]
fn model_file_round_trip_and_corruption_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.moltx");
    let model = train_small(7);
    model.save(&path).unwrap();
    let device = Device::flex();
    let loaded = Checkpoint::load(&path, &device).unwrap();
    let smiles: Vec<String> = drug_smiles().into_iter().skip(20).take(10).collect();
    let inputs = graph_inputs(&smiles);
    let refs: Vec<&MoleculeInput> = inputs.iter().collect();
    assert_eq!(
        model.predict(&refs, 4, &device).unwrap(),
        loaded.predict(&refs, 4, &device).unwrap()
    );
    assert_eq!(loaded.header, model.header);

    let bytes = std::fs::read(&path).unwrap();
    let check = |name: &str, data: &[u8]| -> CheckpointError {
        let p = dir.path().join(name);
        std::fs::write(&p, data).unwrap();
        Checkpoint::load(&p, &device).unwrap_err()
    };
    assert!(matches!(
        check("trunc.moltx", &bytes[..bytes.len() / 2]),
        CheckpointError::Truncated { .. }
    ));
    let mut flipped = bytes.clone();
    let mid = flipped.len() - 100;
    flipped[mid] ^= 0xff;
    assert!(matches!(
        check("flip.moltx", &flipped),
        CheckpointError::Corrupted { .. }
    ));
    assert!(matches!(
        check("junk.moltx", b"hello world, not a model"),
        CheckpointError::BadMagic(_)
    ));
    let mut version = bytes.clone();
    version[8] = 99;
    let err = check("version.moltx", &version);
    assert!(
        matches!(err, CheckpointError::UnsupportedVersion { found: 99, .. }),
        "{err}"
    );

    let mut other = model.clone();
    other.header.feature_layout.version = 999;
    let p = dir.path().join("layout.moltx");
    other.save(&p).unwrap();
    let err = Checkpoint::load(&p, &device).unwrap_err();
    assert!(
        matches!(err, CheckpointError::LayoutMismatch { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("feature layout"));

    // The file states what the model reads; a statement its architecture contradicts is
    // refused.
    assert_eq!(
        loaded.header.input_spec,
        Some(InputSpec::of_model(
            &model.header.model,
            &model.header.feature_layout
        ))
    );
    let mut lying = model.clone();
    lying.header.input_spec = Some(InputSpec::morgan(2, 2048));
    let p = dir.path().join("spec.moltx");
    lying.save(&p).unwrap();
    let err = Checkpoint::load(&p, &device).unwrap_err();
    assert!(
        err.to_string()
            .contains("stated input (Morgan bits (radius 2, 2048 bits))"),
        "{err}"
    );
}

#[test]
fn committed_format_v1_model_still_loads() {
    let path = fixture("models/format_v1_small.moltx");
    let model = Checkpoint::load(&path, &Device::flex())
        .expect("the committed v1 model file must stay loadable");
    assert_eq!(model.header.format_version, 1);
    // Files from before input specs were stored get theirs from the architecture.
    assert!(matches!(
        model.header.input_spec,
        Some(InputSpec {
            structure: StructureSpec::Graph { .. },
            features: None
        })
    ));
    let inputs = graph_inputs(&["CCO".to_string()]);
    let refs: Vec<&MoleculeInput> = inputs.iter().collect();
    let p = model.predict(&refs, 1, &Device::flex()).unwrap();
    assert!(p[0].is_finite());
}

#[test]
fn cli_train_predict_evaluate_fingerprint() {
    let dir = tempfile::tempdir().unwrap();
    let smiles = drug_smiles();
    let inputs = graph_inputs(&smiles);
    let (atoms, aromatic) = labels(&inputs);
    let data = dir.path().join("train.csv");
    let mut text = String::from("smiles,atoms,aromatic\n");
    for ((s, a), r) in smiles.iter().zip(&atoms).zip(&aromatic) {
        text.push_str(&format!("{s},{a},{r}\n"));
    }
    std::fs::write(&data, &text).unwrap();
    let out = dir.path().join("model");
    Command::cargo_bin("moltx")
        .unwrap()
        .args(["train", "--data"])
        .arg(&data)
        .args([
            "--targets",
            "atoms",
            "--epochs",
            "3",
            "--hidden",
            "16",
            "--ffn-hidden",
            "16",
            "--ensemble",
            "2",
        ])
        .args(["--split", "scaffold", "--quiet", "--out"])
        .arg(&out)
        .assert()
        .success();
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(metrics["task_type"], "regression");
    assert!(metrics["test"]["rmse"].as_f64().unwrap().is_finite());
    for key in [
        "splits",
        "val",
        "best_epoch",
        "epochs",
        "train_seconds",
        "train_molecules_per_second",
    ] {
        assert!(metrics.get(key).is_some(), "metrics.json lacks {key}");
    }
    assert!(out.join("split.csv").exists() && out.join("epochs.csv").exists());
    for png in ["learning_curve.png", "test_parity_atoms.png"] {
        let bytes = std::fs::read(out.join(png)).unwrap();
        assert!(bytes.starts_with(b"\x89PNG"), "{png} is not a PNG");
    }
    assert_eq!(metrics["plots"].as_array().unwrap().len(), 2);

    let input = dir.path().join("input.csv");
    std::fs::write(&input, "smiles\nCCO\nC1CC(\nc1ccccc1\n").unwrap();
    let preds = dir.path().join("preds.csv");
    Command::cargo_bin("moltx")
        .unwrap()
        .args(["predict", "--model"])
        .arg(&out)
        .arg("--input")
        .arg(&input)
        .arg("--out")
        .arg(&preds)
        .assert()
        .success();
    let text = std::fs::read_to_string(&preds).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "row,id,smiles,atoms,atoms_std,error");
    assert_eq!(lines.len(), 4, "one row per input row");
    assert!(lines[2].starts_with("1,,C1CC(") && lines[2].contains("invalid SMILES"));
    assert!(lines[3].starts_with("2,,c1ccccc1,") && lines[3].ends_with(','));

    Command::cargo_bin("moltx")
        .unwrap()
        .args(["evaluate", "--model"])
        .arg(&out)
        .arg("--data")
        .arg(&data)
        .assert()
        .success()
        .stdout(predicates::str::contains("\"rmse\""));
    let emb = dir.path().join("emb.csv");
    Command::cargo_bin("moltx")
        .unwrap()
        .args(["fingerprint", "--model"])
        .arg(out.join("model_0.moltx"))
        .arg("--input")
        .arg(&input)
        .arg("--out")
        .arg(&emb)
        .assert()
        .success();
    let emb = std::fs::read_to_string(&emb).unwrap();
    let lines: Vec<&str> = emb.lines().collect();
    assert_eq!(lines.len(), 4);
    assert!(lines[0].starts_with("row,id,smiles,e0,e1,") && lines[0].ends_with(",e15,error"));
    assert!(lines[2].contains("invalid SMILES"));
    assert_eq!(lines[3].split(',').count(), 3 + 16 + 1);
}

#[test]
fn ffn_morgan_baseline_trains_and_predicts() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("train.csv");
    let smiles = drug_smiles();
    let (_, aromatic) = labels(&graph_inputs(&smiles));
    let mut text = String::from("smiles,aromatic\n");
    for (s, r) in smiles.iter().zip(&aromatic) {
        text.push_str(&format!("{s},{r}\n"));
    }
    std::fs::write(&data, &text).unwrap();
    let out = dir.path().join("m");
    Command::cargo_bin("moltx")
        .unwrap()
        .args([
            "train",
            "--model",
            "ffn-morgan",
            "--epochs",
            "5",
            "--quiet",
            "--data",
        ])
        .arg(&data)
        .arg("--out")
        .arg(&out)
        .assert()
        .success()
        .stdout(predicates::str::contains("roc_auc"));
}

#[test]
fn bundled_tox21_model_scores_the_bundled_drugs() {
    let device = Device::flex();
    let members = moltx::model::ensemble::load_ensemble(&fixture("models/tox21"), &device).unwrap();
    assert_eq!(members[0].header.tasks.len(), 12);
    assert_eq!(members[0].header.task_type, TaskType::Classification);
    let inputs = graph_inputs(&drug_smiles());
    let refs: Vec<&MoleculeInput> = inputs.iter().collect();
    let (mean, _) = moltx::model::ensemble::ensemble_predict(&members, &refs, 64, &device).unwrap();
    assert_eq!(mean.len(), 61 * 12);
    // Known biology the model must have learned: estradiol activates the estrogen receptor
    // (NR-ER, task 4) and prednisolone the androgen receptor (NR-AR, task 0); most drugs
    // are inactive on most tasks.
    let drugs = std::fs::read_to_string(fixture("approved_drugs.csv")).unwrap();
    let row_of = |name: &str| {
        let prefix = format!("{name},");
        drugs
            .lines()
            .skip(1)
            .position(|l| l.starts_with(&prefix))
            .unwrap()
    };
    assert!(mean[row_of("estradiol") * 12 + 4] > 0.8);
    assert!(mean[row_of("prednisolone") * 12] > 0.8);
    let mut sorted = mean.clone();
    sorted.sort_by(f64::total_cmp);
    assert!(
        sorted[sorted.len() / 2] < 0.2,
        "median {}",
        sorted[sorted.len() / 2]
    );
}

#[test]
fn rdkit_descriptor_features_train_save_and_screen() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("len.csv");
    let mut text = String::from("smiles,len\n");
    for s in drug_smiles() {
        text.push_str(&format!("{s},{}\n", s.len() as f64 / 10.0));
    }
    std::fs::write(&data, &text).unwrap();
    let out = dir.path().join("model");
    Command::cargo_bin("moltx")
        .unwrap()
        .args(["train", "--data"])
        .arg(&data)
        .args(["--targets", "len", "--epochs", "2", "--hidden", "16"])
        .args(["--ffn-hidden", "16", "--features-generators", "rdkit_2d"])
        .args(["--quiet", "--out"])
        .arg(&out)
        .assert()
        .success();
    let device = Device::flex();
    let model = Checkpoint::load(&out.join("model_0.moltx"), &device).unwrap();
    let features = model.header.model.descriptors.as_ref().unwrap();
    assert!(features.len() >= 40);
    assert_eq!(features.mean.len(), features.len());
    assert!(features.sd.iter().any(|&s| s > 0.0));
    // The model reads the descriptors: the same graph with other descriptors predicts differently.
    let config = &model.header.model;
    let input = moltx::model::featurize(config, "c1ccccc1O").unwrap();
    assert_eq!(input.descriptors.len(), features.len());
    let mut shifted = input.clone();
    for (d, m) in shifted.descriptors.iter_mut().zip(&features.sd) {
        *d += 3.0 * *m as f32;
    }
    let a = model.predict(&[&input], 1, &device).unwrap();
    let b = model.predict(&[&shifted], 1, &device).unwrap();
    assert_ne!(a, b);
    // Unknown generators are refused with the known names.
    Command::cargo_bin("moltx")
        .unwrap()
        .args(["train", "--data"])
        .arg(&data)
        .args(["--targets", "len", "--features-generators", "morgan_counts"])
        .args(["--quiet", "--out"])
        .arg(dir.path().join("x"))
        .assert()
        .failure()
        .stderr(predicates::str::contains("known: rdkit_2d"));
    // Screening computes the descriptors too.
    let hits = dir.path().join("hits.csv");
    Command::cargo_bin("moltx")
        .unwrap()
        .args([
            "screen",
            "--library",
            "fixtures/approved_drugs.csv",
            "--quiet",
        ])
        .arg("--model")
        .arg(&out)
        .arg("--out")
        .arg(&hits)
        .assert()
        .success();
    let rows = std::fs::read_to_string(&hits).unwrap();
    assert_eq!(rows.lines().count(), 62);
    assert!(
        rows.lines().skip(1).all(|l| l.ends_with(',')),
        "no row failed"
    );
}

#[test]
fn data_parallel_batches_follow_the_full_batch_gradient_and_reproduce() {
    let smiles: Vec<String> = drug_smiles().into_iter().take(40).collect();
    let inputs = graph_inputs(&smiles);
    let refs: Vec<&MoleculeInput> = inputs.iter().collect();
    let (atoms, aromatic) = labels(&inputs);
    // Two tasks, every third label of the second one missing: the parts of a batch must
    // divide by the whole batch's labelled count.
    let y: Vec<f32> = atoms
        .iter()
        .zip(&aromatic)
        .flat_map(|(&a, &b)| [a, b])
        .collect();
    let mask: Vec<bool> = (0..y.len()).map(|k| k % 2 == 0 || k % 3 != 0).collect();
    let data = Labelled {
        inputs: &refs,
        targets: &y,
        mask: &mask,
    };
    let config = small_config(ModelKind::Dmpnn, 2);
    let run = |parts: usize| {
        let options = TrainOptions {
            epochs: 3,
            batch_size: 16,
            data_parallel: parts,
            ..TrainOptions::default()
        };
        let mut losses = Vec::new();
        let trained = fit(
            &config,
            TaskType::Regression,
            &["atoms".into(), "aromatic".into()],
            &data,
            &data,
            &options,
            "dp".into(),
            &Device::flex(),
            &mut |r| losses.push(r.train_loss),
        )
        .unwrap();
        let pred = trained
            .checkpoint
            .predict(&refs, 8, &Device::flex())
            .unwrap();
        (losses, pred)
    };
    let (whole, whole_pred) = run(1);
    let (split, split_pred) = run(3);
    for (a, b) in whole.iter().zip(&split) {
        assert!(
            (a - b).abs() < 1e-4 * a.abs().max(1.0),
            "losses {whole:?} vs {split:?}"
        );
    }
    for (a, b) in whole_pred.iter().zip(&split_pred) {
        assert!((a - b).abs() < 1e-3, "{a} vs {b}");
    }
    assert_eq!(run(3), (split, split_pred), "same split, same numbers");
}

#[test]
fn a_fixed_shuffle_seed_keeps_the_batch_order_while_the_seed_changes_the_initialization() {
    let smiles: Vec<String> = drug_smiles().into_iter().take(12).collect();
    let inputs = graph_inputs(&smiles);
    let refs: Vec<&MoleculeInput> = inputs.iter().collect();
    let (y, _) = labels(&inputs);
    let mask = vec![true; y.len()];
    let data = Labelled {
        inputs: &refs,
        targets: &y,
        mask: &mask,
    };
    let config = small_config(ModelKind::Dmpnn, 1);
    // The per-epoch training losses of a run: they follow the initialization and the order.
    let losses = |seed: u64, shuffle_seed: Option<u64>| -> Vec<f64> {
        let options = TrainOptions {
            epochs: 3,
            batch_size: 4,
            seed,
            shuffle_seed,
            data_parallel: 1,
            ..TrainOptions::default()
        };
        let mut out = Vec::new();
        fit(
            &config,
            TaskType::Regression,
            &["atoms".into()],
            &data,
            &data,
            &options,
            "test".into(),
            &Device::flex(),
            &mut |r| out.push(r.train_loss),
        )
        .unwrap();
        out
    };
    let fixed = losses(1, Some(7));
    assert_eq!(fixed, losses(1, Some(7)), "reproducible");
    assert_ne!(fixed, losses(1, None), "the shuffle seed changes the order");
    assert_ne!(
        fixed,
        losses(2, Some(7)),
        "the seed still changes the initialization"
    );
}
