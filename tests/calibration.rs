//! End-to-end tests of calibration files: classification calibrations (Platt, isotonic,
//! conformal sets), z-scaling of an ensemble's spread, uncertainty metrics in `evaluate` and
//! `train`, refusal of other models' or damaged files, Parquet output and resumed runs.
//! The data and models: [`uncertainty_fixture`].

use std::path::Path;

mod common;
mod uncertainty_fixture;

use uncertainty_fixture::*;

#[test]
fn classification_calibrations_change_probabilities_or_make_sets() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let flags = ["--targets", "active"];
    let raw_out = dir.path().join("raw.csv");
    predict(&f.classifier, &f.test, &raw_out, &[]);
    let raw = column(&read_csv(&raw_out), "active");
    for method in ["platt", "isotonic"] {
        let model = copy_model(&f.classifier, dir.path(), method);
        moltx()
            .args(["calibrate", "--model"])
            .arg(&model)
            .arg("--data")
            .arg(&f.cal)
            .args(flags)
            .args(["--method", method])
            .assert()
            .success();
        let out = dir.path().join(format!("{method}.csv"));
        predict(&model, &f.test, &out, &[]);
        let table = read_csv(&out);
        assert_eq!(table.0, ["row", "id", "smiles", "active", "error"]);
        let p = column(&table, "active");
        assert!(p.iter().all(|p| (0.0..=1.0).contains(p)));
        assert_ne!(p, raw, "{method} changes the probabilities");
        // --no-calibration gives the raw model back.
        let off = dir.path().join(format!("{method}-off.csv"));
        predict(&model, &f.test, &off, &["--no-calibration"]);
        assert_eq!(column(&read_csv(&off), "active"), raw);
        // evaluate reports the calibrated probabilities' ECE.
        let json = moltx()
            .args(["evaluate", "--targets", "active", "--model"])
            .arg(&model)
            .arg("--data")
            .arg(&f.test)
            .assert()
            .success();
        let v: serde_json::Value = serde_json::from_slice(&json.get_output().stdout).unwrap();
        assert!(v["uncertainty"]["test"]["ece"].as_f64().is_some(), "{v}");
        assert_eq!(v["uncertainty"]["calibration"]["method"], method);
    }
    // Conformal sets at 80%: a set column, covering the truth about as often as asked.
    let model = copy_model(&f.classifier, dir.path(), "sets");
    moltx()
        .args(["calibrate", "--model"])
        .arg(&model)
        .arg("--data")
        .arg(&f.cal)
        .args(flags)
        .args(["--method", "conformal", "--coverage", "0.8"])
        .assert()
        .success();
    let out = dir.path().join("sets.csv");
    predict(&model, &f.test, &out, &[]);
    let table = read_csv(&out);
    assert_eq!(
        table.0,
        ["row", "id", "smiles", "active", "active_set", "error"]
    );
    let truth = column(&read_csv(&f.test), "active");
    let j = 4;
    let hits = table
        .1
        .iter()
        .zip(&truth)
        .filter(|(r, y)| {
            assert!(["0", "1", "0,1", ""].contains(&r[j].as_str()), "{}", r[j]);
            r[j].split(',')
                .any(|c| c == if **y > 0.5 { "1" } else { "0" })
        })
        .count();
    let c = hits as f64 / truth.len() as f64;
    let band = coverage_band(0.2, f.n_cal, f.n_test);
    assert!(
        (c - 0.8).abs() <= band,
        "set coverage {c} outside 0.8 ± {band}"
    );
    // Platt on a regression model is refused.
    moltx()
        .args([
            "calibrate",
            "--targets",
            "y",
            "--method",
            "platt",
            "--model",
        ])
        .arg(&f.dropout_model)
        .arg("--data")
        .arg(&f.cal)
        .arg("--out")
        .arg(dir.path().join("never.json"))
        .assert()
        .failure();
}

#[test]
fn z_scaling_and_ensemble_spread_through_calibrate_predict_evaluate() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    // An ensemble's spread is its uncertainty: z-scaling multiplies it by one factor.
    let model = copy_model(&f.ensemble, dir.path(), "z");
    let said = calibrate(&model, &f.cal, "zscale", &[]);
    assert!(said.contains("s = "), "{said}");
    let raw_out = dir.path().join("raw.csv");
    predict(&model, &f.test, &raw_out, &["--no-calibration"]);
    let raw = read_csv(&raw_out);
    assert_eq!(raw.0, ["row", "id", "smiles", "y", "y_std", "error"]);
    let out = dir.path().join("z.csv");
    predict(&model, &f.test, &out, &[]);
    let scaled = read_csv(&out);
    assert_eq!(scaled.0, ["row", "id", "smiles", "y", "y_unc", "error"]);
    assert_eq!(column(&scaled, "y"), column(&raw, "y"));
    let ratios: Vec<f64> = column(&scaled, "y_unc")
        .iter()
        .zip(column(&raw, "y_std"))
        .filter(|(_, s)| *s > 1e-3)
        .map(|(z, s)| z / s)
        .collect();
    assert!(ratios.len() > 100);
    assert!(
        ratios.iter().all(|r| (r / ratios[0] - 1.0).abs() < 1e-2),
        "{:?}",
        &ratios[..5]
    );
    // z-scaling without an uncertainty is refused.
    moltx()
        .args([
            "calibrate",
            "--targets",
            "y",
            "--method",
            "zscale",
            "--model",
        ])
        .arg(&f.dropout_model)
        .arg("--data")
        .arg(&f.cal)
        .arg("--out")
        .arg(dir.path().join("never.json"))
        .assert()
        .failure();
    // evaluate of the ensemble reports the uncertainty metrics of its spread.
    let json = moltx()
        .args(["evaluate", "--targets", "y", "--no-calibration", "--model"])
        .arg(&model)
        .arg("--data")
        .arg(&f.test)
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&json.get_output().stdout).unwrap();
    let u = &v["uncertainty"];
    assert_eq!(u["estimator"]["kind"], "spread");
    for name in ["nll", "miscalibration_area", "spearman_unc_abs_err"] {
        assert!(u["test"][name].as_f64().is_some(), "{name}: {v}");
    }
    // The training report has the test split's uncertainty metrics: an ensemble's spread,
    // a classifier's ECE, nothing for one regression model.
    let report = |dir: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join("metrics.json")).unwrap()).unwrap()
    };
    let ens = report(&f.ensemble);
    for name in ["nll", "miscalibration_area", "spearman_unc_abs_err"] {
        assert!(ens["uncertainty"][name].as_f64().is_some(), "{name}: {ens}");
    }
    assert!(
        report(&f.classifier)["uncertainty"]["ece"]
            .as_f64()
            .is_some()
    );
    assert!(report(&f.dropout_model).get("uncertainty").is_none());
    // And with MC dropout on the dropout model.
    let json = moltx()
        .args([
            "evaluate",
            "--targets",
            "y",
            "--uncertainty",
            "dropout",
            "--samples",
            "5",
        ])
        .arg("--model")
        .arg(&f.dropout_model)
        .arg("--data")
        .arg(&f.test)
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&json.get_output().stdout).unwrap();
    assert_eq!(v["uncertainty"]["estimator"]["kind"], "dropout");
    assert!(v["uncertainty"]["test"]["nll"].as_f64().is_some(), "{v}");
}

#[test]
fn calibration_files_of_other_models_or_damaged_ones_are_refused() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let a = copy_model(&f.dropout_model, dir.path(), "a");
    calibrate(&a, &f.cal, "conformal", &[]);
    let file = a.join("calibration.json");
    let fail = |model: &Path, flags: &[&str]| -> String {
        let out = moltx()
            .args(["predict", "--quiet", "--model"])
            .arg(model)
            .arg("--input")
            .arg(&f.test)
            .arg("--out")
            .arg(dir.path().join("never.csv"))
            .args(flags)
            .assert()
            .failure();
        String::from_utf8_lossy(&out.get_output().stderr).into_owned()
    };
    // Another model's calibration, named or found beside it.
    let e = fail(&f.ensemble, &["--calibration", file.to_str().unwrap()]);
    assert!(
        e.contains("another model") && e.contains(file.to_str().unwrap()),
        "{e}"
    );
    let b = copy_model(&f.ensemble, dir.path(), "b");
    std::fs::copy(&file, b.join("calibration.json")).unwrap();
    let e = fail(&b, &[]);
    assert!(
        e.contains("another model") && e.contains("b/calibration.json"),
        "{e}"
    );
    // A changed file, and one that is not a calibration.
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("\"rows\": ", "\"rows\": 1")).unwrap();
    let e = fail(&a, &[]);
    assert!(
        e.contains("corrupt") && e.contains("a/calibration.json"),
        "{e}"
    );
    std::fs::write(&file, "{}").unwrap();
    assert!(fail(&a, &[]).contains("not a moltx calibration"));
    // --no-calibration predicts without it.
    predict(
        &a,
        &f.test,
        &dir.path().join("ok.csv"),
        &["--no-calibration"],
    );
    // A calibration fitted with MC dropout refuses other settings.
    std::fs::write(&file, &text).unwrap();
    let c = copy_model(&f.dropout_model, dir.path(), "c");
    calibrate(
        &c,
        &f.cal,
        "conformal",
        &["--uncertainty", "dropout", "--samples", "4"],
    );
    let e = fail(&c, &["--uncertainty", "dropout", "--samples", "5"]);
    assert!(e.contains("4 samples"), "{e}");
    // A single model file's calibration is <stem>.calibration.json beside it.
    let file_model = c.join("model_0.moltx");
    calibrate(&file_model, &f.cal, "conformal", &[]);
    assert!(c.join("model_0.calibration.json").is_file());
    let out = dir.path().join("single.csv");
    predict(&file_model, &f.test, &out, &[]);
    assert!(read_csv(&out).0.contains(&"y_lo".to_string()));
}

#[test]
fn parquet_output_and_an_interrupted_run_keep_the_uncertainty_columns() {
    use moltx::prelude::*;
    use std::ops::ControlFlow;
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let model = copy_model(&f.dropout_model, dir.path(), "m");
    calibrate(
        &model,
        &f.cal,
        "conformal",
        &["--uncertainty", "dropout", "--samples", "4"],
    );
    // The facade applies the calibration (and its MC dropout) as predict does.
    let predictor = Predictor::load(&model, &Device::flex()).unwrap();
    assert!(predictor.calibration().is_some());
    assert!(matches!(
        predictor.estimator(),
        Some(UncertaintySource::Dropout(_))
    ));
    let p = predictor.predict_smiles(&["CCOc1ccccc1", "C1CC("]);
    let first = p[0].as_ref().unwrap();
    let (lo, hi) = first.interval.as_ref().unwrap()[0];
    assert!(lo < first.values[0] && first.values[0] < hi);
    assert!(first.spread.as_ref().unwrap()[0] > 0.0);
    assert!(p[1].is_err());
    // A stopped screen resumes to the bytes of an uninterrupted one.
    let library = Library::open(&f.test).unwrap();
    let options = ScreenOptions {
        chunk_size: 64,
        ..ScreenOptions::default()
    };
    let full = dir.path().join("full.csv");
    screen(&library, &predictor, &full, &options).unwrap();
    let part = dir.path().join("part.csv");
    let stopped = moltx::api::screen_with(&library, &predictor, &part, &options, &mut |_| {
        ControlFlow::Break(())
    });
    assert!(stopped.is_err());
    let resume = ScreenOptions {
        resume: true,
        ..options.clone()
    };
    screen(&library, &predictor, &part, &resume).unwrap();
    assert_eq!(std::fs::read(&part).unwrap(), std::fs::read(&full).unwrap());
    let (header, _) = read_csv(&full);
    assert_eq!(header[3..7], ["y", "y_unc", "y_lo", "y_hi"]);
    // Parquet: the same columns, typed.
    let pq = dir.path().join("out.parquet");
    predict(&model, &f.test, &pq, &[]);
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let reader = SerializedFileReader::new(std::fs::File::open(&pq).unwrap()).unwrap();
    let schema = reader.metadata().file_metadata().schema_descr();
    let names: Vec<String> = (0..schema.num_columns())
        .map(|i| schema.column(i).name().to_string())
        .collect();
    assert_eq!(
        names,
        ["row", "id", "smiles", "y", "y_unc", "y_lo", "y_hi", "error"]
    );
    assert_eq!(
        reader.metadata().file_metadata().num_rows() as usize,
        f.n_test
    );
}

#[test]
fn a_calibration_written_elsewhere_is_applied_when_named_and_no_normalize_keeps_widths() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    // The ensemble's spread normalizes intervals unless --no-normalize says otherwise.
    let widths = |calibration: &Path| -> Vec<f64> {
        let out = dir.path().join("w.csv");
        predict(
            &f.ensemble,
            &f.test,
            &out,
            &["--calibration", calibration.to_str().unwrap()],
        );
        let table = read_csv(&out);
        assert_eq!(
            table.0,
            ["row", "id", "smiles", "y", "y_unc", "y_lo", "y_hi", "error"]
        );
        let (lo, hi) = (column(&table, "y_lo"), column(&table, "y_hi"));
        lo.iter().zip(&hi).map(|(l, h)| h - l).collect()
    };
    let normalized = dir.path().join("normalized.json");
    let plain = dir.path().join("plain.json");
    let out = |p: &Path| p.to_str().unwrap().to_string();
    let said = calibrate(
        &f.ensemble,
        &f.cal,
        "conformal",
        &["--out", &out(&normalized)],
    );
    assert!(said.contains("(× unc)") && said.contains("uncertainty: the model's own spread"));
    calibrate(
        &f.ensemble,
        &f.cal,
        "conformal",
        &["--no-normalize", "--out", &out(&plain)],
    );
    assert!(!f.ensemble.join("calibration.json").exists(), "--out only");
    let varying = widths(&normalized);
    assert!(varying.iter().any(|w| (w - varying[0]).abs() > 1e-3));
    let constant = widths(&plain);
    assert!(constant.iter().all(|w| (w - constant[0]).abs() < 1e-5));
}
