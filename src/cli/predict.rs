//! `moltx predict` and `moltx fingerprint`: apply a trained model (or ensemble) to a CSV, one
//! output row per input row, in order; rows that fail carry the reason in `error`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::tensor::Device;

use crate::data::reader::csv_reader;
use crate::model::predict::embed;
use crate::model::{MoleculeInput, featurize_all_limited};
use crate::train::ensemble::{ensemble_predict, load_ensemble};

/// Flags of `moltx predict` / `moltx fingerprint`.
#[derive(Debug, clap::Args)]
pub struct PredictArgs {
    /// Model file or directory of model files (an ensemble).
    #[arg(long)]
    pub model: PathBuf,
    /// CSV/TSV (optionally .gz) with a SMILES column.
    #[arg(long)]
    pub input: PathBuf,
    /// SMILES column (default: the first column whose name contains "smiles").
    #[arg(long)]
    pub smiles_column: Option<String>,
    /// Output CSV.
    #[arg(long)]
    pub out: PathBuf,
    /// Molecules per forward pass.
    #[arg(long, default_value_t = 256)]
    pub batch_size: usize,
    /// The size limit of the input's molecules.
    #[command(flatten)]
    pub limits: super::columns::MoleculeLimitArgs,
}

/// Every SMILES of a file's column, in row order.
pub fn read_smiles_column(path: &Path, column: Option<&str>) -> anyhow::Result<Vec<String>> {
    let mut reader = csv_reader(path)?;
    let header: Vec<String> = reader
        .headers()?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let idx = match column {
        Some(c) => header
            .iter()
            .position(|h| h == c)
            .with_context(|| format!("no column {c:?} in {}", path.display()))?,
        None => header
            .iter()
            .position(|h| h.to_lowercase().contains("smiles"))
            .with_context(|| {
                format!(
                    "no SMILES column in {} (use --smiles-column)",
                    path.display()
                )
            })?,
    };
    let mut out = Vec::new();
    for (row, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("{}: row {row}", path.display()))?;
        out.push(record.get(idx).unwrap_or("").trim().to_string());
    }
    Ok(out)
}

/// Runs `moltx predict`.
pub fn run_predict(args: &PredictArgs) -> anyhow::Result<()> {
    let device = Device::flex();
    let members = load_ensemble(&args.model, &device)?;
    let header = &members[0].header;
    let smiles = read_smiles_column(&args.input, args.smiles_column.as_deref())?;
    let inputs = featurize_all_limited(&header.model, &smiles, args.limits.max_atoms);
    let ok: Vec<&MoleculeInput> = inputs.iter().filter_map(|r| r.as_ref().ok()).collect();
    let (mean, sd) = ensemble_predict(&members, &ok, args.batch_size, &device)?;
    let t = header.tasks.len();
    let with_std = members.len() > 1;
    let mut w = csv::Writer::from_path(&args.out)?;
    let mut head = vec!["smiles".to_string()];
    head.extend(header.tasks.iter().cloned());
    if with_std {
        head.extend(header.tasks.iter().map(|n| format!("{n}_std")));
    }
    head.push("error".into());
    w.write_record(&head)?;
    let (mut k, mut failed) = (0, 0);
    for (s, input) in smiles.iter().zip(&inputs) {
        let mut row = vec![s.clone()];
        match input {
            Ok(_) => {
                row.extend(mean[k * t..(k + 1) * t].iter().map(|v| format!("{v:.6}")));
                if with_std {
                    row.extend(sd[k * t..(k + 1) * t].iter().map(|v| format!("{v:.6}")));
                }
                row.push(String::new());
                k += 1;
            }
            Err(e) => {
                row.extend(std::iter::repeat_n(
                    String::new(),
                    if with_std { 2 * t } else { t },
                ));
                row.push(e.to_string());
                failed += 1;
            }
        }
        w.write_record(&row)?;
    }
    w.flush()?;
    println!(
        "{} rows: {} predicted, {} failed (reason in the error column) → {}",
        smiles.len(),
        smiles.len() - failed,
        failed,
        args.out.display()
    );
    Ok(())
}

/// Runs `moltx fingerprint`: the learned molecule embeddings of the first ensemble member.
pub fn run_fingerprint(args: &PredictArgs) -> anyhow::Result<()> {
    let device = Device::flex();
    let members = load_ensemble(&args.model, &device)?;
    let model = &members[0];
    let smiles = read_smiles_column(&args.input, args.smiles_column.as_deref())?;
    let inputs = featurize_all_limited(&model.header.model, &smiles, args.limits.max_atoms);
    let ok: Vec<&MoleculeInput> = inputs.iter().filter_map(|r| r.as_ref().ok()).collect();
    let emb = embed(
        &model.net,
        &model.header.model,
        &ok,
        args.batch_size,
        &device,
    )?;
    let d = model.header.model.embedding_dim();
    let mut w = csv::Writer::from_path(&args.out)?;
    let mut head = vec!["smiles".to_string()];
    head.extend((0..d).map(|i| format!("e{i}")));
    head.push("error".into());
    w.write_record(&head)?;
    let mut k = 0;
    for (s, input) in smiles.iter().zip(&inputs) {
        let mut row = vec![s.clone()];
        match input {
            Ok(_) => {
                row.extend(emb[k * d..(k + 1) * d].iter().map(|v| format!("{v:.6}")));
                row.push(String::new());
                k += 1;
            }
            Err(e) => {
                row.extend(std::iter::repeat_n(String::new(), d));
                row.push(e.to_string());
            }
        }
        w.write_record(&row)?;
    }
    w.flush()?;
    println!(
        "{} embeddings of width {d} → {}",
        smiles.len(),
        args.out.display()
    );
    Ok(())
}
