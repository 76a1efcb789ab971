//! `moltx explain`: how much each atom of each molecule contributes to a D-MPNN's
//! predictions (integrated gradients through the message passing), as a table and pictures.

use std::path::PathBuf;

use anyhow::Context;
use burn::tensor::Device;

use crate::api::{Explainer, Library};
use crate::chem::depict::Depiction;
use crate::data::LibraryOptions;
use crate::explain::{ExplainOptions, ExplainSummary, IgSettings};

/// Skipped rows printed one by one; the rest are counted (all are in `errors.csv`).
const SHOWN_SKIPS: usize = 20;

/// Flags of `moltx explain`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = "\
Writes into --out:
  attributions.csv   row,id,smiles,task,atom,element,contribution: one line per atom per task
  outputs.csv        row,id,smiles,task,output,baseline,sum: the model's output at the molecule
                     and at the all-zero baseline; sum (of the contributions) = output - baseline
                     up to the integration error (raise --steps to shrink it)
  errors.csv         row,line,id,error: entries skipped (also printed)
  <row>_<task>.svg   the molecule drawn by RDKit, atoms shaded by contribution (red raises the
                     output, blue lowers it, scaled per picture); one per molecule and task
                     (characters of a task name other than letters, digits, - _ . become _)

Method: integrated gradients w.r.t. the atom and bond features, from a baseline of all-zero
features; an atom gets its features' share plus half of each of its bonds'. Regression
contributions are in the task's units; classification contributions are in logits. An
ensemble folder is explained as the mean over its members.")]
pub struct ExplainArgs {
    /// D-MPNN model file, or a folder of them (an ensemble, explained as the mean); default:
    /// the bundled Tox21 model.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Compound file: .smi, .csv, .tsv, .sdf (each optionally .gz) or .parquet.
    #[arg(long, alias = "library")]
    pub input: PathBuf,
    /// Output folder (created if missing; files of the same names are replaced).
    #[arg(long)]
    pub out: PathBuf,
    /// A task to explain (repeat for several); default: every task of the model.
    #[arg(long = "task", value_name = "NAME")]
    pub tasks: Vec<String>,
    /// Only the first N entries of the file.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Integration steps of integrated gradients (cost grows linearly).
    #[arg(long, default_value_t = 64)]
    pub steps: usize,
    /// Picture width in pixels.
    #[arg(long, default_value_t = 500)]
    pub width: u32,
    /// Picture height in pixels.
    #[arg(long, default_value_t = 400)]
    pub height: u32,
    /// Draw each atom's index (the `atom` column) in the pictures.
    #[arg(long)]
    pub atom_indices: bool,
    /// Write the tables only, no pictures.
    #[arg(long)]
    pub no_pictures: bool,
    /// SMILES column (CSV/TSV/Parquet); default: the first whose name contains "smiles".
    #[arg(long)]
    pub smiles_column: Option<String>,
    /// Identifier column, or SDF data item; default: an `id`/`name`/`*_id` column, or the SDF
    /// title line.
    #[arg(long)]
    pub id_column: Option<String>,
    /// The size limit of the molecules.
    #[command(flatten)]
    pub limits: super::columns::MoleculeLimitArgs,
}

/// Runs `moltx explain`.
pub fn run(args: &ExplainArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.steps > 0, "--steps must be at least 1");
    let explainer = match &args.model {
        Some(path) => Explainer::load(path, &Device::flex())
            .with_context(|| format!("loading {}", path.display()))?,
        None => Explainer::bundled()?,
    };
    let explainer = explainer
        .with_settings(IgSettings {
            steps: args.steps,
            ..IgSettings::default()
        })
        .with_max_heavy_atoms(args.limits.max_atoms);
    let library = Library::with_options(
        &args.input,
        LibraryOptions {
            smiles_column: args.smiles_column.clone(),
            id_column: args.id_column.clone(),
        },
    )?;
    let options = ExplainOptions {
        tasks: args.tasks.clone(),
        limit: args.limit,
        depiction: Depiction {
            width: args.width,
            height: args.height,
            atom_indices: args.atom_indices,
            ..Depiction::default()
        },
        pictures: !args.no_pictures,
        ..ExplainOptions::default()
    };
    let summary = explainer.explain_file(&library, &args.out, &options)?;
    report(args, &summary)
}

/// Prints the skipped rows (to stderr) and the counts; no molecule explained out of a
/// non-empty file is an error.
fn report(args: &ExplainArgs, s: &ExplainSummary) -> anyhow::Result<()> {
    let file = args.input.display();
    for skip in s.skipped.iter().take(SHOWN_SKIPS) {
        let id = if skip.id.is_empty() {
            String::new()
        } else {
            format!(" ({})", skip.id)
        };
        eprintln!(
            "skipped: {file} row {} (line {}){id}: {}",
            skip.row, skip.line, skip.reason
        );
    }
    let errors = s.out_dir.join("errors.csv");
    if s.skipped.len() > SHOWN_SKIPS {
        eprintln!(
            "skipped: … and {} more (all in {})",
            s.skipped.len() - SHOWN_SKIPS,
            errors.display()
        );
    }
    anyhow::ensure!(
        s.explained > 0 || s.rows == 0,
        "no molecule of {file} could be explained ({} rows read; reasons in {})",
        s.rows,
        errors.display()
    );
    println!(
        "{} rows read: {} molecules explained for {} task(s) ({}), {} skipped → {} ({} pictures)",
        s.rows,
        s.explained,
        s.tasks.len(),
        s.tasks.join(", "),
        s.skipped.len(),
        s.out_dir.join("attributions.csv").display(),
        s.pictures
    );
    Ok(())
}
