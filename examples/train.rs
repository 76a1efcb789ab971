//! Train a small D-MPNN on a labelled CSV (SMILES and numeric targets) and report the test
//! metrics: `cargo run --release --example train [-- DATA OUT]`. Without arguments it trains
//! on a table it writes from the bundled drugs (target: the number of heavy atoms).

use std::path::PathBuf;

use moltx::api::Device;
use moltx::data::{MoleculeTable, TableOptions};
use moltx::model::{ModelConfig, ModelKind};
use moltx::train::job::{SplitPlan, TrainJob, run_train};
use moltx::train::trainer::TrainOptions;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from("target/example_train");
    let data = match args.next() {
        Some(path) => PathBuf::from(path),
        None => {
            std::fs::create_dir_all(&out)?;
            let path = out.join("atoms.csv");
            let drugs = std::fs::read_to_string("fixtures/approved_drugs.csv")?;
            let mut text = String::from("smiles,heavy_atoms\n");
            for line in drugs.lines().skip(1) {
                let smiles = line.split_once(',').map_or(line, |(_, s)| s);
                let n = moltx::chem::size::heavy_atoms_in_smiles(smiles);
                text.push_str(&format!("{smiles},{n}\n"));
            }
            std::fs::write(&path, text)?;
            path
        }
    };
    let out = args.next().map_or(out.join("model"), PathBuf::from);
    let table = MoleculeTable::read(&data, &TableOptions::default())?;
    let mut model = ModelConfig::defaults(ModelKind::Dmpnn, table.n_tasks());
    (model.hidden, model.ffn_hidden) = (64, 64);
    let job = TrainJob {
        model,
        task_type: None,
        split: SplitPlan::Random([0.8, 0.1, 0.1]),
        seed: 0,
        ensemble: 1,
        options: TrainOptions {
            epochs: 20,
            ..TrainOptions::default()
        },
        out: out.clone(),
    };
    let report = run_train(&table, &job, &Device::flex(), &mut |_, _| {})?;
    println!("trained on {} molecules → {}", table.len(), out.display());
    println!("{}", serde_json::to_string_pretty(&report.test)?);
    Ok(())
}
