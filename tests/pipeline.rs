//! The one streaming pipeline, tested the same way through each command that uses it
//! (`screen`, `predict`, `fingerprint`, `repurpose --library`, `indications`): one output row
//! per input row in order, shards that partition the rows, top-k equal to sorting the full
//! output, and resume after `kill -9` byte-identical to an uninterrupted run, for CSV and for
//! Parquet output.

use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use rand::{Rng, SeedableRng};

mod common;

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

/// A command that streams a library: its own flags, and how it is asked for its top rows.
struct Streamer {
    command: &'static str,
    flags: Vec<String>,
    /// The column top-k ranks by.
    task: &'static str,
    /// Top-k keeps the lowest values (reversal scores).
    lowest: bool,
}

impl Streamer {
    /// The flags that keep the `k` best rows.
    fn top(&self, k: usize) -> Vec<String> {
        let k = k.to_string();
        match self.command {
            "repurpose" => vec!["--top".into(), k],
            _ => vec!["--top-k".into(), k, "--by".into(), self.task.into()],
        }
    }
}

/// Every command on the pipeline: `screen` (bundled model), `predict` and `fingerprint` (the
/// bundled model given), `repurpose --library` (the bundled structure → signature model and
/// demo disease) and `indications` (a generated reference data folder under `dir`).
fn streamers(dir: &Path) -> Vec<Streamer> {
    let strings = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let data = reference_data(dir);
    vec![
        Streamer {
            command: "screen",
            flags: vec![],
            task: "SR-MMP",
            lowest: false,
        },
        Streamer {
            command: "predict",
            flags: strings(&["--model", "fixtures/models/tox21"]),
            task: "NR-AR",
            lowest: false,
        },
        Streamer {
            command: "fingerprint",
            flags: strings(&["--model", "fixtures/models/tox21"]),
            task: "e0",
            lowest: false,
        },
        Streamer {
            command: "repurpose",
            flags: strings(&[
                "--disease",
                "fixtures/repurpose/disease.tsv",
                "--model",
                "fixtures/models/struct2sig",
                "--score",
                "cosine",
                "--top",
                "0",
            ]),
            task: "cosine",
            lowest: true,
        },
        Streamer {
            command: "indications",
            flags: vec![
                "--data".into(),
                data.display().to_string(),
                "--min-drugs".into(),
                "5".into(),
            ],
            task: "aromatic",
            lowest: false,
        },
    ]
}

/// A reference data folder for `indications`: random signatures of the bundled drugs, and
/// two "diseases" treated by the aromatic drugs and by those with nitrogen.
fn reference_data(dir: &Path) -> PathBuf {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let mut sigs = String::from("id");
    for g in 0..10 {
        sigs.push_str(&format!("\t{}", 3000 + g));
    }
    sigs.push('\n');
    let mut structures = String::from("id\tsmiles\n");
    let mut indications = String::from("doid_id\tdrugbank_id\tdisease\tdrug\tcategory\n");
    for (i, (name, smiles)) in common::drugs().iter().enumerate() {
        sigs.push_str(&format!("C{i}"));
        for _ in 0..10 {
            sigs.push_str(&format!("\t{:.3}", rng.random_range(-2.0..2.0)));
        }
        sigs.push('\n');
        structures.push_str(&format!("C{i}\t{smiles}\n"));
        if smiles.contains('c') {
            indications.push_str(&format!("D:1\tC{i}\taromatic\t{name}\tDM\n"));
        }
        if smiles.contains('N') || smiles.contains('n') {
            indications.push_str(&format!("D:2\tC{i}\tnitrogen\t{name}\tDM\n"));
        }
    }
    let (s, t) = (dir.join("sigs.tsv"), dir.join("structures.tsv"));
    std::fs::write(&s, sigs).unwrap();
    std::fs::write(&t, structures).unwrap();
    common::write_data_folder(dir, &s, &t, &indications)
}

/// `moltx <command>` over the library into `out`, in chunks of 29 rows.
fn args(streamer: &Streamer, lib: &Path, out: &Path, extra: &[String]) -> Vec<String> {
    let mut a = vec![
        streamer.command.to_string(),
        "--library".into(),
        lib.display().to_string(),
        "--out".into(),
        out.display().to_string(),
        "--chunk-size".into(),
        "29".into(),
        "--quiet".into(),
    ];
    a.extend(streamer.flags.iter().cloned());
    a.extend(extra.iter().cloned());
    a
}

fn run(streamer: &Streamer, lib: &Path, out: &Path, extra: &[String]) {
    Command::cargo_bin("moltx")
        .unwrap()
        .args(args(streamer, lib, out, extra))
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

#[test]
fn every_streaming_command_keeps_rows_shards_and_top_k() {
    let dir = tempfile::tempdir().unwrap();
    let (lib, n) = library(dir.path(), 3);
    for streamer in streamers(dir.path()) {
        let (command, task) = (streamer.command, streamer.task);
        let full = dir.path().join(format!("{command}.csv"));
        run(&streamer, &lib, &full, &[]);
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
            run(
                &streamer,
                &lib,
                &part,
                &["--shard".into(), format!("{i}/3")],
            );
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
        run(&streamer, &lib, &top, &streamer.top(7));
        let (_, best) = rows(&top);
        let col = header.iter().position(|h| h == task).unwrap();
        let mut sorted: Vec<&Vec<String>> = all.iter().filter(|r| !r[col].is_empty()).collect();
        sorted.sort_by(|a, b| {
            let (x, y): (f64, f64) = (a[col].parse().unwrap(), b[col].parse().unwrap());
            let order = if streamer.lowest {
                x.total_cmp(&y)
            } else {
                y.total_cmp(&x)
            };
            order.then(a[0].parse::<u64>().unwrap().cmp(&b[0].parse().unwrap()))
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
    for streamer in streamers(dir.path()) {
        let command = streamer.command;
        for extension in ["csv", "parquet"] {
            let reference = dir.path().join(format!("{command}-ref.{extension}"));
            run(&streamer, &lib, &reference, &[]);
            let expected = std::fs::read(&reference).unwrap();
            let out = dir.path().join(format!("{command}.{extension}"));
            let manifest = moltx::screen::resume::manifest_path(&out);
            // Kill at a random moment after the first chunk is durable; a fast command may
            // finish first, so try until two runs were killed mid-way (at most 12 tries).
            let mut resumed = 0;
            for _ in 0..12 {
                if resumed == 2 {
                    break;
                }
                let _ = std::fs::remove_file(&out);
                let _ = std::fs::remove_file(&manifest);
                let mut child = Process::new(env!("CARGO_BIN_EXE_moltx"))
                    .args(args(&streamer, &lib, &out, &[]))
                    .spawn()
                    .unwrap();
                let started = Instant::now();
                while !manifest.exists() && started.elapsed() < Duration::from_secs(60) {
                    std::thread::sleep(Duration::from_millis(5));
                }
                std::thread::sleep(Duration::from_millis(rng.random_range(0..60)));
                child.kill().unwrap();
                child.wait().unwrap();
                if manifest.exists() {
                    resumed += 1;
                    run(&streamer, &lib, &out, &["--resume".into()]);
                    assert_eq!(
                        std::fs::read(&out).unwrap(),
                        expected,
                        "{command}: the resumed {extension} output differs"
                    );
                    assert!(
                        !moltx::screen::parts::parts_dir(&out).exists(),
                        "{command}: the part files are removed once merged"
                    );
                }
            }
            assert!(
                resumed > 0,
                "{command}: every {extension} run finished before the kill"
            );
        }
    }
}
