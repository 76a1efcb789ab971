//! End-to-end tests of `moltx screen`: the bundled default model, and resuming after the
//! process is killed (SIGKILL) at a random point.

use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use rand::Rng;

/// The bundled drugs repeated `copies` times as a `.smi` library, with one broken SMILES each.
fn library(dir: &Path, copies: usize) -> PathBuf {
    let text = std::fs::read_to_string("fixtures/approved_drugs.csv").unwrap();
    let mut out = String::new();
    for c in 0..copies {
        for line in text.lines().skip(1) {
            let (name, smiles) = line.split_once(',').unwrap();
            out.push_str(&format!("{smiles} {name}-{c}\n"));
        }
        out.push_str(&format!("C1CC( broken-{c}\n"));
    }
    let path = dir.join("lib.smi");
    std::fs::write(&path, out).unwrap();
    path
}

fn screen_args(lib: &Path, out: &Path) -> Vec<String> {
    [
        "screen",
        "--library",
        &lib.display().to_string(),
        "--out",
        &out.display().to_string(),
        "--chunk-size",
        "31",
        "--quiet",
    ]
    .map(String::from)
    .to_vec()
}

#[test]
fn default_model_screens_the_bundled_drugs_and_reports_per_task() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("hits.csv");
    let assert = Command::cargo_bin("moltx")
        .unwrap()
        .args([
            "screen",
            "--library",
            "fixtures/approved_drugs.csv",
            "--out",
        ])
        .arg(&out)
        .arg("--quiet")
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    assert!(stderr.contains("bundled Tox21"), "{stderr}");
    assert!(stdout.contains("61 scored, 0 failed"), "{stdout}");
    assert!(stdout.contains("NR-AR"), "{stdout}");
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.lines().count(), 62);
    assert!(text.starts_with("row,id,smiles,NR-AR,"));
}

#[test]
fn resume_after_a_kill_gives_the_uninterrupted_output() {
    let dir = tempfile::tempdir().unwrap();
    let lib = library(dir.path(), 12);
    let reference = dir.path().join("reference.csv");
    Command::cargo_bin("moltx")
        .unwrap()
        .args(screen_args(&lib, &reference))
        .assert()
        .success();
    let expected = std::fs::read(&reference).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&expected).lines().count(),
        1 + 12 * 62
    );

    let out = dir.path().join("hits.csv");
    let manifest = moltx::screen::resume::manifest_path(&out);
    let mut rng = rand::rng();
    let mut killed_mid_run = 0;
    for attempt in 0..3 {
        let _ = std::fs::remove_file(&out);
        let _ = std::fs::remove_file(&manifest);
        let mut child = Process::new(env!("CARGO_BIN_EXE_moltx"))
            .args(screen_args(&lib, &out))
            .spawn()
            .unwrap();
        // Wait until the run has started writing, then kill it at a random instant.
        let started = Instant::now();
        while !manifest.exists() && started.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(rng.random_range(0..300)));
        child.kill().unwrap();
        child.wait().unwrap();
        if manifest.exists() {
            killed_mid_run += 1;
            Command::cargo_bin("moltx")
                .unwrap()
                .args(screen_args(&lib, &out))
                .arg("--resume")
                .assert()
                .success();
            assert_eq!(
                std::fs::read(&out).unwrap(),
                expected,
                "attempt {attempt}: resumed output differs"
            );
            assert!(!manifest.exists());
        }
    }
    assert!(
        killed_mid_run > 0,
        "the run always finished before the kill"
    );

    // A completed run cannot be resumed; different options cannot resume this run.
    Command::cargo_bin("moltx")
        .unwrap()
        .args(screen_args(&lib, &out))
        .arg("--resume")
        .assert()
        .failure()
        .stderr(predicates::str::contains("no progress manifest"));
}

#[test]
fn resume_refuses_a_manifest_from_different_options() {
    let dir = tempfile::tempdir().unwrap();
    let lib = library(dir.path(), 1);
    let out = dir.path().join("hits.csv");
    let manifest = moltx::screen::resume::manifest_path(&out);
    std::fs::write(&out, "row\n").unwrap();
    std::fs::write(
        &manifest,
        r#"{"version":1,"identity":"other","next_row":3,"output_bytes":4,"rows_read":3,
            "rows_in_shard":3,"scored":3,"failed":{},"top_k":[],"best_per_task":[]}"#,
    )
    .unwrap();
    Command::cargo_bin("moltx")
        .unwrap()
        .args(screen_args(&lib, &out))
        .arg("--resume")
        .assert()
        .failure()
        .stderr(predicates::str::contains("different run"));
}

#[test]
fn a_second_run_on_the_same_output_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let lib = library(dir.path(), 1);
    let out = dir.path().join("hits.csv");
    // This test process holds the output's lock, as a running screen would.
    let lock = moltx::data::OutputLock::acquire(&out).unwrap();
    Command::cargo_bin("moltx")
        .unwrap()
        .args(screen_args(&lib, &out))
        .assert()
        .failure()
        .stderr(predicates::str::contains(
            "another moltx run is writing this output",
        ));
    assert!(!out.exists(), "the refused run wrote nothing");
    drop(lock);
    Command::cargo_bin("moltx")
        .unwrap()
        .args(screen_args(&lib, &out))
        .assert()
        .success();
    assert!(!moltx::data::OutputLock::path_for(&out).exists());
}

/// Runs the child with a limit on the size of any file it writes: writes past it fail with
/// EFBIG ("File too large"), as on a full disk (SIGXFSZ is ignored so the write returns the
/// error instead of killing the process).
fn with_file_size_limit(command: &mut Process, bytes: u64) -> &mut Process {
    use std::os::unix::process::CommandExt;
    // SAFETY: between fork and exec the closure only calls async-signal-safe libc functions.
    unsafe {
        command.pre_exec(move || {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let limit = libc::rlimit {
                rlim_cur: bytes,
                rlim_max: libc::RLIM_INFINITY,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        })
    }
}

#[test]
fn a_full_disk_is_a_clear_error_and_resume_finishes_the_job() {
    let dir = tempfile::tempdir().unwrap();
    let lib = library(dir.path(), 6);
    let reference = dir.path().join("reference.csv");
    Command::cargo_bin("moltx")
        .unwrap()
        .args(screen_args(&lib, &reference))
        .assert()
        .success();
    let expected = std::fs::read(&reference).unwrap();
    let limit = expected.len() as u64 / 2;

    let out = dir.path().join("hits.csv");
    let output = with_file_size_limit(
        Process::new(env!("CARGO_BIN_EXE_moltx")).args(screen_args(&lib, &out)),
        limit,
    )
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "the write past the limit must fail"
    );
    assert!(
        stderr.contains("hits.csv") && stderr.contains("File too large"),
        "{stderr}"
    );
    let manifest = moltx::screen::resume::manifest_path(&out);
    assert!(
        manifest.exists(),
        "the progress manifest survives the fault"
    );
    let written = std::fs::read(&out).unwrap();
    assert!(written.len() as u64 <= limit);
    assert_eq!(
        written,
        expected[..written.len()],
        "what was written before the fault is intact"
    );

    // Space is back: the resumed run finishes with the uninterrupted run's bytes.
    Command::cargo_bin("moltx")
        .unwrap()
        .args(screen_args(&lib, &out))
        .arg("--resume")
        .assert()
        .success();
    assert_eq!(std::fs::read(&out).unwrap(), expected);
}
