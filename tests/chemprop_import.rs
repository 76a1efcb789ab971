//! `moltx import-chemprop` and `moltx::model::chemprop`: chemprop 2.3.1 models (made by
//! `fixtures/chemprop/make_fixture.py`, committed with chemprop's own predictions) imported
//! without chemprop, and checked against those predictions, chemprop's featurization, and
//! files that must be refused.

mod common;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use burn::tensor::Device;
use moltx::chem::MolGraph;
use moltx::chem::featurize::{ATOM_DIM, BOND_DIM, atom_features, bond_features};
use moltx::model::chemprop::{
    ChempropImportError, ImportOptions, import_chemprop, import_chemprop_bytes,
};
use moltx::model::config::TaskType;
use moltx::model::{Aggregation, Checkpoint, featurize};

const DIR: &str = "fixtures/chemprop";
const TOLERANCE: f64 = 1e-4;

fn fixture(name: &str) -> PathBuf {
    Path::new(DIR).join(name)
}

/// chemprop's predictions: (smiles, values of the named tasks) per row.
fn chemprop_predictions(name: &str, tasks: &[&str]) -> Vec<(String, Vec<f64>)> {
    let mut reader = csv::Reader::from_path(fixture(&format!("{name}_preds.csv"))).unwrap();
    let headers = reader.headers().unwrap().clone();
    let col = |t: &str| headers.iter().position(|h| h == t).unwrap();
    let (smiles, cols): (usize, Vec<usize>) =
        (col("smiles"), tasks.iter().map(|t| col(t)).collect());
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            let values = cols.iter().map(|&c| r[c].parse().unwrap()).collect();
            (r[smiles].to_string(), values)
        })
        .collect()
}

/// Largest |moltx − chemprop| over every molecule and task.
fn max_difference(checkpoint: &Checkpoint, expected: &[(String, Vec<f64>)]) -> f64 {
    let device = Device::flex();
    let inputs: Vec<_> = expected
        .iter()
        .map(|(s, _)| featurize(&checkpoint.header.model, s).unwrap())
        .collect();
    let refs: Vec<_> = inputs.iter().collect();
    let ours = checkpoint.predict(&refs, 16, &device).unwrap();
    let n = checkpoint.header.tasks.len();
    expected
        .iter()
        .enumerate()
        .flat_map(|(i, (_, values))| {
            let ours = &ours;
            values
                .iter()
                .enumerate()
                .map(move |(k, v)| (ours[i * n + k] - v).abs())
        })
        .fold(0.0, f64::max)
}

#[test]
fn an_imported_regression_model_predicts_what_chemprop_predicts() {
    let device = Device::flex();
    let c = import_chemprop(
        &fixture("regression.pt"),
        &ImportOptions::default(),
        &device,
    )
    .unwrap();
    let h = &c.header;
    assert_eq!(h.task_type, TaskType::Regression);
    assert_eq!(h.tasks, ["heavy_atoms", "logp"]);
    assert_eq!((h.model.hidden, h.model.depth), (32, 2));
    assert_eq!((h.model.ffn_layers, h.model.ffn_hidden), (1, 32));
    assert_eq!(
        (h.model.aggregation, h.model.norm),
        (Aggregation::Norm, 100.0)
    );
    assert!(h.model.preactivation_skip);
    let scaling = h
        .target_scaling
        .as_ref()
        .expect("chemprop's UnscaleTransform");
    assert_eq!(scaling.mean.len(), 2);
    let expected = chemprop_predictions("regression", &["heavy_atoms", "logp"]);
    assert_eq!(expected.len(), common::drugs().len());
    let d = max_difference(&c, &expected);
    println!("regression: max |moltx - chemprop| = {d:e}");
    assert!(d < TOLERANCE, "{d}");
}

#[test]
fn an_imported_classification_model_predicts_what_chemprop_predicts() {
    let device = Device::flex();
    let c = import_chemprop(
        &fixture("classification.pt"),
        &ImportOptions::default(),
        &device,
    )
    .unwrap();
    assert_eq!(c.header.task_type, TaskType::Classification);
    assert_eq!(c.header.tasks, ["has_nitrogen", "mw_over_300"]);
    assert!(c.header.target_scaling.is_none());
    let expected = chemprop_predictions("classification", &["has_nitrogen", "mw_over_300"]);
    let d = max_difference(&c, &expected);
    println!("classification: max |moltx - chemprop| = {d:e}");
    assert!(d < TOLERANCE, "{d}");
}

#[test]
fn a_lightning_checkpoint_of_another_architecture_imports_too() {
    let device = Device::flex();
    let c = import_chemprop(
        &fixture("mean_ffn2.ckpt"),
        &ImportOptions::default(),
        &device,
    )
    .unwrap();
    let m = &c.header.model;
    assert_eq!(
        (m.hidden, m.depth, m.aggregation),
        (32, 3, Aggregation::Mean)
    );
    assert_eq!((m.ffn_layers, m.ffn_hidden), (2, 48));
    // A .ckpt holds no task names.
    assert_eq!(c.header.tasks, ["task_0", "task_1"]);
    let expected = chemprop_predictions("mean_ffn2", &["pred_0", "pred_1"]);
    let d = max_difference(&c, &expected);
    println!("mean_ffn2.ckpt: max |moltx - chemprop| = {d:e}");
    assert!(d < TOLERANCE, "{d}");
    let options = ImportOptions {
        tasks: Some(vec!["heavy_atoms".into(), "logp".into()]),
    };
    let named = import_chemprop(&fixture("mean_ffn2.ckpt"), &options, &device).unwrap();
    assert_eq!(named.header.tasks, ["heavy_atoms", "logp"]);
}

#[test]
fn import_chemprop_then_predict_on_the_command_line_reproduces_chemprop() {
    let dir = tempfile::tempdir().unwrap();
    for (name, tasks) in [
        ("regression", ["heavy_atoms", "logp"]),
        ("classification", ["has_nitrogen", "mw_over_300"]),
    ] {
        let model = dir.path().join(format!("{name}.moltx"));
        let out = Command::cargo_bin("moltx")
            .unwrap()
            .args([
                "import-chemprop",
                fixture(&format!("{name}.pt")).to_str().unwrap(),
            ])
            .arg("--out")
            .arg(&model)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains(&tasks.join(", ")));
        let preds = dir.path().join(format!("{name}.csv"));
        let out = Command::cargo_bin("moltx")
            .unwrap()
            .args(["predict", "--model"])
            .arg(&model)
            .args(["--input", "fixtures/approved_drugs.csv", "--out"])
            .arg(&preds)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let expected = chemprop_predictions(name, &tasks);
        let mut reader = csv::Reader::from_path(&preds).unwrap();
        let headers = reader.headers().unwrap().clone();
        let rows: Vec<_> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), expected.len());
        let mut worst = 0.0f64;
        for (row, (smiles, values)) in rows.iter().zip(&expected) {
            assert_eq!(
                &row[headers.iter().position(|h| h == "smiles").unwrap()],
                smiles
            );
            for (t, v) in tasks.iter().zip(values) {
                let ours: f64 = row[headers.iter().position(|h| h == *t).unwrap()]
                    .parse()
                    .unwrap();
                worst = worst.max((ours - v).abs());
            }
        }
        println!("{name} through the CLI: max |moltx - chemprop| = {worst:e}");
        assert!(worst < TOLERANCE, "{name}: {worst}");
    }
}

#[test]
fn several_models_make_an_ensemble_folder_and_tasks_can_be_named() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("ensemble");
    let out = Command::cargo_bin("moltx")
        .unwrap()
        .args(["import-chemprop", "fixtures/chemprop/regression.pt"])
        .arg(dir.path().join("copy.pt"))
        .arg("--out")
        .arg(&out_dir)
        .args(["--tasks", "atoms,logP"])
        .output()
        .unwrap();
    // The second file does not exist: nothing is claimed for it.
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("copy.pt"));
    std::fs::copy(
        "fixtures/chemprop/regression.pt",
        dir.path().join("copy.pt"),
    )
    .unwrap();
    let out = Command::cargo_bin("moltx")
        .unwrap()
        .args(["import-chemprop", "fixtures/chemprop/regression.pt"])
        .arg(dir.path().join("copy.pt"))
        .arg("--out")
        .arg(&out_dir)
        .args(["--tasks", "atoms,logP"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let device = Device::flex();
    for file in ["regression.moltx", "copy.moltx"] {
        let c = Checkpoint::load(&out_dir.join(file), &device).unwrap();
        assert_eq!(c.header.tasks, ["atoms", "logP"]);
    }
    let options = ImportOptions {
        tasks: Some(vec!["one".into()]),
    };
    let err = import_chemprop(&fixture("regression.pt"), &options, &device).unwrap_err();
    assert!(matches!(err, ChempropImportError::Tasks { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("1 task names for a model of 2 outputs"),
        "{err}"
    );
}

/// An import error's message, which must name the file.
fn refusal(bytes: &[u8], name: &str) -> String {
    let path = Path::new(name);
    let err = import_chemprop_bytes(bytes, path, &ImportOptions::default(), &Device::flex())
        .expect_err("must be refused");
    let text = err.to_string();
    assert!(text.starts_with(name), "{text}");
    text
}

#[test]
fn models_moltx_cannot_represent_are_refused_naming_what() {
    for (file, says) in [
        (
            "atom_messages.pt",
            "atom-based message passing (AtomMessagePassing, --atom-messages)",
        ),
        ("descriptors.pt", "extra molecule-level descriptors (X_d"),
        (
            "quantile.pt",
            "the predictor QuantileFFN (a quantile-interval head",
        ),
        ("v1_featurizer.pt", "atom/bond feature widths 133/14"),
        (
            "multicomponent.pt",
            "several molecules per input (MulticomponentMessagePassing)",
        ),
        ("batch_norm.pt", "batch normalization after aggregation"),
    ] {
        let text = refusal(&std::fs::read(fixture(file)).unwrap(), file);
        assert!(
            text.contains("moltx cannot import this chemprop model"),
            "{text}"
        );
        assert!(text.contains(says), "{file}: {text}");
    }
}

#[test]
fn corrupt_files_are_refused_with_the_reason_and_never_panic() {
    let good = std::fs::read(fixture("regression.pt")).unwrap();
    let text = refusal(b"garbage bytes, not a model", "garbage.pt");
    assert!(text.contains("not a torch model file"), "{text}");
    let text = refusal(&good[..good.len() / 2], "truncated.pt");
    assert!(text.contains("cannot read a chemprop model"), "{text}");
    assert!(text.contains("ZIP"), "{text}");
    let text = refusal(b"", "empty.pt");
    assert!(text.contains("not a torch model file"), "{text}");
    // A moltx model file is not a chemprop one.
    let moltx = std::fs::read("fixtures/models/format_v1_small.moltx").unwrap();
    assert!(refusal(&moltx, "model.moltx").contains("not a torch model file"));
    // Every cut of the file and a flipped byte every few hundred: an error, never a panic.
    for cut in (0..good.len()).step_by(997) {
        refusal(&good[..cut], "cut.pt");
    }
    for at in (0..good.len()).step_by(211) {
        let mut bad = good.clone();
        bad[at] ^= 0x5a;
        let _ = import_chemprop_bytes(
            &bad,
            Path::new("flipped.pt"),
            &ImportOptions::default(),
            &Device::flex(),
        );
    }
}

#[test]
fn archives_without_a_chemprop_model_are_refused() {
    use std::io::Write;
    let zip_of = |entries: &[(&str, &[u8])]| {
        let mut buf = std::io::Cursor::new(Vec::new());
        let mut zip = zip::ZipWriter::new(&mut buf);
        let stored = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        for (name, bytes) in entries {
            zip.start_file(*name, stored).unwrap();
            zip.write_all(bytes).unwrap();
        }
        zip.finish().unwrap();
        buf.into_inner()
    };
    let text = refusal(&zip_of(&[("a/readme.txt", b"hi")]), "nopickle.pt");
    assert!(text.contains("without data.pkl"), "{text}");
    // A pickle cut short, and one of an empty dict (a torch file, not a chemprop model).
    let text = refusal(
        &zip_of(&[("a/data.pkl", b"\x80\x02}q\x00(X\x05\x00")]),
        "cut.pt",
    );
    assert!(text.contains("data.pkl: byte"), "{text}");
    let text = refusal(
        &zip_of(&[("a/data.pkl", b"\x80\x02}q\x00.")]),
        "empty_dict.pt",
    );
    assert!(
        text.contains("not a chemprop v2 model file: no hyper_parameters"),
        "{text}"
    );
}

/// chemprop's feature vectors (`featurization.csv`: nonzero `index:value` pairs per atom and
/// bond of every fixture molecule) against `moltx::chem::featurize`.
#[test]
fn featurization_matches_chemprop_on_every_fixture_atom_and_bond() {
    let drugs = common::drugs();
    let mut reader = csv::Reader::from_path(fixture("featurization.csv")).unwrap();
    let (mut atoms, mut bonds, mut differing) = (0, 0, Vec::new());
    let graphs: Vec<MolGraph> = drugs
        .iter()
        .map(|(_, s)| MolGraph::from_smiles(s).unwrap())
        .collect();
    for record in reader.records() {
        let r = record.unwrap();
        let (m, kind, i): (usize, &str, usize) =
            (r[0].parse().unwrap(), &r[1], r[2].parse().unwrap());
        let width = if kind == "atom" { ATOM_DIM } else { BOND_DIM };
        let mut theirs = vec![0.0f32; width];
        for pair in r[3].split_whitespace() {
            let (j, v) = pair.split_once(':').unwrap();
            theirs[j.parse::<usize>().unwrap()] = v.parse().unwrap();
        }
        let g = &graphs[m].graph;
        let mut ours = vec![0.0f32; width];
        if kind == "atom" {
            atom_features(&g[petgraph::graph::NodeIndex::new(i)], &mut ours);
            atoms += 1;
        } else {
            bond_features(Some(&g[petgraph::graph::EdgeIndex::new(i)]), &mut ours);
            bonds += 1;
        }
        for j in 0..width {
            if (ours[j] - theirs[j]).abs() > 1e-4 {
                differing.push(format!(
                    "{} {kind} {i} feature {j}: moltx {} chemprop {}",
                    drugs[m].0, ours[j], theirs[j]
                ));
            }
        }
    }
    let (n_atoms, n_bonds): (usize, usize) = graphs
        .iter()
        .map(|g| (g.graph.node_count(), g.graph.edge_count()))
        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    assert_eq!((atoms, bonds), (n_atoms, n_bonds));
    assert!(
        differing.is_empty(),
        "{} differences:\n{}",
        differing.len(),
        differing.join("\n")
    );
}

/// One Adam step (lr 1e-3) from the imported weights on the 16 molecules and targets chemprop
/// took it on (`train_step.json`): the masked MSE on standardized targets, each parameter's
/// gradient norm, and after the step its first values, the norm of its change and its sum.
#[test]
fn one_training_step_matches_chemprop() {
    use burn::module::Param;
    use burn::optim::{AdamConfig, GradientsParams};
    use burn::tensor::{Tensor, TensorData};
    use moltx::model::{BatchTensors, PropertyNet};
    use moltx::train::loss::masked_loss;
    use rand::SeedableRng;

    let step: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("train_step.json")).unwrap())
            .unwrap();
    let device = Device::flex().autodiff();
    let c = import_chemprop(
        &fixture("regression.pt"),
        &ImportOptions::default(),
        &device,
    )
    .unwrap();
    let config = c.header.model.clone();
    let scaling = c.header.target_scaling.clone().unwrap();
    let smiles: Vec<String> = step["smiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    let mut reader = csv::Reader::from_path(fixture("train_regression.csv")).unwrap();
    let mut targets = Vec::new();
    for (r, s) in reader.records().zip(&smiles) {
        let r = r.unwrap();
        assert_eq!(&r[0], s);
        for k in 0..2 {
            let y: f64 = r[1 + k].parse().unwrap();
            targets.push(((y - scaling.mean[k]) / scaling.sd[k]) as f32);
        }
    }
    let n = smiles.len();
    let inputs: Vec<_> = smiles
        .iter()
        .map(|s| featurize(&config, s).unwrap())
        .collect();
    let refs: Vec<_> = inputs.iter().collect();
    let batch = BatchTensors::new(&refs, &config, &device).unwrap();
    let out = c
        .net
        .forward(
            &config,
            &batch,
            true,
            &mut rand_chacha::ChaCha8Rng::seed_from_u64(0),
        )
        .unwrap();
    let y = Tensor::<2>::from_data(TensorData::new(targets, [n, 2]), &device);
    let m = Tensor::<2>::from_data(TensorData::new(vec![1.0f32; n * 2], [n, 2]), &device);
    let loss = masked_loss(TaskType::Regression, out, y, m);
    let loss_value = f64::from(loss.clone().into_scalar::<f32>());
    let grads = loss.backward();

    // (chemprop name, moltx weight, moltx bias?) in chemprop's order.
    let net = &c.net;
    let params = |net: &PropertyNet| -> Vec<(String, Vec<f32>, [usize; 2])> {
        let mut out = Vec::new();
        let mut push = |name: &str, w: &Param<Tensor<2>>, b: Option<&Param<Tensor<1>>>| {
            let dims = w.val().dims();
            out.push((
                format!("{name}.weight"),
                w.val().into_data().try_to_vec::<f32>().unwrap(),
                dims,
            ));
            if let Some(b) = b {
                let len = b.val().dims()[0];
                out.push((
                    format!("{name}.bias"),
                    b.val().into_data().try_to_vec::<f32>().unwrap(),
                    [1, len],
                ));
            }
        };
        for (name, w, b) in layers(net) {
            push(name, w, b);
        }
        out
    };
    let norm = |v: &[f32]| v.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt();
    let grad_norms: Vec<(String, f64)> = {
        let mut g = Vec::new();
        let mut push = |name: &str, w: &Param<Tensor<2>>, b: Option<&Param<Tensor<1>>>| {
            let gw = w
                .val()
                .grad(&grads)
                .unwrap()
                .into_data()
                .try_to_vec::<f32>()
                .unwrap();
            g.push((format!("{name}.weight"), norm(&gw)));
            if let Some(b) = b {
                let gb = b
                    .val()
                    .grad(&grads)
                    .unwrap()
                    .into_data()
                    .try_to_vec::<f32>()
                    .unwrap();
                g.push((format!("{name}.bias"), norm(&gb)));
            }
        };
        for (name, w, b) in layers(net) {
            push(name, w, b);
        }
        g
    };
    let before = params(net);
    let mut optim = AdamConfig::new().with_epsilon(1e-8).init();
    let gp = GradientsParams::from_grads(grads, net);
    let after_net = optim.step(step["lr"].as_f64().unwrap(), c.net.clone(), gp);
    let after = params(&after_net);

    let expected_loss = step["loss"].as_f64().unwrap();
    println!("loss: moltx {loss_value:.8} chemprop {expected_loss:.8}");
    assert!((loss_value - expected_loss).abs() < 1e-5 * expected_loss.abs().max(1.0));
    for (name, g) in &grad_norms {
        let theirs = step["grad_norms"][name].as_f64().unwrap();
        println!("grad norm {name}: moltx {g:.8} chemprop {theirs:.8}");
        assert!(
            (g - theirs).abs() < 1e-4 * theirs.max(1e-3),
            "{name}: {g} vs {theirs}"
        );
    }
    for ((name, w0, dims), (_, w1, _)) in before.iter().zip(&after) {
        // moltx stores [in, out]; chemprop's first values are in torch's [out, in] order.
        let [d_in, d_out] = *dims;
        let torch_order = |w: &[f32]| -> Vec<f32> {
            if name.ends_with(".bias") {
                return w.to_vec();
            }
            (0..d_out)
                .flat_map(|o| (0..d_in).map(move |i| w[i * d_out + o]))
                .collect()
        };
        let first: Vec<f64> = step["updated_weights_first8"][name]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        let ours = torch_order(w1);
        let worst = first
            .iter()
            .zip(&ours)
            .map(|(a, &b)| (a - f64::from(b)).abs())
            .fold(0.0, f64::max);
        let change: Vec<f32> = w1.iter().zip(w0).map(|(a, b)| a - b).collect();
        let (update, theirs_update) = (norm(&change), step["update_norms"][name].as_f64().unwrap());
        let sum: f64 = w1.iter().map(|&x| f64::from(x)).sum();
        let theirs_sum = step["updated_weight_sums"][name].as_f64().unwrap();
        println!(
            "{name}: first values max diff {worst:.2e}; update norm moltx {update:.6} chemprop \
             {theirs_update:.6}; sum moltx {sum:.6} chemprop {theirs_sum:.6}"
        );
        assert!(worst < 1e-6, "{name}: {worst}");
        assert!(
            (update - theirs_update).abs() < 1e-3 * theirs_update.max(1e-6),
            "{name}"
        );
        assert!(
            (sum - theirs_sum).abs() < 1e-4 * theirs_sum.abs().max(1.0),
            "{name}"
        );
    }
}

/// A network's linear layers under their chemprop names, in chemprop's order.
#[allow(clippy::type_complexity)]
fn layers(
    net: &moltx::model::PropertyNet,
) -> Vec<(
    &'static str,
    &burn::module::Param<burn::tensor::Tensor<2>>,
    Option<&burn::module::Param<burn::tensor::Tensor<1>>>,
)> {
    let enc = net.encoder.as_ref().unwrap();
    let head = &net.head.layers;
    vec![
        (
            "message_passing.W_i",
            &enc.w_i.weight,
            enc.w_i.bias.as_ref(),
        ),
        (
            "message_passing.W_h",
            &enc.w_h.weight,
            enc.w_h.bias.as_ref(),
        ),
        (
            "message_passing.W_o",
            &enc.w_o.weight,
            enc.w_o.bias.as_ref(),
        ),
        ("predictor.ffn.0.0", &head[0].weight, head[0].bias.as_ref()),
        ("predictor.ffn.1.2", &head[1].weight, head[1].bias.as_ref()),
    ]
}
