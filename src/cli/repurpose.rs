//! `moltx repurpose`: rank profiled compounds (measured signatures) and library compounds
//! (signatures predicted from structure) by reversal of a disease signature, in one table.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use burn::tensor::Device;

use crate::data::LibraryOptions;
use crate::expr::matrix::{Layout, read_signatures};
use crate::expr::query::read_query;
use crate::expr::{GeneTable, Score, ScoreParams};
use crate::link::load_any;
use crate::repurpose::{
    Candidate, Evidence, RepurposeOptions, keep_best, rank_library, rank_measured, sort_candidates,
};

/// Flags of `moltx repurpose`.
#[derive(Debug, clap::Args)]
pub struct RepurposeArgs {
    /// Disease signature: STARGEO table, up/down gene lists, GMT pair, or a signature.
    #[arg(long)]
    pub disease: PathBuf,
    /// Measured signatures of profiled compounds (one per row, genes as columns; GCT/GCTX too).
    #[arg(long)]
    pub signatures: Option<PathBuf>,
    /// Structure → signature model for library compounds: a D-MPNN model file or folder
    /// (`train-signatures`' `seed_<s>/`), or a nearest-neighbour file
    /// (`seed_<s>/neighbors/neighbors.moltx`).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Library of compounds without signatures (.smi/.csv/.tsv/.sdf, optionally .gz, .parquet).
    #[arg(long, requires = "model")]
    pub library: Option<PathBuf>,
    /// SMILES column of a CSV/TSV library.
    #[arg(long)]
    pub smiles_column: Option<String>,
    /// Id column of a CSV/TSV library.
    #[arg(long)]
    pub id_column: Option<String>,
    /// Connectivity score: wtcs, ks, xsum, cosine, pearson, spearman.
    #[arg(long, default_value = "wtcs")]
    pub score: String,
    /// Up and down genes taken from the disease signature.
    #[arg(long, default_value_t = 150)]
    pub n_genes: usize,
    /// Gene table mapping symbols/probes to Entrez ids (genes.tsv).
    #[arg(long)]
    pub gene_table: Option<PathBuf>,
    /// Keep only the N best candidates.
    #[arg(long)]
    pub top: Option<usize>,
    /// Output TSV: rank, id, smiles, evidence, score, error.
    #[arg(long)]
    pub out: PathBuf,
    /// The size limit of the library's molecules.
    #[command(flatten)]
    pub limits: super::columns::MoleculeLimitArgs,
}

/// Runs `moltx repurpose`.
pub fn run(args: &RepurposeArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.signatures.is_some() || args.library.is_some(),
        "give --signatures (profiled compounds) and/or --library with --model"
    );
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
        library: LibraryOptions {
            smiles_column: args.smiles_column.clone(),
            id_column: args.id_column.clone(),
        },
        max_heavy_atoms: args.limits.max_atoms,
        ..RepurposeOptions::default()
    };
    let mut candidates: Vec<Candidate> = Vec::new();
    // Counted as they arrive: the list itself is pruned to the best while streaming.
    let mut counts = CandidateCounts::default();
    if let Some(path) = &args.signatures {
        let measured = read_signatures(path, Layout::Rows)
            .with_context(|| format!("reading {}", path.display()))?;
        let ranked = rank_measured(&disease, &measured, table.as_ref(), &options)?;
        counts.add(&ranked);
        candidates.extend(ranked);
    }
    if let (Some(library), Some(model)) = (&args.library, &args.model) {
        let device = Device::flex();
        let predictor = load_any(model, &device)?;
        let top = args.top;
        rank_library::<anyhow::Error>(
            &disease,
            library,
            predictor,
            table.as_ref(),
            &options,
            &device,
            &mut |chunk| {
                counts.add(&chunk);
                candidates.extend(chunk);
                if let Some(n) = top
                    && candidates.len() > 4 * n.max(1024)
                {
                    keep_best(&mut candidates, n); // bounded memory
                }
                Ok(())
            },
        )?;
    }
    sort_candidates(&mut candidates);
    let CandidateCounts {
        measured,
        predicted,
        failed,
    } = counts;
    if let Some(n) = args.top {
        keep_best(&mut candidates, n);
    }
    let file = std::fs::File::create(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let mut w = std::io::BufWriter::new(file);
    writeln!(
        w,
        "rank\tid\tsmiles\tevidence\t{}\terror",
        options.score.name()
    )?;
    for (i, c) in candidates.iter().enumerate() {
        let score = if c.score.is_nan() {
            String::new()
        } else {
            format!("{:.6}", c.score)
        };
        let rank = if c.error.is_some() {
            String::new()
        } else {
            (i + 1).to_string()
        };
        let error = c.error.as_deref().unwrap_or("").replace(['\t', '\n'], " ");
        writeln!(
            w,
            "{rank}\t{}\t{}\t{}\t{score}\t{error}",
            c.id,
            c.smiles,
            c.evidence.name()
        )?;
    }
    w.flush()?;
    println!(
        "ranked {measured} profiled compounds (measured signatures) and {predicted} library \
         compounds (predicted signatures; {failed} could not be scored) by {} reversal → {}",
        options.score.name(),
        args.out.display()
    );
    for (i, c) in candidates.iter().take(10).enumerate() {
        println!(
            "  {:>2}. {:<24} {:<9} {:+.4}",
            i + 1,
            c.id,
            c.evidence.name(),
            c.score
        );
    }
    Ok(())
}

/// How many candidates of each kind were ranked (counted before any pruning to the best).
#[derive(Debug, Default, Clone, Copy)]
struct CandidateCounts {
    measured: usize,
    predicted: usize,
    failed: usize,
}

impl CandidateCounts {
    fn add(&mut self, candidates: &[Candidate]) {
        for c in candidates {
            match c.evidence {
                Evidence::Measured => self.measured += 1,
                Evidence::Predicted => self.predicted += 1,
            }
            self.failed += usize::from(c.error.is_some());
        }
    }
}
