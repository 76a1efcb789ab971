//! `moltx evaluate`: metrics of a trained model (or ensemble) on labelled data.

use std::path::PathBuf;

use anyhow::Context;
use burn::tensor::Device;

use crate::data::{MoleculeTable, TableOptions};
use crate::model::MoleculeInput;
use crate::model::ensemble::{ensemble_predict, load_ensemble};
use crate::train::job::table_inputs;
use crate::train::metrics::SplitMetrics;

/// Flags of `moltx evaluate`.
#[derive(Debug, clap::Args)]
pub struct EvaluateArgs {
    /// Model file or directory of model files.
    #[arg(long)]
    pub model: PathBuf,
    /// Labelled CSV/TSV (optionally .gz).
    #[arg(long)]
    pub data: PathBuf,
    /// Which columns hold SMILES and targets.
    #[command(flatten)]
    pub columns: super::columns::ColumnArgs,
    /// Also write the metrics JSON here.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Runs `moltx evaluate`.
pub fn run(args: &EvaluateArgs) -> anyhow::Result<()> {
    let device = Device::flex();
    let members = load_ensemble(&args.model, &device)?;
    let header = &members[0].header;
    let targets = args
        .columns
        .target_columns()
        .unwrap_or_else(|| header.tasks.clone());
    anyhow::ensure!(
        targets.len() == header.tasks.len(),
        "the model predicts {} tasks but {} target columns were given",
        header.tasks.len(),
        targets.len()
    );
    let options = TableOptions {
        smiles_column: args.columns.smiles_column.clone(),
        target_columns: Some(targets),
        max_heavy_atoms: args.columns.limits.max_atoms,
    };
    let table = MoleculeTable::read(&args.data, &options)
        .with_context(|| format!("reading {}", args.data.display()))?;
    let inputs = table_inputs(&table, &header.model)?;
    let refs: Vec<&MoleculeInput> = inputs.iter().collect();
    let (mean, _) = ensemble_predict(&members, &refs, 256, &device)?;
    let truth: Vec<f64> = table.targets.iter().map(|&v| f64::from(v)).collect();
    let metrics =
        SplitMetrics::compute(header.task_type, &header.tasks, &mean, &truth, &table.mask);
    let json = serde_json::json!({
        "task_type": header.task_type,
        "tasks": header.tasks,
        "splits": { "test": table.len() },
        "failed_rows": table.failures.len(),
        "test": metrics,
    });
    let text = serde_json::to_string_pretty(&json)?;
    println!("{text}");
    if let Some(out) = &args.out {
        std::fs::write(out, &text)?;
    }
    Ok(())
}
