//! Training survives a kill: `run_train` / `moltx train --resume` continue from the last
//! completed epoch and finish with the same model files, byte for byte, as an uninterrupted
//! run; other settings are refused; a full disk fails cleanly and a resume then finishes.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use burn::tensor::Device;
use moltx::data::{MoleculeTable, TableOptions};
use moltx::model::{ModelConfig, ModelKind};
use moltx::train::job::{SplitPlan, TrainJob, run_train};
use moltx::train::resume::inspect;
use moltx::train::trainer::{Selection, TrainOptions};

/// `smiles,len` for the bundled drugs, four times over (a regression target: SMILES length / 10,
/// plus a little per copy), so that an epoch lasts long enough to be killed in.
fn write_table(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string("fixtures/approved_drugs.csv").unwrap();
    let mut out = String::from("smiles,len\n");
    for copy in 0..4 {
        for line in text.lines().skip(1) {
            let smiles = line.split_once(',').unwrap().1;
            let y = smiles.len() as f64 / 10.0 + f64::from(copy) * 0.1;
            out.push_str(&format!("{smiles},{y}\n"));
        }
    }
    let path = dir.join("len.csv");
    std::fs::write(&path, out).unwrap();
    path
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// `epochs.csv` without its wall-time columns (seconds, molecules per second).
fn epochs_log(out: &Path) -> Vec<String> {
    std::fs::read_to_string(out.join("epochs.csv"))
        .unwrap()
        .lines()
        .map(|l| l.rsplitn(3, ',').nth(2).unwrap().to_string())
        .collect()
}

/// Model files, split and epoch log of two output folders are the same (wall times aside).
fn assert_same_run(a: &Path, b: &Path, models: usize) {
    for i in 0..models {
        let name = format!("model_{i}.moltx");
        let (x, y) = (std::fs::read(a.join(&name)), std::fs::read(b.join(&name)));
        assert!(x.unwrap() == y.unwrap(), "{name} differs");
    }
    assert_eq!(
        std::fs::read(a.join("split.csv")).unwrap(),
        std::fs::read(b.join("split.csv")).unwrap()
    );
    let (x, y) = (epochs_log(a), epochs_log(b));
    assert!(x.len() > models, "{x:?}");
    assert_eq!(x, y);
}

fn job(out: &Path, ensemble: usize, epochs: usize) -> TrainJob {
    let mut model = ModelConfig::defaults(ModelKind::Dmpnn, 1);
    model.hidden = 16;
    model.ffn_hidden = 16;
    model.dropout = 0.2;
    TrainJob {
        model,
        task_type: None,
        split: SplitPlan::Random([0.8, 0.1, 0.1]),
        seed: 3,
        ensemble,
        options: TrainOptions {
            epochs,
            batch_size: 16,
            seed: 3,
            data_parallel: 2,
            selection: Selection::Loss,
            checkpoint_dir: Some(out.join("resume")),
            resume: true,
            ..TrainOptions::default()
        },
        out: out.to_path_buf(),
    }
}

fn moved(job: &TrainJob, out: &Path) -> TrainJob {
    let mut job = job.clone();
    job.out = out.to_path_buf();
    job.options.checkpoint_dir = Some(out.join("resume"));
    job
}

/// Trains `job` straight through, copying its output folder when model `member` has completed
/// epoch `epoch` (what a kill at that moment leaves behind), then resumes from the copy. Both
/// runs must report the same epochs (the resumed one replays the restored ones) and write the
/// same model files.
fn straight_then_resumed(table: &MoleculeTable, job: &TrainJob, member: usize, epoch: usize) {
    let crashed = job.out.with_extension("crashed");
    let mut seen = Vec::new();
    run_train(table, job, &Device::flex(), &mut |m, r| {
        seen.push((m, r.epoch, r.train_loss.to_bits()));
        if (m, r.epoch) == (member, epoch) {
            copy_dir(&job.out, &crashed);
        }
    })
    .unwrap();
    let state = crashed.join(format!("resume/model_{member}.state"));
    let status = inspect(&state).unwrap().unwrap();
    assert_eq!(status.epochs_done, epoch);
    assert!(!status.complete);
    let mut replayed = Vec::new();
    let resumed = moved(job, &crashed);
    run_train(table, &resumed, &Device::flex(), &mut |m, r| {
        replayed.push((m, r.epoch, r.train_loss.to_bits()))
    })
    .unwrap();
    assert_eq!(seen, replayed);
    assert_same_run(&job.out, &crashed, job.ensemble);
    // What stays of the checkpoints is a small completion marker per model.
    for i in 0..job.ensemble {
        let marker = crashed.join(format!("resume/model_{i}.state"));
        assert!(inspect(&marker).unwrap().unwrap().complete);
        assert!(std::fs::metadata(&marker).unwrap().len() < 16_000);
    }
}

#[test]
fn library_resume_is_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let table = MoleculeTable::read(&write_table(dir.path()), &TableOptions::default()).unwrap();
    // One D-MPNN with dropout, batches split in two data-parallel parts, cut after epoch 2.
    let single = job(&dir.path().join("single"), 1, 4);
    straight_then_resumed(&table, &single, 0, 2);
    // With the weights averaged (the average is part of the state), cut after epoch 1.
    let mut averaged = job(&dir.path().join("averaged"), 1, 3);
    averaged.options.weight_average = Some(0.9);
    straight_then_resumed(&table, &averaged, 0, 1);
    // Two members, cut in the second one.
    let pair = job(&dir.path().join("pair"), 2, 3);
    straight_then_resumed(&table, &pair, 1, 1);

    // Other settings are refused before anything is written, naming what differs.
    let out = dir.path().join("pair.crashed");
    let before = std::fs::read(out.join("epochs.csv")).unwrap();
    let mut longer = moved(&pair, &out);
    longer.options.epochs = 4;
    longer.options.data_parallel = 1;
    let err = run_train(&table, &longer, &Device::flex(), &mut |_, _| {}).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("epochs: 3 then, 4 now"), "{message}");
    assert!(
        message.contains("data-parallel parts: 2 then, 1 now"),
        "{message}"
    );
    assert!(message.contains("model_0.state"), "{message}");
    assert_eq!(std::fs::read(out.join("epochs.csv")).unwrap(), before);
    // Resuming a finished run loads its models and rewrites the same reports.
    run_train(&table, &moved(&pair, &out), &Device::flex(), &mut |_, _| {}).unwrap();
    assert_same_run(&pair.out, &out, 2);
}

/// `moltx train` flags of the CLI tests: a small, fast D-MPNN with dropout and two
/// data-parallel parts.
fn train_command(data: &Path, out: &Path, epochs: usize, ensemble: usize) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_moltx"));
    cmd.arg("train")
        .arg("--data")
        .arg(data)
        .arg("--out")
        .arg(out);
    for (flag, value) in [
        ("--targets", "len".to_string()),
        ("--epochs", epochs.to_string()),
        ("--ensemble", ensemble.to_string()),
        ("--hidden", "16".into()),
        ("--ffn-hidden", "16".into()),
        ("--dropout", "0.2".into()),
        ("--batch-size", "16".into()),
        ("--data-parallel", "2".into()),
        ("--seed", "1".into()),
    ] {
        cmd.args([flag, &value]);
    }
    cmd.args(["--quiet", "--resume"]);
    cmd.stdout(Stdio::null()).stderr(Stdio::piped());
    cmd
}

fn succeed(mut cmd: Command) {
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "moltx train failed: {stderr}");
}

/// Epochs completed over all models, from their checkpoints.
fn epochs_done(out: &Path, models: usize) -> usize {
    (0..models)
        .map(|i| {
            let path = out.join(format!("resume/model_{i}.state"));
            inspect(&path).ok().flatten().map_or(0, |s| s.epochs_done)
        })
        .sum()
}

/// A number in `lo..=hi` that differs from run to run (printed, to reproduce a failure).
fn random_in(lo: usize, hi: usize) -> usize {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(Instant::now().elapsed().as_nanos());
    lo + (h.finish() as usize) % (hi - lo + 1)
}

/// Starts `cmd` and SIGKILLs it once its checkpoints show at least `epochs` completed epochs.
fn kill_after(mut cmd: Command, out: &Path, models: usize, epochs: usize) {
    let mut child: Child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while epochs_done(out, models) < epochs {
        assert!(
            child.try_wait().unwrap().is_none(),
            "moltx train exited before the kill"
        );
        assert!(Instant::now() < deadline, "no progress");
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "finished before the kill"
    );
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success());
}

#[test]
fn cli_killed_run_resumes_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_table(dir.path());
    let (models, epochs) = (2, 8);
    // The reference: uninterrupted (--resume with nothing to resume just starts).
    let reference = dir.path().join("reference");
    succeed(train_command(&data, &reference, epochs, models));
    // Killed at a random completed epoch (of either member), then resumed.
    let target = random_in(1, models * epochs - 3);
    eprintln!("killing moltx train after {target} completed epochs");
    let out = dir.path().join("killed");
    kill_after(
        train_command(&data, &out, epochs, models),
        &out,
        models,
        target,
    );
    assert!(!out.join("metrics.json").exists());
    succeed(train_command(&data, &out, epochs, models));
    assert_same_run(&reference, &out, models);
    // Resuming with other settings is refused, naming them, and changes nothing.
    let before = std::fs::read(out.join("model_1.moltx")).unwrap();
    let refused = train_command(&data, &out, epochs + 1, models)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(stderr.contains("epochs: 8 then, 9 now"), "{stderr}");
    assert_eq!(std::fs::read(out.join("model_1.moltx")).unwrap(), before);
    assert_same_run(&reference, &out, models);
}

#[cfg(target_os = "linux")]
mod fsize {
    //! Just enough of libc to cap the size of files a child may write.
    #[repr(C)]
    pub struct Rlimit {
        pub cur: u64,
        pub max: u64,
    }
    pub const RLIMIT_FSIZE: i32 = 1;
    pub const SIGXFSZ: i32 = 25;
    pub const SIG_IGN: usize = 1;
    unsafe extern "C" {
        pub fn setrlimit(resource: i32, limit: *const Rlimit) -> i32;
        pub fn signal(signum: i32, handler: usize) -> usize;
    }
}

/// The disk "fills" (no file may grow past `bytes`): writes fail with EFBIG instead of the
/// process being killed by SIGXFSZ.
#[cfg(target_os = "linux")]
fn limit_file_size(cmd: &mut Command, bytes: u64) {
    use std::os::unix::process::CommandExt;
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            fsize::signal(fsize::SIGXFSZ, fsize::SIG_IGN);
            let limit = fsize::Rlimit {
                cur: bytes,
                max: bytes,
            };
            if fsize::setrlimit(fsize::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[cfg(target_os = "linux")]
#[test]
fn cli_full_disk_fails_cleanly_then_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_table(dir.path());
    let epochs = 8;
    let reference = dir.path().join("reference");
    succeed(train_command(&data, &reference, epochs, 1));
    let out = dir.path().join("full");
    kill_after(
        train_command(&data, &out, epochs, 1),
        &out,
        1,
        random_in(1, 4),
    );
    let state = out.join("resume/model_0.state");
    let before = std::fs::read(&state).unwrap();
    // Room for the small files (split, epoch log), not for the next checkpoint.
    let mut cmd = train_command(&data, &out, epochs, 1);
    limit_file_size(&mut cmd, before.len() as u64 / 2);
    let failed = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(!failed.status.success());
    assert!(stderr.contains("model_0.state"), "{stderr}");
    assert!(stderr.contains("File too large"), "{stderr}");
    // The last checkpoint is intact and no temporary file is left.
    assert_eq!(std::fs::read(&state).unwrap(), before);
    let names: Vec<String> = std::fs::read_dir(out.join("resume"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["model_0.state"]);
    // With space back, --resume finishes the job.
    succeed(train_command(&data, &out, epochs, 1));
    assert_same_run(&reference, &out, 1);
}
