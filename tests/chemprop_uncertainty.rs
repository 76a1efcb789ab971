//! chemprop 2.3.1 models that predict their own uncertainty, imported without chemprop:
//! `mve.pt` (`MveFFN`, `-t regression-mve`) and `evidential.pt` (`EvidentialFFN`,
//! `-t regression-evidential`), made by `fixtures/chemprop/make_fixture.py` and committed
//! with chemprop's own predictions (`chemprop predict --uncertainty-method mve` and
//! `evidential-total`: the means, and the variances as `<task>_unc`, rounded by chemprop to
//! 6 decimals). moltx's means and variances must be chemprop's; `moltx predict` writes
//! `σ = √variance` as `<task>_unc`.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use burn::tensor::Device;
use moltx::model::chemprop::{ImportOptions, import_chemprop};
use moltx::model::config::TaskType;
use moltx::model::{Checkpoint, Ensemble, HeadKind, Scorer, featurize};

const DIR: &str = "fixtures/chemprop";
const TASKS: [&str; 2] = ["heavy_atoms", "logp"];

fn fixture(name: &str) -> PathBuf {
    Path::new(DIR).join(name)
}

/// chemprop's predictions: (smiles, means, variances) per row.
fn chemprop_predictions(name: &str) -> Vec<(String, Vec<f64>, Vec<f64>)> {
    let mut reader = csv::Reader::from_path(fixture(&format!("{name}_preds.csv"))).unwrap();
    let headers = reader.headers().unwrap().clone();
    let col = |t: &str| headers.iter().position(|h| h == t).unwrap();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            let get = |c: usize| -> f64 { r[c].parse().unwrap() };
            let means = TASKS.iter().map(|t| get(col(t))).collect();
            let vars = TASKS
                .iter()
                .map(|t| get(col(&format!("{t}_unc"))))
                .collect();
            (r[col("smiles")].to_string(), means, vars)
        })
        .collect()
}

/// `|a − b|` relative to `max(1, |b|)`.
fn relative(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1.0)
}

/// The largest relative differences of moltx's means and variances from chemprop's.
fn differences(c: &Checkpoint, expected: &[(String, Vec<f64>, Vec<f64>)]) -> (f64, f64) {
    let device = Device::flex();
    let inputs: Vec<_> = expected
        .iter()
        .map(|(s, _, _)| featurize(&c.header.model, s).unwrap())
        .collect();
    let refs: Vec<_> = inputs.iter().collect();
    let (means, vars) = c.predict_with_variance(&refs, 16, &device).unwrap();
    let vars = vars.expect("a variance head");
    let (mut worst_mean, mut worst_var) = (0.0f64, 0.0f64);
    for (i, (_, m, v)) in expected.iter().enumerate() {
        for k in 0..TASKS.len() {
            worst_mean = worst_mean.max(relative(means[i * 2 + k], m[k]));
            worst_var = worst_var.max(relative(vars[i * 2 + k], v[k]));
        }
    }
    (worst_mean, worst_var)
}

fn import(name: &str) -> Checkpoint {
    import_chemprop(
        &fixture(&format!("{name}.pt")),
        &ImportOptions::default(),
        &Device::flex(),
    )
    .unwrap()
}

#[test]
fn an_imported_mve_model_predicts_chemprops_means_and_variances() {
    let c = import("mve");
    let h = &c.header;
    assert_eq!(h.task_type, TaskType::Regression);
    assert_eq!(h.model.head, HeadKind::MeanVariance);
    assert_eq!(h.tasks, TASKS);
    assert_eq!((h.model.hidden, h.model.depth, h.model.n_tasks), (32, 2, 2));
    let expected = chemprop_predictions("mve");
    assert_eq!(expected.len(), 61);
    let (mean, var) = differences(&c, &expected);
    println!("mve: max relative difference: means {mean:e}, variances {var:e}");
    assert!(mean < 1e-5, "{mean}");
    assert!(var < 1e-5, "{var}");
}

#[test]
fn an_imported_evidential_model_predicts_chemprops_means_and_total_variances() {
    let c = import("evidential");
    assert_eq!(c.header.model.head, HeadKind::Evidential);
    assert_eq!(c.header.tasks, TASKS);
    let expected = chemprop_predictions("evidential");
    let (mean, var) = differences(&c, &expected);
    println!("evidential: max relative difference: means {mean:e}, variances {var:e}");
    assert!(mean < 1e-5, "{mean}");
    assert!(var < 1e-5, "{var}");
}

#[test]
fn imported_variance_models_keep_their_head_in_the_model_file_and_report_a_spread() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["mve", "evidential"] {
        let c = import(name);
        let file = dir.path().join(format!("{name}.moltx"));
        c.save(&file).unwrap();
        let back = Checkpoint::load(&file, &Device::flex()).unwrap();
        assert_eq!(back.header.model.head, c.header.model.head);
        // Format version 5 (bytes 8..12), so that older builds refuse the file.
        let bytes = std::fs::read(&file).unwrap();
        assert_eq!(u32::from_le_bytes(bytes[8..12].try_into().unwrap()), 5);
        let ensemble = Ensemble::load(&file, &Device::flex()).unwrap();
        assert!(ensemble.has_spread(), "{name}");
    }
}

#[test]
fn import_then_predict_on_the_command_line_writes_chemprops_sigma() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["mve", "evidential"] {
        let model = dir.path().join(format!("{name}.moltx"));
        let out = Command::cargo_bin("moltx")
            .unwrap()
            .arg("import-chemprop")
            .arg(fixture(&format!("{name}.pt")))
            .arg("--out")
            .arg(&model)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let preds = dir.path().join(format!("{name}.csv"));
        let out = Command::cargo_bin("moltx")
            .unwrap()
            .args(["predict", "--quiet", "--model"])
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
        let mut reader = csv::Reader::from_path(&preds).unwrap();
        let headers = reader.headers().unwrap().clone();
        let col = |t: &str| {
            headers
                .iter()
                .position(|h| h == t)
                .unwrap_or_else(|| panic!("no {t} in {headers:?}"))
        };
        let rows: Vec<_> = reader.records().map(Result::unwrap).collect();
        let expected = chemprop_predictions(name);
        assert_eq!(rows.len(), expected.len());
        let mut worst = 0.0f64;
        for (row, (smiles, means, vars)) in rows.iter().zip(&expected) {
            assert_eq!(&row[col("smiles")], smiles);
            for (k, t) in TASKS.iter().enumerate() {
                let value: f64 = row[col(t)].parse().unwrap();
                let unc: f64 = row[col(&format!("{t}_unc"))].parse().unwrap();
                worst = worst
                    .max(relative(value, means[k]))
                    .max(relative(unc, vars[k].sqrt()));
            }
        }
        println!("{name} through the CLI: max relative difference {worst:e}");
        assert!(worst < 1e-4, "{name}: {worst}");
    }
}

#[test]
fn a_quantile_head_is_still_refused() {
    let err = import_chemprop(
        &fixture("quantile.pt"),
        &ImportOptions::default(),
        &Device::flex(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("moltx cannot import this chemprop model"),
        "{err}"
    );
    assert!(err.contains("the predictor QuantileFFN"), "{err}");
}
