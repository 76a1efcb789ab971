//! End-to-end tests of uncertainty through the command line: `moltx calibrate`, then
//! `predict`, `screen` and `evaluate` applying it; MC dropout (`--uncertainty dropout`), an
//! ensemble's spread, and top-k by a confidence bound (`--bound lcb|ucb --kappa K`).
//!
//! The data are real RDKit molecules made from the bundled drugs (`fixtures/approved_drugs.csv`)
//! by attaching small fragments to each drug's first atom (about 2,000 distinct molecules),
//! with a computed target, `y = atoms/10 + 0.3 z` (`z` standard normal, seeded), and a binary
//! `active = [y > median]`. Models are trained once per test run with real burn training
//! (`moltx train`), on 300 molecules; the rest, shuffled, are split into a calibration half
//! and a test half, exchangeable by construction.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use assert_cmd::Command;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

mod common;

/// Fragments attached to a drug's first atom (`""` keeps the drug).
const PREFIXES: &[&str] = &[
    "",
    "C",
    "CC",
    "CCC",
    "CCCC",
    "CCCCC",
    "CC(C)",
    "CC(C)C",
    "OC",
    "OCC",
    "NC",
    "NCC",
    "FC",
    "ClC",
    "BrC",
    "C=CC",
    "C#CC",
    "N#CC",
    "COC",
    "CSC",
    "OCCO",
    "NCCN",
    "c1ccccc1",
    "c1ccccc1C",
    "C1CC1",
    "C1CCC1",
    "C1CCCC1",
    "C1CCCCC1",
    "CN(C)C",
    "OC(=O)C",
    "NC(=O)C",
    "CC(=O)",
    "FC(F)(F)",
    "SC",
    "c1ccncc1",
    "C1CCOC1",
    "CCOC(=O)C",
    "O=C1CCCN1C",
];

/// The generated data and the models trained on it, shared by every test of this file.
struct Fixture {
    /// `smiles,y,active` of the calibration and test halves.
    cal: PathBuf,
    test: PathBuf,
    /// Rows in each half.
    n_cal: usize,
    n_test: usize,
    /// A regression D-MPNN trained with dropout 0.2 (a folder with one model file).
    dropout_model: PathBuf,
    /// A regression ensemble of two D-MPNNs trained without dropout.
    ensemble: PathBuf,
    /// A classification D-MPNN trained with dropout 0.2.
    classifier: PathBuf,
}

fn moltx() -> Command {
    Command::cargo_bin("moltx").unwrap()
}

/// Distinct valid molecules made from the bundled drugs, as (SMILES, heavy atoms).
fn molecules() -> Vec<(String, usize)> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (_, drug) in common::drugs() {
        for prefix in PREFIXES {
            let smiles = format!("{prefix}{drug}");
            let Ok(mol) = moltx::chem::Molecule::from_smiles(&smiles) else {
                continue;
            };
            let canonical = mol.canonical_smiles().unwrap();
            if seen.insert(canonical) {
                let atoms = moltx::chem::MolGraph::from_molecule(&mol)
                    .unwrap()
                    .n_atoms();
                out.push((smiles, atoms));
            }
        }
    }
    out
}

/// One standard normal draw (Box–Muller).
fn gaussian(rng: &mut ChaCha8Rng) -> f64 {
    let u1 = 1.0 - rng.random::<f64>();
    let u2 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn write_rows(path: &Path, rows: &[(String, f64, u8)]) {
    let mut text = String::from("smiles,y,active\n");
    for (s, y, a) in rows {
        text.push_str(&format!("{s},{y},{a}\n"));
    }
    std::fs::write(path, text).unwrap();
}

/// `moltx train` with small settings and `extra` flags into `out`.
fn train(data: &Path, out: &Path, target: &str, extra: &[&str]) {
    moltx()
        .args(["train", "--data"])
        .arg(data)
        .args(["--targets", target, "--epochs", "20", "--batch-size", "16"])
        .args([
            "--hidden",
            "32",
            "--ffn-hidden",
            "32",
            "--aggregation",
            "sum",
        ])
        .arg("--quiet")
        .args(extra)
        .arg("--out")
        .arg(out)
        .assert()
        .success();
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("uncertainty-fixture");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(17);
        let mut rows: Vec<(String, f64)> = molecules()
            .into_iter()
            .map(|(s, atoms)| (s, atoms as f64 / 10.0 + 0.3 * gaussian(&mut rng)))
            .collect();
        assert!(rows.len() > 1800, "{} molecules", rows.len());
        // Fisher–Yates with the seeded generator.
        for i in (1..rows.len()).rev() {
            rows.swap(i, rng.random_range(0..=i));
        }
        let mut ys: Vec<f64> = rows.iter().map(|r| r.1).collect();
        ys.sort_by(f64::total_cmp);
        let median = ys[ys.len() / 2];
        let rows: Vec<(String, f64, u8)> = rows
            .into_iter()
            .map(|(s, y)| (s, y, u8::from(y > median)))
            .collect();
        let (train_rows, rest) = rows.split_at(300);
        let (cal_rows, test_rows) = rest.split_at(rest.len() / 2);
        let path = |name: &str| dir.join(name);
        write_rows(&path("train.csv"), train_rows);
        write_rows(&path("cal.csv"), cal_rows);
        write_rows(&path("test.csv"), test_rows);
        train(
            &path("train.csv"),
            &path("dropout"),
            "y",
            &["--dropout", "0.2"],
        );
        train(
            &path("train.csv"),
            &path("ensemble"),
            "y",
            &["--ensemble", "2"],
        );
        train(
            &path("train.csv"),
            &path("classifier"),
            "active",
            &["--dropout", "0.2"],
        );
        Fixture {
            cal: path("cal.csv"),
            test: path("test.csv"),
            n_cal: cal_rows.len(),
            n_test: test_rows.len(),
            dropout_model: path("dropout"),
            ensemble: path("ensemble"),
            classifier: path("classifier"),
        }
    })
}

/// A private copy of a model folder (its model files only) for a test to calibrate.
fn copy_model(model: &Path, dir: &Path, name: &str) -> PathBuf {
    let out = dir.join(name);
    std::fs::create_dir_all(&out).unwrap();
    for entry in std::fs::read_dir(model).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "moltx") {
            std::fs::copy(&p, out.join(p.file_name().unwrap())).unwrap();
        }
    }
    out
}

/// A CSV file as a header and rows of cells.
fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header = reader.headers().unwrap().iter().map(String::from).collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

/// Column `name` of a table as numbers (NaN where empty).
fn column(table: &(Vec<String>, Vec<Vec<String>>), name: &str) -> Vec<f64> {
    let j = table
        .0
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name} in {:?}", table.0));
    table
        .1
        .iter()
        .map(|r| r[j].parse().unwrap_or(f64::NAN))
        .collect()
}

/// `moltx predict` of `library` into `out` with `extra` flags; panics on failure.
fn predict(model: &Path, library: &Path, out: &Path, extra: &[&str]) {
    moltx()
        .args(["predict", "--quiet", "--model"])
        .arg(model)
        .arg("--input")
        .arg(library)
        .arg("--out")
        .arg(out)
        .args(extra)
        .assert()
        .success();
}

/// `moltx calibrate` with `extra` flags; returns its stdout.
fn calibrate(model: &Path, data: &Path, method: &str, extra: &[&str]) -> String {
    let out = moltx()
        .args(["calibrate", "--model"])
        .arg(model)
        .arg("--data")
        .arg(data)
        .args(["--targets", "y"])
        .args(["--method", method])
        .args(extra)
        .assert()
        .success();
    String::from_utf8_lossy(&out.get_output().stdout).into_owned()
}

/// The fraction of rows whose truth lies in `[lo, hi]`.
fn coverage(truth: &[f64], lo: &[f64], hi: &[f64]) -> f64 {
    let hits = (truth.iter().zip(lo).zip(hi))
        .filter(|((y, l), h)| *l <= *y && *y <= *h)
        .count();
    hits as f64 / truth.len() as f64
}

/// Three standard deviations of a split-conformal test coverage at miscoverage `alpha`:
/// given the calibration, coverage is Beta-distributed with variance about
/// `α(1−α)/(n+2)`, and the test fraction adds the binomial `α(1−α)/m`.
fn coverage_band(alpha: f64, n_cal: usize, n_test: usize) -> f64 {
    3.0 * (alpha * (1.0 - alpha) * (1.0 / (n_cal as f64 + 2.0) + 1.0 / n_test as f64)).sqrt()
}

#[test]
fn conformal_intervals_reach_nominal_coverage_on_held_out_molecules() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let truth = column(&read_csv(&f.test), "y");
    let band = coverage_band(0.1, f.n_cal, f.n_test);
    eprintln!("n_cal {}, n_test {}, band ±{band:.4}", f.n_cal, f.n_test);
    assert!(band < 0.05, "{band}");
    // Plain intervals of a single model (no uncertainty), then intervals normalized by MC
    // dropout's standard deviation (predict turns MC dropout on from the calibration).
    let cases: [(&str, &[&str]); 2] = [
        ("plain", &[]),
        (
            "normalized",
            &["--uncertainty", "dropout", "--samples", "8"],
        ),
    ];
    for (name, flags) in cases {
        let model = copy_model(&f.dropout_model, dir.path(), name);
        let said = calibrate(&model, &f.cal, "conformal", flags);
        assert!(said.contains("conformal, 90% coverage"), "{said}");
        assert!(model.join("calibration.json").is_file());
        let out = dir.path().join(format!("{name}.csv"));
        predict(&model, &f.test, &out, &[]);
        let table = read_csv(&out);
        let (lo, hi) = (column(&table, "y_lo"), column(&table, "y_hi"));
        assert_eq!(lo.len(), truth.len());
        let c = coverage(&truth, &lo, &hi);
        eprintln!("{name}: coverage {c:.4}");
        assert!(
            (c - 0.9).abs() <= band,
            "{name}: coverage {c} outside 0.9 ± {band}"
        );
        let widths: Vec<f64> = lo.iter().zip(&hi).map(|(l, h)| h - l).collect();
        let constant = widths.iter().all(|w| (w - widths[0]).abs() < 1e-5);
        assert_eq!(
            constant,
            name == "plain",
            "{name}: widths {:?}",
            &widths[..3]
        );
        if name == "normalized" {
            assert!(table.0.contains(&"y_unc".to_string()), "{:?}", table.0);
        }
        // evaluate reads the same calibration and reports the same coverage.
        let json = moltx()
            .args(["evaluate", "--targets", "y", "--model"])
            .arg(&model)
            .arg("--data")
            .arg(&f.test)
            .assert()
            .success();
        let v: serde_json::Value = serde_json::from_slice(&json.get_output().stdout).unwrap();
        // (predict's bounds are written with 6 decimals: a truth that close may flip.)
        let reported = v["uncertainty"]["test"]["coverage"].as_f64().unwrap();
        assert!(
            (reported - c).abs() <= 2.0 / f.n_test as f64,
            "{reported} vs {c}"
        );
        assert!(v["uncertainty"]["test"]["mean_width"].as_f64().unwrap() > 0.0);
    }
}

#[test]
fn mc_dropout_is_nonzero_reproducible_and_refused_without_dropout() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str, flags: &[&str]| {
        let out = dir.path().join(name);
        predict(&f.dropout_model, &f.test, &out, flags);
        std::fs::read(&out).unwrap()
    };
    let mc = ["--uncertainty", "dropout", "--samples", "8", "--seed", "3"];
    let a = run("a.csv", &mc);
    let b = run("b.csv", &mc);
    assert_eq!(a, b, "the same seed gives the same bytes");
    // Other chunks and batches: the same numbers (a molecule's samples are its own).
    let mut rechunked = mc.to_vec();
    rechunked.extend(["--chunk-size", "37", "--batch-size", "5"]);
    assert_eq!(run("c.csv", &rechunked), a);
    let mut other_seed = mc.to_vec();
    other_seed[5] = "4";
    assert_ne!(run("d.csv", &other_seed), a);
    let table = read_csv(&dir.path().join("a.csv"));
    assert_eq!(&table.0[3..5], &["y".to_string(), "y_unc".to_string()]);
    let unc = column(&table, "y_unc");
    assert!(
        unc.iter().all(|u| *u > 0.0),
        "every uncertainty is positive"
    );
    // Without the flag, the output is the plain model's.
    let plain = read_csv(&{
        let p = dir.path().join("plain.csv");
        predict(&f.dropout_model, &f.test, &p, &[]);
        p
    });
    assert_eq!(plain.0, ["row", "id", "smiles", "y", "error"]);

    // A model trained with dropout 0 is refused, naming the reason.
    let refused = moltx()
        .args(["predict", "--quiet", "--uncertainty", "dropout", "--model"])
        .arg(&f.ensemble)
        .arg("--input")
        .arg(&f.test)
        .arg("--out")
        .arg(dir.path().join("refused.csv"))
        .assert()
        .failure();
    let stderr = String::from_utf8_lossy(&refused.get_output().stderr).into_owned();
    assert!(stderr.contains("dropout 0"), "{stderr}");
    // One sample has no spread; --samples without dropout is a mistake.
    for flags in [
        vec!["--uncertainty", "dropout", "--samples", "1"],
        vec!["--samples", "5"],
    ] {
        moltx()
            .args(["predict", "--quiet", "--model"])
            .arg(&f.dropout_model)
            .arg("--input")
            .arg(&f.test)
            .arg("--out")
            .arg(dir.path().join("bad.csv"))
            .args(&flags)
            .assert()
            .failure();
    }
}

/// The first `k` rows of `table` sorted by `key` (highest first, or lowest with `ascending`),
/// ties by row.
fn sorted_rows(
    table: &(Vec<String>, Vec<Vec<String>>),
    key: &[f64],
    ascending: bool,
    k: usize,
) -> Vec<Vec<String>> {
    let mut order: Vec<usize> = (0..key.len()).filter(|&i| !key[i].is_nan()).collect();
    order.sort_by(|&a, &b| {
        let c = key[b].total_cmp(&key[a]);
        (if ascending { c.reverse() } else { c }).then(a.cmp(&b))
    });
    order.iter().take(k).map(|&i| table.1[i].clone()).collect()
}

#[test]
fn top_k_by_a_confidence_bound_equals_sorting_the_full_output() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let screen = |model: &Path, out: &Path, flags: &[&str]| {
        moltx()
            .args(["screen", "--quiet", "--report", "0", "--model"])
            .arg(model)
            .arg("--library")
            .arg(&f.test)
            .arg("--out")
            .arg(out)
            .args(["--chunk-size", "100"])
            .args(flags)
            .assert()
            .success();
    };
    let mc = ["--uncertainty", "dropout", "--samples", "6"];
    let cases: [(&Path, &[&str], &str, f64, bool); 3] = [
        (&f.dropout_model, &mc, "lcb", 2.0, false),
        (&f.dropout_model, &mc, "ucb", 0.5, true),
        (&f.ensemble, &[], "lcb", 1.5, false),
    ];
    for (i, (model, flags, bound, kappa, ascending)) in cases.into_iter().enumerate() {
        let full = dir.path().join(format!("full{i}.csv"));
        let top = dir.path().join(format!("top{i}.csv"));
        // An ensemble without --uncertainty writes _std; a bound asks for _unc.
        let mut full_flags = flags.to_vec();
        if flags.is_empty() {
            full_flags.extend(["--uncertainty", "ensemble"]);
        }
        screen(model, &full, &full_flags);
        let kappa_text = kappa.to_string();
        let mut top_flags = flags.to_vec();
        top_flags.extend(["--top-k", "25", "--by", "y", "--bound", bound]);
        top_flags.extend(["--kappa", &kappa_text]);
        if ascending {
            top_flags.push("--ascending");
        }
        screen(model, &top, &top_flags);
        let table = read_csv(&full);
        let (y, u) = (column(&table, "y"), column(&table, "y_unc"));
        let sign = if bound == "lcb" { -1.0 } else { 1.0 };
        let key: Vec<f64> = y
            .iter()
            .zip(&u)
            .map(|(v, s)| v + sign * kappa * s)
            .collect();
        let want = sorted_rows(&table, &key, ascending, 25);
        let got = read_csv(&top);
        assert_eq!(got.0, table.0);
        assert_eq!(
            got.1, want,
            "case {i}: {bound} κ={kappa} ascending={ascending}"
        );
        // The bound changes the ranking.
        assert_ne!(sorted_rows(&table, &y, ascending, 25), want, "case {i}");
    }
    // A bound needs an uncertainty and a top-k selection.
    let no_unc = moltx()
        .args(["screen", "--quiet", "--model"])
        .arg(&f.dropout_model)
        .arg("--library")
        .arg(&f.test)
        .arg("--out")
        .arg(dir.path().join("x.csv"))
        .args(["--top-k", "5", "--by", "y", "--bound", "lcb"])
        .assert()
        .failure();
    let stderr = String::from_utf8_lossy(&no_unc.get_output().stderr).into_owned();
    assert!(stderr.contains("reports none"), "{stderr}");
    moltx()
        .args(["screen", "--quiet", "--bound", "lcb", "--library"])
        .arg(&f.test)
        .arg("--out")
        .arg(dir.path().join("y.csv"))
        .assert()
        .failure();
}

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
