//! The one streaming pipeline, tested the same way through each command that uses it
//! (`screen`, `predict`, `fingerprint`): one output row per input row in order, shards that
//! partition the rows, top-k equal to sorting the full output, and resume after `kill -9`
//! byte-identical to an uninterrupted run.

use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use rand::Rng;

/// The bundled drugs `copies` times as a `.smi` library, with a broken SMILES per copy.
fn library(dir: &Path, copies: usize) -> (PathBuf, usize) {
    let text = std::fs::read_to_string("fixtures/approved_drugs.csv").unwrap();
    let (mut out, mut rows) = (String::new(), 0);
    for c in 0..copies {
        for line in text.lines().skip(1) {
            let (name, smiles) = line.split_once(',').unwrap();
            out.push_str(&format!("{smiles} {name}-{c}\n"));
            rows += 1;
        }
        out.push_str(&format!("C1CC( broken-{c}\n"));
        rows += 1;
    }
    let path = dir.join("lib.smi");
    std::fs::write(&path, out).unwrap();
    (path, rows)
}

/// `moltx <command>` over the library with the bundled model (given explicitly to
/// `predict` and `fingerprint`).
fn args(command: &str, lib: &Path, out: &Path, extra: &[&str]) -> Vec<String> {
    let mut a = vec![
        command.to_string(),
        "--library".into(),
        lib.display().to_string(),
        "--out".into(),
        out.display().to_string(),
        "--chunk-size".into(),
        "29".into(),
        "--quiet".into(),
    ];
    if command != "screen" {
        a.extend(["--model".into(), "fixtures/models/tox21".into()]);
    }
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

fn run(command: &str, lib: &Path, out: &Path, extra: &[&str]) {
    Command::cargo_bin("moltx")
        .unwrap()
        .args(args(command, lib, out, extra))
        .assert()
        .success();
}

fn rows(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|rec| rec.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

const COMMANDS: [(&str, &str); 3] = [
    ("screen", "SR-MMP"),
    ("predict", "NR-AR"),
    ("fingerprint", "e0"),
];

#[test]
fn every_streaming_command_keeps_rows_shards_and_top_k() {
    let dir = tempfile::tempdir().unwrap();
    let (lib, n) = library(dir.path(), 3);
    for (command, task) in COMMANDS {
        let full = dir.path().join(format!("{command}.csv"));
        run(command, &lib, &full, &[]);
        let (header, all) = rows(&full);
        assert_eq!(all.len(), n, "{command}: one row per input row");
        assert!(
            all.iter().enumerate().all(|(i, r)| r[0] == i.to_string()),
            "{command}: rows in input order"
        );
        let error = header.len() - 1;
        assert_eq!(
            all.iter().filter(|r| !r[error].is_empty()).count(),
            3,
            "{command}: the broken rows fail, the rest are scored"
        );
        // Shards partition the rows.
        let mut seen = Vec::new();
        for i in 0..3 {
            let part = dir.path().join(format!("{command}-{i}.csv"));
            run(command, &lib, &part, &["--shard", &format!("{i}/3")]);
            let (_, shard) = rows(&part);
            assert!(
                shard
                    .iter()
                    .all(|r| r[0].parse::<usize>().unwrap() % 3 == i)
            );
            seen.extend(shard);
        }
        seen.sort_by_key(|r| r[0].parse::<usize>().unwrap());
        assert_eq!(seen, all, "{command}: shards partition the output");
        // Top-k equals sorting the full output.
        let top = dir.path().join(format!("{command}-top.csv"));
        run(command, &lib, &top, &["--top-k", "7", "--by", task]);
        let (_, best) = rows(&top);
        let col = header.iter().position(|h| h == task).unwrap();
        let mut sorted: Vec<&Vec<String>> = all.iter().filter(|r| !r[col].is_empty()).collect();
        sorted.sort_by(|a, b| {
            let (x, y): (f64, f64) = (a[col].parse().unwrap(), b[col].parse().unwrap());
            y.total_cmp(&x)
                .then(a[0].parse::<u64>().unwrap().cmp(&b[0].parse().unwrap()))
        });
        let expected: Vec<&String> = sorted.iter().take(7).map(|r| &r[col]).collect();
        let got: Vec<&String> = best.iter().map(|r| &r[col]).collect();
        assert_eq!(got, expected, "{command}: top-k by {task}");
    }
}

#[test]
fn every_streaming_command_resumes_after_kill_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let (lib, _) = library(dir.path(), 8);
    let mut rng = rand::rng();
    for (command, _) in COMMANDS {
        let reference = dir.path().join(format!("{command}-ref.csv"));
        run(command, &lib, &reference, &[]);
        let expected = std::fs::read(&reference).unwrap();
        let out = dir.path().join(format!("{command}.csv"));
        let manifest = moltx::screen::resume::manifest_path(&out);
        let mut resumed = 0;
        for _ in 0..3 {
            let _ = std::fs::remove_file(&out);
            let _ = std::fs::remove_file(&manifest);
            let mut child = Process::new(env!("CARGO_BIN_EXE_moltx"))
                .args(args(command, &lib, &out, &[]))
                .spawn()
                .unwrap();
            let started = Instant::now();
            while !manifest.exists() && started.elapsed() < Duration::from_secs(60) {
                std::thread::sleep(Duration::from_millis(5));
            }
            std::thread::sleep(Duration::from_millis(rng.random_range(0..200)));
            child.kill().unwrap();
            child.wait().unwrap();
            if manifest.exists() {
                resumed += 1;
                run(command, &lib, &out, &["--resume"]);
                assert_eq!(
                    std::fs::read(&out).unwrap(),
                    expected,
                    "{command}: the resumed output differs"
                );
            }
        }
        assert!(resumed > 0, "{command}: every run finished before the kill");
    }
}
