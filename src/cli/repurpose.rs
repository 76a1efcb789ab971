//! `moltx repurpose`: rank profiled compounds (measured signatures) and library compounds
//! (signatures predicted from structure) by reversal of a disease signature, in one table.

use std::path::PathBuf;

use anyhow::Context;
use burn::tensor::Device;

use super::stream::{StreamFlags, print_counts, run_pipeline};
use crate::expr::matrix::{Layout, read_signatures};
use crate::expr::query::read_query;
use crate::expr::{GeneTable, Score, ScoreParams};
use crate::link::load_any;
use crate::repurpose::{
    Candidate, RepurposeOptions, candidate_layout, candidate_rows, library_scorer, rank_measured,
    sort_candidates,
};
use crate::screen::TopKOption;
use crate::screen::output::write_table;

/// Flags of `moltx repurpose`.
#[derive(Debug, clap::Args)]
pub struct RepurposeArgs {
    /// Disease signature: STARGEO table, up/down gene lists, GMT pair, or a signature.
    #[arg(long)]
    pub disease: PathBuf,
    /// Measured signatures of profiled compounds (one per row, genes as columns; GCT/GCTX
    /// too). Without it and without --library: the LINCS L1000 consensus signatures of the
    /// 1,170 profiled DrugBank compounds, from the reference data.
    #[arg(long)]
    pub signatures: Option<PathBuf>,
    /// Where the reference data is, when --signatures and --library are both absent
    /// (`moltx data fetch l1000-consensus`).
    #[command(flatten)]
    pub data: super::data_args::DataArgs,
    /// Structure → signature model for library compounds: a D-MPNN model file or folder
    /// (`train-signatures`' `seed_<s>/`), or a nearest-neighbour file
    /// (`seed_<s>/neighbors/neighbors.moltx`).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Library of compounds without signatures (.smi/.csv/.tsv/.sdf, optionally .gz,
    /// .parquet), streamed (shards, resume, Parquet output).
    #[arg(long, requires = "model")]
    pub library: Option<PathBuf>,
    /// Connectivity score: wtcs, ks, xsum, cosine, pearson, spearman.
    #[arg(long, default_value = "wtcs")]
    pub score: String,
    /// Up and down genes taken from the disease signature.
    #[arg(long, default_value_t = 150)]
    pub n_genes: usize,
    /// Gene table mapping symbols/probes to Entrez ids (genes.tsv).
    #[arg(long)]
    pub gene_table: Option<PathBuf>,
    /// Keep the N most reversing candidates, written best first; 0 keeps every candidate,
    /// profiled ones first, then the library's in input order (failed rows too).
    #[arg(long, default_value_t = 1000, overrides_with = "top")]
    pub top: usize,
    /// Output (.tsv, .csv or .parquet): row, id, smiles, <score>, evidence, error.
    #[arg(long)]
    pub out: PathBuf,
    /// How the library is read and streamed.
    #[command(flatten)]
    pub flow: StreamFlags,
}

/// Runs `moltx repurpose`.
pub fn run(args: &RepurposeArgs) -> anyhow::Result<()> {
    let table = match &args.gene_table {
        Some(p) => Some(GeneTable::read(p)?),
        None => None,
    };
    let disease = read_query(&args.disease, None, Layout::Rows)
        .with_context(|| format!("reading {}", args.disease.display()))?;
    let options = RepurposeOptions {
        score: Score::parse(&args.score)?,
        n_genes: args.n_genes,
        params: ScoreParams::default(),
    };
    let score_name = options.score.name();
    let mut measured: Vec<Candidate> = Vec::new();
    let consensus;
    let signatures = match (&args.signatures, &args.library) {
        (Some(path), _) => Some(path),
        (None, Some(_)) => None,
        (None, None) => {
            let data = args.data.resolve(&["l1000-consensus"])?;
            consensus = crate::data::SharedData::new(&data).consensus_signatures();
            Some(&consensus)
        }
    };
    if let Some(path) = signatures {
        let matrix = read_signatures(path, Layout::Rows)
            .with_context(|| format!("reading {}", path.display()))?;
        measured = rank_measured(&disease, &matrix, table.as_ref(), &options)?;
    }
    let (Some(library), Some(model)) = (&args.library, &args.model) else {
        // Profiled compounds only: ranked in memory.
        sort_candidates(&mut measured);
        if args.top > 0 {
            measured.truncate(args.top);
        }
        write_table(
            &args.out,
            &candidate_layout(options.score),
            &candidate_rows(&measured),
        )?;
        println!(
            "ranked {} profiled compounds (measured signatures) by {score_name} reversal → {}",
            measured.len(),
            args.out.display()
        );
        for (i, c) in measured.iter().take(10).enumerate() {
            println!(
                "  {:>2}. {:<24} {:<9} {:+.4}",
                i + 1,
                c.id,
                c.evidence.name(),
                c.score
            );
        }
        return Ok(());
    };
    let device = Device::flex();
    let scorer = library_scorer(
        &disease,
        load_any(model, &device)?,
        table.as_ref(),
        &options,
    )?;
    let top_k = (args.top > 0).then(|| TopKOption {
        k: args.top,
        task: score_name.to_string(),
        ascending: true,
    });
    let screen_options = crate::screen::ScreenOptions {
        leading_rows: candidate_rows(&measured),
        report_lowest: true,
        ..args.flow.options(top_k, 10)
    };
    let summary = run_pipeline(
        library,
        &args.out,
        &args.flow,
        &screen_options,
        &scorer,
        &device,
    )?;
    let failed: u64 = summary.failed.values().sum();
    println!(
        "ranked {} profiled compounds (measured signatures) and {} library compounds \
         (predicted signatures; {failed} could not be scored) by {score_name} reversal → {}",
        measured.len(),
        summary.rows_in_shard,
        args.out.display()
    );
    if let Some((_, best)) = summary.best_per_task.first() {
        for (i, row) in best.iter().enumerate() {
            println!(
                "  {:>2}. {:<24} {:<9} {:+.4}",
                i + 1,
                row.id,
                row.notes.first().map_or("", String::as_str),
                row.values.first().copied().unwrap_or(f64::NAN)
            );
        }
    }
    print_counts(&args.out, &summary);
    Ok(())
}
