//! End-to-end tests of uncertainty through the command line: split conformal intervals from
//! `moltx calibrate` reaching their coverage in `moltx predict`, MC dropout
//! (`--uncertainty dropout`), and top-k by a confidence bound (`--bound lcb|ucb --kappa K`).
//! The data and models: [`uncertainty_fixture`].

use std::path::Path;

mod common;
mod uncertainty_fixture;

use uncertainty_fixture::*;

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
    // With a probability of its own (chemprop's --uncertainty-dropout-p) it is sampled.
    let rated = dir.path().join("rated.csv");
    let mut flags = mc.to_vec();
    flags.extend(["--dropout-p", "0.2"]);
    predict(&f.ensemble, &f.test, &rated, &flags);
    let rated = read_csv(&rated);
    assert!(column(&rated, "y_unc").iter().all(|u| *u > 0.0));
    // One sample has no spread; --samples or --dropout-p without dropout is a mistake, and a
    // probability must lie in (0, 1).
    for flags in [
        vec!["--uncertainty", "dropout", "--samples", "1"],
        vec!["--samples", "5"],
        vec!["--dropout-p", "0.2"],
        vec!["--uncertainty", "dropout", "--dropout-p", "1"],
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
