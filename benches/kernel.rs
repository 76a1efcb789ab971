//! Kernel ops vs stock-burn-op reference, plus a memory-bandwidth yardstick.
//!
//! `cargo bench --bench kernel` (global allocator: mimalloc). Benchmarks are named `<op>_<fwd|fwd_bwd>/<ours|reference>/<molecules>`.
//! Before criterion runs, a table prints each raw kernel's bytes moved / time as a fraction of a
//! STREAM-like triad measured on the same threads.

use burn::tensor::{Device, Tensor, TensorData};
use criterion::{BenchmarkId, Criterion, black_box};
use moltx::chem::MolGraph;
use moltx::data::batch::GraphBatch;
use moltx::kernel::testing::pseudo_random;
use moltx::kernel::{self, GraphIndex, Readout, cpu, reference};
use rayon::prelude::*;
use std::time::{Duration, Instant};

/// mimalloc keeps freed pages mapped, so a fresh 256 MB op output costs no page faults; glibc
/// malloc maps and unmaps it every call (measured 4x slower kernels, see the report).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const F: usize = 300;

/// The benchmark batch: real approved drugs (`fixtures/approved_drugs.csv`, parsed by RDKit),
/// repeated in file order until the batch holds `n_molecules` (mean ~20 heavy atoms, ~21 bonds).
fn bench_batch(n_molecules: usize) -> GraphBatch {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/approved_drugs.csv");
    let text = std::fs::read_to_string(path).expect("fixtures/approved_drugs.csv");
    let graphs: Vec<MolGraph> = text
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(','))
        .map(|(_, smiles)| MolGraph::from_smiles(smiles).expect("fixture SMILES parse"))
        .collect();
    let batch: Vec<&MolGraph> = graphs.iter().cycle().take(n_molecules).collect();
    GraphBatch::from_graphs(&batch)
}

fn tensor(data: Vec<f32>, rows: usize, device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(data, [rows, F]), device)
}

/// Median wall time of `reps` runs of `f` (after one warm-up run).
fn median_time(reps: usize, mut f: impl FnMut()) -> Duration {
    f();
    let mut t: Vec<Duration> = (0..reps)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed()
        })
        .collect();
    t.sort();
    t[reps / 2]
}

/// STREAM triad `a = b + s·c` over 3 × 128 MB, on the current rayon pool. Returns bytes/s
/// (12 bytes per element, write-allocate traffic not counted, as in STREAM).
fn triad_bandwidth() -> f64 {
    let n = 32 << 20;
    let b = vec![1.0f32; n];
    let c = vec![2.0f32; n];
    let mut a = vec![0.0f32; n];
    let t = median_time(7, || {
        a.par_chunks_mut(1 << 16)
            .zip(b.par_chunks(1 << 16).zip(c.par_chunks(1 << 16)))
            .for_each(|(a, (b, c))| {
                for (x, (y, z)) in a.iter_mut().zip(b.iter().zip(c)) {
                    *x = *y + 3.0 * *z;
                }
            });
        black_box(&a);
    });
    (12 * n) as f64 / t.as_secs_f64()
}

/// Raw-kernel throughput table (fresh output allocated each call, as through burn).
fn bandwidth_report() {
    let bw = triad_bandwidth();
    println!(
        "\nthreads: {}, triad bandwidth: {:.1} GB/s",
        rayon::current_num_threads(),
        bw / 1e9
    );
    let b = bench_batch(4096);
    let (n, e, m) = (b.n_atoms(), b.n_edges(), b.n_molecules);
    println!("batch 4096: {n} atoms, {e} edges, F = {F}");
    let h = pseudo_random(1, e * F);
    let x = pseudo_random(2, n * F);
    let row = (F * 4) as f64;
    let report = |name: &str, bytes: f64, t: Duration| {
        let gbs = bytes / t.as_secs_f64();
        println!(
            "{name:<28} {:>8.2} ms  {:>6.1} GB/s  {:>5.0}% of triad",
            t.as_secs_f64() * 1e3,
            gbs / 1e9,
            100.0 * gbs / bw
        );
    };
    let (o, r, a) = (&b.out_offsets, &b.edge_reverse, &b.atom_offsets);
    let t = median_time(9, || drop(black_box(cpu::dmpnn_message(&h, F, o, r, a))));
    report("dmpnn_message fwd", 2.0 * e as f64 * row, t);
    let t = median_time(9, || {
        drop(black_box(cpu::dmpnn_message_backward(&h, F, o, r, a)))
    });
    report("dmpnn_message bwd", 2.0 * e as f64 * row, t);
    let t = median_time(9, || {
        drop(black_box(cpu::gather_rows(&x, F, &b.edge_source)))
    });
    report("gather_source fwd", (n + e) as f64 * row, t);
    let (io, ie) = (&b.incoming_offsets, &b.incoming_edges);
    let t = median_time(9, || drop(black_box(cpu::csr_sum(&h, F, io, ie))));
    report("incoming_sum fwd", (n + e) as f64 * row, t);
    let t = median_time(9, || {
        drop(black_box(cpu::segment_reduce(&x, F, a, true, 1.0)))
    });
    report("readout_mean fwd", (n + m) as f64 * row, t);
    // Allocation alone: a fresh E×F buffer, written once (what every op output costs).
    let t = median_time(9, || {
        let mut v: Vec<f32> = Vec::with_capacity(e * F);
        v.resize(e * F, 1.0); // not 0.0: that would become a calloc that touches nothing
        drop(black_box(v));
    });
    report("fresh E×F buffer + fill", e as f64 * row, t);
    println!();
}

type Op = fn(Tensor<2>, &GraphIndex) -> Tensor<2>;

fn ops() -> Vec<(&'static str, bool, Op, Op)> {
    vec![
        (
            "dmpnn_message",
            true,
            |x, g| kernel::dmpnn_message(x, g).expect("rows"),
            reference::dmpnn_message,
        ),
        (
            "incoming_sum",
            true,
            |x, g| kernel::incoming_sum(x, g).expect("rows"),
            reference::incoming_sum,
        ),
        (
            "gather_source",
            false,
            |x, g| kernel::gather_source(x, g).expect("rows"),
            reference::gather_source,
        ),
        (
            "readout_mean",
            false,
            |x, g| kernel::readout(x, g, Readout::Mean).expect("rows"),
            |x, g| reference::readout(x, g, Readout::Mean),
        ),
    ]
}

fn benches(c: &mut Criterion) {
    for n_mol in [64usize, 4096] {
        let b = bench_batch(n_mol);
        for (name, on_edges, ours, theirs) in ops() {
            let rows = if on_edges { b.n_edges() } else { b.n_atoms() };
            let data = pseudo_random(3, rows * F);
            // Forward on plain Flex.
            let device = Device::flex();
            let g = GraphIndex::new(&b, &device).expect("valid batch");
            let x = tensor(data.clone(), rows, &device);
            let mut group = c.benchmark_group(format!("{name}_fwd"));
            for (label, op) in [("ours", ours), ("reference", theirs)] {
                group.bench_with_input(BenchmarkId::new(label, n_mol), &x, |bch, x| {
                    bch.iter(|| op(x.clone(), &g))
                });
            }
            group.finish();
            // Forward + backward on Autodiff<Flex>.
            let device = Device::flex().autodiff();
            let g = GraphIndex::new(&b, &device).expect("valid batch");
            let x = tensor(data, rows, &device);
            let mut group = c.benchmark_group(format!("{name}_fwd_bwd"));
            for (label, op) in [("ours", ours), ("reference", theirs)] {
                group.bench_with_input(BenchmarkId::new(label, n_mol), &x, |bch, x| {
                    bch.iter(|| {
                        let x = x.clone().require_grad();
                        let mut grads = op(x.clone(), &g).backward();
                        x.grad_remove(&mut grads)
                    })
                });
            }
            group.finish();
        }
    }
}

fn main() {
    let mut c = Criterion::default()
        .sample_size(10)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1))
        .configure_from_args();
    if std::env::var_os("KERNEL_BENCH_NO_REPORT").is_none() {
        bandwidth_report();
    }
    benches(&mut c);
    c.final_summary();
}
