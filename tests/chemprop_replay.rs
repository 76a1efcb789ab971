//! moltx's trainer follows chemprop's step for step: from the same weights (a chemprop model,
//! `--init-from`), on the same batches at the same learning rates, 30 epochs of moltx training
//! give, at every one of the 90 steps, the learning rate of chemprop 2.3.1's own schedule and
//! the batch loss chemprop computes when it replays the run (`fixtures/chemprop/make_replay.sh`, `bench/chemprop_replay.py`).

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/chemprop")
        .join(name)
}

/// `(epoch, step, lr, loss, rows)` of each line of a steps file, from the named columns.
fn steps(
    path: &Path,
    lr_column: &str,
    loss_column: &str,
) -> Vec<(String, String, f64, f64, String)> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let headers = reader.headers().unwrap().clone();
    let at = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (epoch, step, lr, loss, rows) = (
        at("epoch"),
        at("step"),
        at(lr_column),
        at(loss_column),
        at("rows"),
    );
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (
                r[epoch].to_string(),
                r[step].to_string(),
                r[lr].parse().unwrap(),
                r[loss].parse().unwrap(),
                r[rows].to_string(),
            )
        })
        .collect()
}

#[test]
fn thirty_epochs_follow_chemprop_step_for_step() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    Command::cargo_bin("moltx")
        .unwrap()
        .args(["train", "--data"])
        .arg(fixture("train_regression.csv"))
        .args(["--targets", "heavy_atoms,logp", "--init-from"])
        .arg(fixture("regression.pt"))
        .args([
            "--epochs",
            "30",
            "--batch-size",
            "16",
            "--data-parallel",
            "1",
        ])
        .args(["--seed", "0", "--log-steps", "--quiet", "--out"])
        .arg(&out)
        .assert()
        .success();
    let ours = steps(&out.join("steps_0.csv"), "lr", "loss");
    let chemprop = steps(&fixture("replay_steps.csv"), "chemprop_lr", "chemprop_loss");
    assert_eq!(ours.len(), 90);
    assert_eq!(ours.len(), chemprop.len());
    let mut worst = 0.0f64;
    for (a, b) in ours.iter().zip(&chemprop) {
        assert_eq!(
            (&a.0, &a.1, &a.4),
            (&b.0, &b.1, &b.4),
            "the same step on the same batch"
        );
        assert!(
            (a.2 - b.2).abs() <= 1e-9 * b.2,
            "step {}: lr {} vs chemprop's {}",
            a.1,
            a.2,
            b.2
        );
        worst = worst.max((a.3 - b.3).abs() / b.3);
    }
    println!("worst relative difference of a step's loss from chemprop's: {worst:e}");
    assert!(worst < 1e-4, "{worst}");
}
