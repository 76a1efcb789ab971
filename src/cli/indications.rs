//! `moltx indications`: score each compound of a library for the diseases of the shared data's
//! known drugs, from structural neighbours, fused with signature neighbours when the compound
//! has a measured (or predicted) signature.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use burn::tensor::Device;

use super::train_signatures::NeighborArgs;
use crate::data::LibraryOptions;
use crate::expr::matrix::{Layout, read_signatures};
use crate::indications::{
    IndicationEvidence, SignatureSources, load_references, predict_library_indications,
};
use crate::link::load_any;

/// Flags of `moltx indications`.
#[derive(Debug, clap::Args)]
pub struct IndicationsArgs {
    /// Compounds to score (.smi/.csv/.tsv/.sdf, optionally .gz, .parquet).
    #[arg(long)]
    pub library: PathBuf,
    /// SMILES column of a CSV/TSV library.
    #[arg(long)]
    pub smiles_column: Option<String>,
    /// Identifier column of the library (it keys `--signatures`).
    #[arg(long)]
    pub id_column: Option<String>,
    /// Measured signatures of library compounds (one per row, keyed by the library's ids;
    /// genes as columns, Entrez ids as in the reference data).
    #[arg(long)]
    pub signatures: Option<PathBuf>,
    /// Structure → signature model for compounds without a measured signature (a
    /// `train-signatures` D-MPNN folder or neighbour file).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Reference data: profiled compounds, their signatures and known indications.
    #[arg(long, default_value = "../shared/data")]
    pub data: PathBuf,
    /// Keep diseases with at least this many profiled disease-modifying drugs.
    #[arg(long, default_value_t = 10)]
    pub min_drugs: usize,
    /// Neighbour models.
    #[command(flatten)]
    pub neighbors: NeighborArgs,
    /// Diseases named per compound in the `top` column.
    #[arg(long, default_value_t = 3)]
    pub top: usize,
    /// Output TSV: row, id, smiles, evidence, top, reference (ids of reference compounds with
    /// the same constitution, left out of its votes), known (their known indications), one
    /// column per disease, error.
    #[arg(long)]
    pub out: PathBuf,
    /// The size limit of the library's molecules.
    #[command(flatten)]
    pub limits: super::columns::MoleculeLimitArgs,
}

/// Runs `moltx indications`.
pub fn run(args: &IndicationsArgs) -> anyhow::Result<()> {
    let references = load_references(&args.data, args.min_drugs, &args.neighbors.search())
        .with_context(|| format!("reading the reference data in {}", args.data.display()))?;
    let measured = args
        .signatures
        .as_ref()
        .map(|p| {
            read_signatures(p, Layout::Rows).with_context(|| format!("reading {}", p.display()))
        })
        .transpose()?;
    let device = Device::flex();
    let predictor = args
        .model
        .as_ref()
        .map(|p| load_any(p, &device))
        .transpose()?;
    let file = std::fs::File::create(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let mut w = std::io::BufWriter::new(file);
    let diseases = references.model.diseases.clone();
    let header: Vec<String> = diseases
        .iter()
        .map(|d| d.replace(['\t', '\n'], " "))
        .collect();
    writeln!(
        w,
        "row\tid\tsmiles\tevidence\ttop\treference\tknown\t{}\terror",
        header.join("\t")
    )?;
    let (mut counts, mut failed, mut known) = ([0usize; 3], 0usize, 0usize);
    predict_library_indications::<anyhow::Error>(
        &references,
        &args.library,
        &LibraryOptions {
            smiles_column: args.smiles_column.clone(),
            id_column: args.id_column.clone(),
        },
        SignatureSources {
            measured: measured.as_ref(),
            predictor: predictor.as_deref().map(|p| (p, &device)),
        },
        1024,
        args.limits.max_atoms,
        &mut |chunk| {
            for p in chunk {
                let mut order: Vec<usize> = (0..p.scores.len()).collect();
                order.sort_by(|&a, &b| p.scores[b].total_cmp(&p.scores[a]).then(a.cmp(&b)));
                let top: Vec<String> = order
                    .iter()
                    .take(args.top)
                    .map(|&j| format!("{} ({:.2})", diseases[j], p.scores[j]))
                    .collect();
                let scores: Vec<String> = if p.scores.is_empty() {
                    vec![String::new(); diseases.len()]
                } else {
                    p.scores.iter().map(|s| format!("{s:.4}")).collect()
                };
                match (&p.error, p.evidence) {
                    (Some(_), _) => failed += 1,
                    (None, IndicationEvidence::Structure) => counts[0] += 1,
                    (None, IndicationEvidence::StructureMeasured) => counts[1] += 1,
                    (None, IndicationEvidence::StructurePredicted) => counts[2] += 1,
                }
                known += usize::from(!p.reference_ids.is_empty());
                writeln!(
                    w,
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    p.row,
                    p.id,
                    p.smiles,
                    if p.error.is_some() {
                        ""
                    } else {
                        p.evidence.name()
                    },
                    top.join("; "),
                    p.reference_ids.join(";"),
                    p.known.join("; ").replace(['\t', '\n'], " "),
                    scores.join("\t"),
                    p.error.as_deref().unwrap_or("").replace(['\t', '\n'], " ")
                )?;
            }
            Ok(())
        },
    )?;
    w.flush()?;
    println!(
        "scored {} compounds for {} diseases against {} profiled references: {} from structure, \
         {} with a measured signature, {} with a predicted one; {failed} could not be scored; \
         reference compounds among them: {known} (scored without their own vote) → {}",
        counts.iter().sum::<usize>(),
        diseases.len(),
        references.n_references,
        counts[0],
        counts[1],
        counts[2],
        args.out.display()
    );
    Ok(())
}
