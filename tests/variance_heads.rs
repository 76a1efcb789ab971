//! Mean–variance and evidential heads learn heteroscedastic noise: on real RDKit molecules
//! (the bundled drugs with small fragments attached, `tests/uncertainty_fixture`) with a
//! computed target `y = atoms/10 + sd·z`, `z` standard normal (seeded), whose noise level
//! `sd = 0.05 + 0.15·min(N + O atoms, 8)` depends on another property of the molecule than
//! the mean does, a D-MPNN trained with real burn training by the Gaussian NLL (`--loss mve`)
//! or the evidential loss (`--loss evidential`) predicts variances whose `σ` ranks the true
//! `sd` of held-out molecules (Spearman above 0.5); and `moltx train --loss mve` then
//! `moltx predict` writes `<task>_unc` without being asked, which `moltx calibrate` (z-scaling,
//! normalized conformal) and `--bound` use as they use an ensemble's spread.

mod common;
mod uncertainty_fixture;

use burn::tensor::Device;
use moltx::chem::MolGraph;
use moltx::model::config::TaskType;
use moltx::model::head::Evidence;
use moltx::model::predict::forward_raw;
use moltx::model::{
    Checkpoint, Ensemble, HeadKind, ModelConfig, ModelKind, MoleculeInput, Scorer, StructureInput,
    featurize,
};
use moltx::train::trainer::{Labelled, Selection, TrainOptions, fit};
use moltx::uncertainty::metrics::spearman_correlation;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use uncertainty_fixture::{calibrate, column, gaussian, molecules, moltx, predict, read_csv};

/// N and O atoms of a prepared graph.
fn heteroatoms(input: &MoleculeInput) -> usize {
    let StructureInput::Graph(g) = &input.structure else {
        unreachable!("a D-MPNN input")
    };
    let graph: &MolGraph = g;
    graph
        .graph
        .node_weights()
        .filter(|a| matches!(a.atomic_num, 7 | 8))
        .count()
}

/// The true noise level of a molecule.
fn true_sd(input: &MoleculeInput) -> f64 {
    0.05 + 0.15 * heteroatoms(input).min(8) as f64
}

/// A small D-MPNN with the given head.
fn config(head: HeadKind) -> ModelConfig {
    let mut c = ModelConfig::defaults(ModelKind::Dmpnn, 1);
    (c.hidden, c.ffn_hidden) = (48, 48);
    c.head = head;
    c
}

/// The generated data: (inputs, targets, true sd) shuffled with a fixed seed.
fn data() -> (Vec<MoleculeInput>, Vec<f32>, Vec<f64>) {
    let c = config(HeadKind::Point);
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut rows: Vec<(MoleculeInput, f32, f64)> = molecules()
        .into_iter()
        .map(|(smiles, atoms)| {
            let input = featurize(&c, &smiles).unwrap();
            let sd = true_sd(&input);
            let y = atoms as f64 / 10.0 + sd * gaussian(&mut rng);
            (input, y as f32, sd)
        })
        .collect();
    for i in (1..rows.len()).rev() {
        rows.swap(i, rng.random_range(0..=i));
    }
    let mut inputs = Vec::new();
    let mut ys = Vec::new();
    let mut sds = Vec::new();
    for (i, y, s) in rows {
        inputs.push(i);
        ys.push(y);
        sds.push(s);
    }
    (inputs, ys, sds)
}

/// Trains a model with `head` for `epochs` on the first 1,300 molecules (150 more for
/// validation) and returns it, the held-out inputs and true `sd`, and the Spearman
/// correlation of its predicted `σ` and the true `sd` on them.
fn train_and_rank(
    head: HeadKind,
    epochs: usize,
) -> (Checkpoint, Vec<MoleculeInput>, Vec<f64>, f64) {
    let (inputs, ys, sds) = data();
    assert!(inputs.len() > 1800, "{} molecules", inputs.len());
    let refs: Vec<&MoleculeInput> = inputs.iter().collect();
    let (n_train, n_val) = (1300, 150);
    let mask = vec![true; inputs.len()];
    let split = |a: usize, b: usize| Labelled {
        inputs: &refs[a..b],
        targets: &ys[a..b],
        mask: &mask[a..b],
    };
    let (train, val) = (split(0, n_train), split(n_train, n_train + n_val));
    let options = TrainOptions {
        epochs,
        batch_size: 32,
        seed: 1,
        selection: Selection::Loss,
        data_parallel: 1,
        ..TrainOptions::default()
    };
    let device = Device::flex();
    let start = std::time::Instant::now();
    let trained = fit(
        &config(head),
        TaskType::Regression,
        &["y".to_string()],
        &train,
        &val,
        &options,
        "generated".into(),
        &device,
        &mut |_| {},
    )
    .unwrap();
    let test = &refs[n_train + n_val..];
    let (mean, var) = trained
        .checkpoint
        .predict_with_variance(test, 64, &device)
        .unwrap();
    let sigma: Vec<f64> = var
        .expect("a variance head")
        .iter()
        .map(|v| v.sqrt())
        .collect();
    let rho = spearman_correlation(&sigma, &sds[n_train + n_val..]).unwrap();
    let truth: Vec<f64> = ys[n_train + n_val..]
        .iter()
        .map(|&y| f64::from(y))
        .collect();
    let rmse = (mean
        .iter()
        .zip(&truth)
        .map(|(p, y)| (p - y).powi(2))
        .sum::<f64>()
        / truth.len() as f64)
        .sqrt();
    println!(
        "{head:?}: {} held-out molecules, Spearman(σ, true sd) = {rho:.3}, RMSE {rmse:.3}, \
         mean σ {:.3} (true mean sd {:.3}), best epoch {}, {:.1} s",
        test.len(),
        sigma.iter().sum::<f64>() / sigma.len() as f64,
        sds[n_train + n_val..].iter().sum::<f64>() / test.len() as f64,
        trained.best_epoch,
        start.elapsed().as_secs_f64()
    );
    let held_out = inputs[n_train + n_val..].to_vec();
    let sds = sds[n_train + n_val..].to_vec();
    (trained.checkpoint, held_out, sds, rho)
}

#[test]
fn mean_variance_head_learns_the_noise_level() {
    let (model, held_out, sds, rho) = train_and_rank(HeadKind::MeanVariance, 25);
    assert!(rho > 0.5, "Spearman {rho}");
    // The scorer reports σ as its spread, one model alone; an ensemble of the model with
    // itself has the same σ (no disagreement between members).
    let device = Device::flex();
    let refs: Vec<&MoleculeInput> = held_out.iter().take(50).collect();
    let (_, var) = model.predict_with_variance(&refs, 64, &device).unwrap();
    let one = Ensemble::new(vec![model.clone()], std::path::Path::new("mve")).unwrap();
    assert!(one.has_spread());
    let scores = one.score(&refs, &device).unwrap();
    let spread = scores.spread.unwrap();
    for (s, v) in spread.iter().zip(var.unwrap()) {
        assert!((s - v.sqrt()).abs() < 1e-12);
    }
    let two = Ensemble::new(vec![model.clone(), model], std::path::Path::new("mve")).unwrap();
    let twice = two.score(&refs, &device).unwrap().spread.unwrap();
    for (a, b) in twice.iter().zip(&spread) {
        assert!((a - b).abs() < 1e-9, "{a} vs {b}");
    }
    assert_eq!(sds.len(), held_out.len());
}

#[test]
fn evidential_head_learns_the_noise_level() {
    let (model, held_out, sds, rho) = train_and_rank(HeadKind::Evidential, 50);
    assert!(rho > 0.5, "Spearman {rho}");
    // The total variance is reported; its parts, for the record.
    let refs: Vec<&MoleculeInput> = held_out.iter().collect();
    let raw = forward_raw(&model.net, &model.header.model, &refs, 64, &Device::flex()).unwrap();
    let evidence: Vec<Evidence> = raw
        .chunks_exact(4)
        .map(|r| Evidence::from_raw(r[0].into(), r[1].into(), r[2].into(), r[3].into()))
        .collect();
    let rank = |f: fn(&Evidence) -> f64| {
        let v: Vec<f64> = evidence.iter().map(f).collect();
        spearman_correlation(&v, &sds).unwrap()
    };
    println!(
        "evidential: Spearman with the true sd: aleatoric {:.3}, epistemic {:.3}, total {:.3}",
        rank(Evidence::aleatoric),
        rank(Evidence::epistemic),
        rank(Evidence::total)
    );
}

#[test]
fn train_with_loss_mve_then_predict_writes_the_uncertainty() {
    let dir = tempfile::tempdir().unwrap();
    let (inputs, ys, _) = data();
    let smiles: Vec<String> = molecules().into_iter().map(|(s, _)| s).collect();
    assert_eq!(smiles.len(), inputs.len());
    let mut text = String::from("smiles,y\n");
    for (s, y) in smiles.iter().zip(&ys).take(120) {
        text.push_str(&format!("{s},{y}\n"));
    }
    let data = dir.path().join("train.csv");
    std::fs::write(&data, text).unwrap();
    let out = dir.path().join("model");
    uncertainty_fixture::train(&data, &out, "y", &["--loss", "mve"]);
    let model = out.join("model_0.moltx");
    let header = moltx::model::CheckpointHeader::read(&model).unwrap();
    assert_eq!(header.model.head, HeadKind::MeanVariance);
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    assert!(
        metrics["uncertainty"].is_object(),
        "a variance head's test metrics report its uncertainty: {metrics}"
    );
    let preds = dir.path().join("preds.csv");
    predict(&out, &data, &preds, &[]);
    let table = read_csv(&preds);
    assert!(table.0.contains(&"y_unc".to_string()), "{:?}", table.0);
    assert!(!table.0.contains(&"y_std".to_string()), "{:?}", table.0);
    let unc = column(&table, "y_unc");
    assert!(unc.iter().all(|u| u.is_finite() && *u > 0.0), "{unc:?}");
    // The same with the model file itself, and --uncertainty ensemble means the same σ.
    let again = dir.path().join("again.csv");
    predict(&model, &data, &again, &["--uncertainty", "ensemble"]);
    assert_eq!(column(&read_csv(&again), "y_unc"), unc);
    // Calibration and bounds work on the predicted σ as on an ensemble's: z-scaling
    // multiplies it by one factor, normalized conformal intervals are as wide as it is.
    let cal = dir.path().join("cal.csv");
    let mut text = String::from("smiles,y\n");
    for (s, y) in smiles.iter().zip(&ys).skip(120).take(200) {
        text.push_str(&format!("{s},{y}\n"));
    }
    std::fs::write(&cal, text).unwrap();
    let zscale = dir.path().join("zscale.json");
    let said = calibrate(&out, &cal, "zscale", &["--out", zscale.to_str().unwrap()]);
    assert!(said.contains("s = "), "{said}");
    let scaled = dir.path().join("scaled.csv");
    predict(
        &out,
        &data,
        &scaled,
        &["--calibration", zscale.to_str().unwrap()],
    );
    let ratios: Vec<f64> = column(&read_csv(&scaled), "y_unc")
        .iter()
        .zip(&unc)
        .map(|(z, u)| z / u)
        .collect();
    assert!(
        ratios.iter().all(|r| (r / ratios[0] - 1.0).abs() < 1e-3),
        "{ratios:?}"
    );
    let conformal = dir.path().join("conformal.json");
    calibrate(
        &out,
        &cal,
        "conformal",
        &["--out", conformal.to_str().unwrap()],
    );
    let intervals = dir.path().join("intervals.csv");
    predict(
        &out,
        &data,
        &intervals,
        &["--calibration", conformal.to_str().unwrap()],
    );
    let table = read_csv(&intervals);
    let widths: Vec<f64> = column(&table, "y_hi")
        .iter()
        .zip(column(&table, "y_lo"))
        .zip(&unc)
        .map(|((hi, lo), u)| (hi - lo) / u)
        .collect();
    assert!(
        widths.iter().all(|w| (w / widths[0] - 1.0).abs() < 1e-3),
        "{widths:?}"
    );
    let top = dir.path().join("top.csv");
    predict(
        &out,
        &data,
        &top,
        &[
            "--top-k", "5", "--by", "y", "--bound", "lcb", "--kappa", "2",
        ],
    );
    let top = read_csv(&top);
    let lcb: Vec<f64> = column(&top, "y")
        .iter()
        .zip(column(&top, "y_unc"))
        .map(|(y, u)| y - 2.0 * u)
        .collect();
    let everyone: Vec<f64> = column(&read_csv(&preds), "y")
        .iter()
        .zip(&unc)
        .map(|(y, u)| y - 2.0 * u)
        .collect();
    let mut best = everyone.clone();
    best.sort_by(|a, b| b.total_cmp(a));
    assert_eq!(lcb.len(), 5);
    for (a, b) in lcb.iter().zip(&best) {
        assert!((a - b).abs() < 1e-5, "{lcb:?} vs {:?}", &best[..5]);
    }
    // A variance head does not train a classifier.
    let labels = dir.path().join("labels.csv");
    let mut text = String::from("smiles,active\n");
    for (i, s) in smiles.iter().take(40).enumerate() {
        text.push_str(&format!("{s},{}\n", i % 2));
    }
    std::fs::write(&labels, text).unwrap();
    let refused = moltx()
        .args([
            "train",
            "--quiet",
            "--loss",
            "evidential",
            "--epochs",
            "1",
            "--data",
        ])
        .arg(&labels)
        .arg("--out")
        .arg(dir.path().join("refused"))
        .assert()
        .failure();
    let stderr = String::from_utf8_lossy(&refused.get_output().stderr).into_owned();
    assert!(
        stderr.contains("--loss evidential trains a regression head"),
        "{stderr}"
    );
}
