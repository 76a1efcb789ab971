//! `moltx indications`: score each compound of a library for the diseases of the shared data's
//! known drugs, from structural neighbours, fused with signature neighbours when the compound
//! has a measured (or predicted) signature. The library streams through the screening
//! pipeline (shards, resume, top-k, CSV/TSV/Parquet).

use std::path::PathBuf;

use anyhow::Context;
use burn::tensor::Device;

use super::stream::{StreamArgs, print_counts, run_stream};
use super::train_signatures::NeighborArgs;
use crate::expr::matrix::{Layout, read_signatures};
use crate::indications::{IndicationEvidence, IndicationScorer, load_references};
use crate::link::load_any;

/// Flags of `moltx indications`.
#[derive(Debug, clap::Args)]
pub struct IndicationsArgs {
    /// The library, the output (`row, id, smiles, <disease>…, evidence, top, reference,
    /// known, error`) and how to stream them; `--signatures` are measured signatures of
    /// library compounds, keyed by the library's ids (genes as columns, Entrez ids as in the
    /// reference data).
    #[command(flatten)]
    pub stream: StreamArgs,
    /// Structure → signature model for compounds without a measured signature (a
    /// `train-signatures` D-MPNN folder or neighbour file).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Reference data: profiled compounds, their signatures and known indications
    /// (`moltx data fetch l1000-consensus indications`).
    #[command(flatten)]
    pub data: super::data_args::DataArgs,
    /// Keep diseases with at least this many profiled disease-modifying drugs.
    #[arg(long, default_value_t = 10)]
    pub min_drugs: usize,
    /// Neighbour models.
    #[command(flatten)]
    pub neighbors: NeighborArgs,
    /// Diseases named per compound in the `top` column.
    #[arg(long, default_value_t = 3)]
    pub top: usize,
}

/// Runs `moltx indications`.
pub fn run(args: &IndicationsArgs) -> anyhow::Result<()> {
    let data = args.data.resolve(&["l1000-consensus", "indications"])?;
    let references = load_references(&data, args.min_drugs, &args.neighbors.search())
        .with_context(|| format!("reading the reference data in {}", data.display()))?;
    let (n_references, n_diseases) = (references.n_references, references.model.diseases.len());
    let device = Device::flex();
    let mut scorer = IndicationScorer::new(references, args.top, &device);
    if let Some(path) = &args.stream.signatures {
        let measured = read_signatures(path, Layout::Rows)
            .with_context(|| format!("reading {}", path.display()))?;
        scorer = scorer.with_measured(&measured);
    }
    if let Some(path) = &args.model {
        scorer = scorer.with_predictor(load_any(path, &device)?)?;
    }
    let summary = run_stream(&args.stream, &scorer, 0, &device)?;
    let count = |e: IndicationEvidence| summary.note_counts.get(e.name()).copied().unwrap_or(0);
    println!(
        "scored {} compounds for {n_diseases} diseases against {n_references} profiled \
         references: {} from structure, {} with a measured signature, {} with a predicted one \
         (compounds that are references are scored without their own vote)",
        summary.scored,
        count(IndicationEvidence::Structure),
        count(IndicationEvidence::StructureMeasured),
        count(IndicationEvidence::StructurePredicted),
    );
    print_counts(&args.stream.out, &summary);
    Ok(())
}
