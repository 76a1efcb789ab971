//! The data and models the uncertainty tests share (`tests/uncertainty.rs`,
//! `tests/calibration.rs`), and helpers to run `moltx` on them.
//!
//! The data are real RDKit molecules made from the bundled drugs (`fixtures/approved_drugs.csv`)
//! by attaching small fragments to each drug's first atom (about 2,000 distinct molecules),
//! with a computed target, `y = atoms/10 + 0.3 z` (`z` standard normal, seeded), and a binary
//! `active = [y > median]`. Models are trained once per test binary with real burn training
//! (`moltx train`), on 300 molecules; the rest, shuffled, are split into a calibration half
//! and a test half, exchangeable by construction.
#![allow(dead_code)]

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use assert_cmd::Command;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::common;

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

/// The generated data and the models trained on it, shared by every test of a binary.
pub struct Fixture {
    /// `smiles,y,active` of the calibration and test halves.
    pub cal: PathBuf,
    pub test: PathBuf,
    /// Rows in each half.
    pub n_cal: usize,
    pub n_test: usize,
    /// A regression D-MPNN trained with dropout 0.2 (a folder with one model file).
    pub dropout_model: PathBuf,
    /// A regression ensemble of two D-MPNNs trained without dropout.
    pub ensemble: PathBuf,
    /// A classification D-MPNN trained with dropout 0.2.
    pub classifier: PathBuf,
}

pub fn moltx() -> Command {
    Command::cargo_bin("moltx").unwrap()
}

/// Distinct valid molecules made from the bundled drugs, as (SMILES, heavy atoms).
pub fn molecules() -> Vec<(String, usize)> {
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
pub fn gaussian(rng: &mut ChaCha8Rng) -> f64 {
    let u1 = 1.0 - rng.random::<f64>();
    let u2 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

pub fn write_rows(path: &Path, rows: &[(String, f64, u8)]) {
    let mut text = String::from("smiles,y,active\n");
    for (s, y, a) in rows {
        text.push_str(&format!("{s},{y},{a}\n"));
    }
    std::fs::write(path, text).unwrap();
}

/// `moltx train` with small settings and `extra` flags into `out`.
pub fn train(data: &Path, out: &Path, target: &str, extra: &[&str]) {
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

pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("uncertainty-fixture-{}", env!("CARGO_CRATE_NAME")));
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
pub fn copy_model(model: &Path, dir: &Path, name: &str) -> PathBuf {
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
pub fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header = reader.headers().unwrap().iter().map(String::from).collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

/// Column `name` of a table as numbers (NaN where empty).
pub fn column(table: &(Vec<String>, Vec<Vec<String>>), name: &str) -> Vec<f64> {
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
pub fn predict(model: &Path, library: &Path, out: &Path, extra: &[&str]) {
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
pub fn calibrate(model: &Path, data: &Path, method: &str, extra: &[&str]) -> String {
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
pub fn coverage(truth: &[f64], lo: &[f64], hi: &[f64]) -> f64 {
    let hits = (truth.iter().zip(lo).zip(hi))
        .filter(|((y, l), h)| *l <= *y && *y <= *h)
        .count();
    hits as f64 / truth.len() as f64
}

/// Three standard deviations of a split-conformal test coverage at miscoverage `alpha`:
/// given the calibration, coverage is Beta-distributed with variance about
/// `α(1−α)/(n+2)`, and the test fraction adds the binomial `α(1−α)/m`.
pub fn coverage_band(alpha: f64, n_cal: usize, n_test: usize) -> f64 {
    3.0 * (alpha * (1.0 - alpha) * (1.0 / (n_cal as f64 + 2.0) + 1.0 / n_test as f64)).sqrt()
}
