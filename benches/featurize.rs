//! Molecules per second for parse + featurize (+ batch) on the ESOL SMILES, on one thread and
//! on all threads. Data: `$MOLTX_DATA/molecules/esol.csv` (default `../shared/data`).

use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use moltx::chem::MolGraph;
use moltx::data::GraphBatch;
use moltx::data::reader::csv_reader;
use rayon::prelude::*;

fn esol_smiles() -> Option<Vec<String>> {
    let root = std::env::var_os("MOLTX_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
    let path = root.join("molecules/esol.csv");
    let mut reader = csv_reader(&path).ok()?;
    let col = reader
        .headers()
        .ok()?
        .iter()
        .position(|h| h.trim() == "smiles")?;
    Some(
        reader
            .records()
            .filter_map(Result::ok)
            .map(|r| r[col].trim().to_string())
            .collect(),
    )
}

fn parse_featurize(smiles: &[String]) -> Vec<MolGraph> {
    smiles
        .par_iter()
        .filter_map(|s| MolGraph::from_smiles(s).ok())
        .collect()
}

fn bench(c: &mut Criterion) {
    let Some(smiles) = esol_smiles() else {
        eprintln!("featurize bench: ESOL not found (set MOLTX_DATA); skipping");
        return;
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut group = c.benchmark_group("featurize");
    group.throughput(Throughput::Elements(smiles.len() as u64));
    group
        .measurement_time(Duration::from_secs(5))
        .sample_size(10);
    for n in [1, threads] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .expect("thread pool");
        group.bench_function(format!("parse_featurize/{n}_threads"), |b| {
            b.iter(|| pool.install(|| parse_featurize(&smiles)))
        });
        group.bench_function(format!("parse_featurize_batch/{n}_threads"), |b| {
            b.iter(|| pool.install(|| GraphBatch::from_graphs(&parse_featurize(&smiles))))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
