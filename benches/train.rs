//! Training-throughput benchmark with its hardware ceiling (plain timing, `harness = false`).
//!
//! For ESOL and Tox21 from the shared data folder (`MOLTX_DATA`, else `../shared/data`), on the
//! thread count of the global rayon pool (`RAYON_NUM_THREADS`, default 1):
//! 1. counts the floating-point work of one training step per molecule for chemprop's default
//!    D-MPNN, from the dataset's mean atom and directed-edge counts (below);
//! 2. measures what burn's matrix product sustains on this machine for the D-MPNN's main shape,
//!    a batch of edge states times `W_h` (`64·Ē × 300` by `300 × 300`);
//! 3. trains the real model for a few epochs and reports molecules/s, the ceiling
//!    `gemm rate / FLOP per molecule` (every FLOP in a matrix product at the measured rate and
//!    nothing else costing time), the fraction of the ceiling reached, and chemprop 2.3.1's
//!    figure from the issue (ESOL 1,600 mol/s with 2 threads; Tox21 630 mol/s with 1 thread).
//!
//! Multiply-accumulates per molecule (hidden `h`, depth `d`, atom/bond widths `a`/`b`, `N`
//! atoms, `E` directed edges, head `h → h → T`):
//! forward `E(a+b)h + (d−1)E·h² + N(a+h)h + h² + hT`;
//! backward: weight gradients of every layer (the same again) plus input gradients of every
//! layer but `W_i` (whose input is data): `(d−1)E·h² + N·h² + h² + hT`.
//! One FLOP-count is 2 per multiply-accumulate; element-wise work is not counted.
//!
//! Run: `RAYON_NUM_THREADS=1 cargo bench --bench train` and `RAYON_NUM_THREADS=2 …`.

use std::path::PathBuf;
use std::time::Instant;

use burn::tensor::{Device, Tensor, TensorData};
use moltx::chem::featurize::{ATOM_DIM, BOND_DIM};
use moltx::data::table::{MoleculeTable, TableOptions};
use moltx::model::{ModelConfig, ModelKind, MoleculeInput};
use moltx::train::metrics::TaskType;
use moltx::train::trainer::{Labelled, TrainOptions, fit};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// FLOPs of one training step (forward and backward) per molecule of `atoms` atoms and
/// `edges` directed edges.
fn training_flops(c: &ModelConfig, atoms: f64, edges: f64) -> f64 {
    let (h, a, b) = (c.hidden as f64, ATOM_DIM as f64, BOND_DIM as f64);
    let steps = c.depth.saturating_sub(1) as f64;
    let t = c.n_tasks as f64;
    let head = c.ffn_hidden as f64 * (h + t);
    let forward = edges * (a + b) * h + steps * edges * h * h + atoms * (a + h) * h + head;
    let input_grads = steps * edges * h * h + atoms * h * h + head;
    2.0 * (2.0 * forward + input_grads)
}

/// Sustained FLOP/s of `[m, k] × [k, n]` products on `device` (best of 5 timed runs).
fn gemm_rate(m: usize, k: usize, n: usize, device: &Device) -> f64 {
    let x = Tensor::<2>::from_data(TensorData::new(vec![0.5f32; m * k], [m, k]), device);
    let w = Tensor::<2>::from_data(TensorData::new(vec![0.25f32; k * n], [k, n]), device);
    let reps = 50;
    let mut best = f64::INFINITY;
    for _ in 0..6 {
        let start = Instant::now();
        for _ in 0..reps {
            let y = x.clone().matmul(w.clone());
            std::hint::black_box(y.into_data());
        }
        best = best.min(start.elapsed().as_secs_f64());
    }
    2.0 * (m * k * n * reps) as f64 / best
}

fn main() {
    let data =
        PathBuf::from(std::env::var("MOLTX_DATA").unwrap_or_else(|_| "../shared/data".into()));
    let threads = std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1usize);
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .expect("a fresh global pool");
    let cases = [
        (
            "esol.csv",
            vec!["measured log solubility in mols per litre"],
            TaskType::Regression,
            1600.0,
            2,
        ),
        (
            "tox21.csv",
            vec![
                "NR-AR",
                "NR-AR-LBD",
                "NR-AhR",
                "NR-Aromatase",
                "NR-ER",
                "NR-ER-LBD",
                "NR-PPAR-gamma",
                "SR-ARE",
                "SR-ATAD5",
                "SR-HSE",
                "SR-MMP",
                "SR-p53",
            ],
            TaskType::Classification,
            630.0,
            1,
        ),
    ];
    let epochs: usize = std::env::var("MOLTX_TRAIN_EPOCHS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    println!(
        "train bench: {threads} thread(s), {epochs} epochs per dataset (after 1 warm-up epoch)"
    );
    for (file, targets, task, chemprop, chemprop_threads) in cases {
        let path = data.join("molecules").join(file);
        if !path.exists() {
            println!("{}: not found; skipped", path.display());
            continue;
        }
        let options = TableOptions {
            smiles_column: Some("smiles".into()),
            target_columns: Some(targets.iter().map(|t| t.to_string()).collect()),
            ..TableOptions::default()
        };
        let table = MoleculeTable::read(&path, &options).expect("a readable dataset");
        let n = table.len() as f64;
        let atoms = table.graphs.iter().map(|g| g.n_atoms() as f64).sum::<f64>() / n;
        let edges = table
            .graphs
            .iter()
            .map(|g| 2.0 * g.n_bonds() as f64)
            .sum::<f64>()
            / n;
        let config = ModelConfig::defaults(ModelKind::Dmpnn, table.n_tasks());
        let flops = training_flops(&config, atoms, edges);
        let device = Device::flex();
        let rate = gemm_rate(
            (64.0 * edges) as usize,
            config.hidden,
            config.hidden,
            &device,
        );
        let ceiling = rate / flops;

        let inputs: Vec<MoleculeInput> = table
            .graphs
            .iter()
            .cloned()
            .map(MoleculeInput::graph)
            .collect();
        let refs: Vec<&MoleculeInput> = inputs.iter().collect();
        let labelled = Labelled {
            inputs: &refs,
            targets: &table.targets,
            mask: &table.mask,
        };
        let none = Labelled {
            inputs: &[],
            targets: &[],
            mask: &[],
        };
        let run = |epochs: usize| {
            let options = TrainOptions {
                epochs,
                ..TrainOptions::default()
            };
            fit(
                &config,
                task,
                &table.task_names,
                &labelled,
                &none,
                &options,
                String::new(),
                &Device::flex(),
                &mut |_| {},
            )
            .expect("training runs")
        };
        run(1);
        let trained = run(epochs);
        let achieved = trained.molecules_per_second;
        println!(
            "{file}: {} molecules, mean {atoms:.1} atoms / {edges:.1} directed edges; \
             {:.1} MFLOP per molecule per training step",
            table.len(),
            flops / 1e6
        );
        println!(
            "  matrix product {:.1} GFLOP/s → ceiling {ceiling:.0} mol/s; achieved {achieved:.0} mol/s \
             ({:.0}% of the ceiling, {:.1} GFLOP/s in products)",
            rate / 1e9,
            100.0 * achieved / ceiling,
            achieved * flops / 1e9
        );
        if threads == chemprop_threads {
            println!(
                "  chemprop 2.3.1 at {chemprop_threads} thread(s): {chemprop:.0} mol/s → moltx {:.2}×; \
                 3× would be {:.0} mol/s = {:.0}% of the ceiling",
                achieved / chemprop,
                3.0 * chemprop,
                300.0 * chemprop / ceiling
            );
        }
    }
}
