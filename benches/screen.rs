//! Screening benchmark (plain timing, `harness = false`): the bundled Tox21 D-MPNN over
//! `screening/moses_train.csv.gz` (1.58M SMILES) from the shared data folder (`MOLTX_DATA`, else
//! `../shared/data`), end to end: gunzip, CSV, RDKit parsing, featurization, model, CSV output.
//! Prints rows/s, the stage breakdown, and the resident memory (VmRSS) at every 10% of the
//! file plus the peak (VmHWM), to show memory does not grow with the input.
//!
//! `MOLTX_SCREEN_ROWS=N` screens only the first N rows (written to a temporary file first);
//! `MOLTX_SCREEN_REPEAT=K` screens the file K times over (K gzip members back to back, so the
//! header line reappears as a row RDKit rejects, K−1 times).
//!
//! Run: `cargo bench --bench screen` (2 threads unless `RAYON_NUM_THREADS` says otherwise).

use std::io::{BufRead, Write};
use std::path::PathBuf;

use burn::tensor::Device;
use moltx::model::bundled::bundled_tox21;
use moltx::screen::{ScreenOptions, screen};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A field of /proc/self/status in MiB (0 if unavailable).
fn status_mib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn env_usize(name: &str) -> Option<usize> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

fn main() {
    let data = std::env::var("MOLTX_DATA").unwrap_or_else(|_| "../shared/data".into());
    let source = PathBuf::from(data).join("screening/moses_train.csv.gz");
    if !source.exists() {
        println!("screen bench: {} not found; skipped", source.display());
        return;
    }
    if std::env::var("RAYON_NUM_THREADS").is_err() {
        rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build_global()
            .expect("a fresh global pool");
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut library = source.clone();
    if let Some(rows) = env_usize("MOLTX_SCREEN_ROWS") {
        library = dir.path().join("head.csv");
        let input = moltx::data::reader::open_maybe_gz(&source).expect("readable library");
        let mut out = std::io::BufWriter::new(std::fs::File::create(&library).unwrap());
        for line in input.lines().take(rows + 1) {
            writeln!(out, "{}", line.expect("a line")).unwrap();
        }
    }
    let repeat = env_usize("MOLTX_SCREEN_REPEAT").unwrap_or(1).max(1);
    if repeat > 1 {
        let bytes = std::fs::read(&library).expect("readable library");
        let name = if moltx::data::reader::is_gz(&library) {
            "repeated.csv.gz"
        } else {
            "repeated.csv"
        };
        let target = dir.path().join(name);
        let mut out = std::fs::File::create(&target).unwrap();
        for _ in 0..repeat {
            out.write_all(&bytes).unwrap();
        }
        library = target;
    }
    let device = Device::flex();
    let model = moltx::model::Ensemble::new(
        vec![bundled_tox21(&device).expect("the bundled model")],
        &library,
    )
    .expect("one model");
    let out = dir.path().join("scores.csv");
    let options = ScreenOptions::default();
    let mut next_report = 0.1;
    let mut samples = Vec::new();
    println!(
        "screen bench: {} (×{repeat}), bundled Tox21 D-MPNN, {} threads, chunk {}, batch {}",
        source.display(),
        rayon::current_num_threads(),
        options.chunk_size,
        options.batch_size
    );
    let summary = screen(&library, &model, &out, &options, &device, &mut |p| {
        let fraction = p.bytes_read as f64 / p.total_bytes.max(1) as f64;
        if fraction >= next_report {
            samples.push((fraction, p.rows_this_run, status_mib("VmRSS:")));
            next_report += 0.1;
        }
    })
    .expect("the screen runs");
    for (fraction, rows, rss) in &samples {
        println!(
            "  {:>3.0}% of the file, {rows:>9} rows: RSS {rss:.0} MiB",
            fraction * 100.0
        );
    }
    let failed: u64 = summary.failed.values().sum();
    println!(
        "rows {} (scored {}, failed {failed}); {:.1} s; {:.0} rows/s end to end",
        summary.rows_in_shard,
        summary.scored,
        summary.seconds,
        summary.rows_in_shard as f64 / summary.seconds
    );
    let s = summary.stages;
    println!(
        "stages (s): featurize {:.1} ({:.0} rows/s), model {:.1} ({:.0} rows/s), waiting for \
         the reader {:.1}, writer {:.1} (own thread, overlapped)",
        s.featurize,
        summary.rows_in_shard as f64 / s.featurize,
        s.model,
        summary.scored as f64 / s.model,
        s.read_wait,
        s.write
    );
    println!("peak RSS (VmHWM): {:.0} MiB", status_mib("VmHWM:"));
}
