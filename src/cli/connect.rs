//! `moltx connect`: rank reference signatures by connectivity to a query.

use crate::expr::connectivity::{AlignedQuery, Score, ScoreParams};
use crate::expr::genespace::GeneTable;
use crate::expr::matrix::{Layout, read_signatures};
use crate::expr::normalize::{ConnectOptions, connect, group_ids};
use crate::expr::query::{align_query, read_query};
use crate::expr::ranked::RankedReferences;
use anyhow::Context;
use std::io::Write;
use std::path::PathBuf;

/// Ranking order of the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Order {
    /// Most negative first: the references that reverse the query.
    Reverse,
    /// Most positive first: the references that mimic the query.
    Mimic,
}

/// Orientation of delimited matrix files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LayoutArg {
    /// One signature per row.
    Rows,
    /// One signature per column.
    Columns,
}

impl From<LayoutArg> for Layout {
    fn from(l: LayoutArg) -> Layout {
        match l {
            LayoutArg::Rows => Layout::Rows,
            LayoutArg::Columns => Layout::Columns,
        }
    }
}

/// Flags of `moltx connect`.
#[derive(Debug, Clone, clap::Args)]
pub struct ConnectArgs {
    /// Query: .gmt with `<name>_up`/`<name>_dn` sets, an up/down TSV (direction column),
    /// a STARGEO disease TSV, a two-column `gene<TAB>value` table, or a signature file
    /// (.gct/.gctx/.tsv[.gz]).
    #[arg(long)]
    pub query: PathBuf,
    /// Reference signatures (.gct, .gctx, .tsv/.csv[.gz]).
    #[arg(long)]
    pub reference: PathBuf,
    /// Connectivity score.
    #[arg(long, default_value = "wtcs", value_parser = ["wtcs", "ks", "xsum", "cosine", "pearson", "spearman"])]
    pub score: String,
    /// Output ranking (TSV).
    #[arg(long)]
    pub out: PathBuf,
    /// Keep only the first N rows of the ranking.
    #[arg(long)]
    pub top: Option<usize>,
    /// Ranking order.
    #[arg(long, value_enum, default_value_t = Order::Reverse)]
    pub order: Order,
    /// Up and down genes taken from a signature or disease query.
    #[arg(long, default_value_t = 150)]
    pub n_genes: usize,
    /// Layout of delimited reference/query matrices.
    #[arg(long, value_enum, default_value_t = LayoutArg::Rows)]
    pub layout: LayoutArg,
    /// Query (GMT pair or signature id) to use when the file holds several.
    #[arg(long)]
    pub query_name: Option<String>,
    /// Gene table mapping symbols/probes to Entrez ids (genes.tsv, geneinfo.tsv.gz).
    #[arg(long)]
    pub gene_table: Option<PathBuf>,
    /// Reference metadata fields defining NCS groups, comma-separated (e.g. cell_id,pert_type).
    #[arg(long, value_delimiter = ',')]
    pub group_by: Vec<String>,
    /// Random background queries for tau (WTCS; 0 disables tau).
    #[arg(long, default_value_t = 1000)]
    pub tau_background: usize,
    /// Seed of the tau background.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// XSum: number of top and bottom reference genes.
    #[arg(long, default_value_t = 100)]
    pub xsum_n: usize,
}

/// Runs `moltx connect`.
pub fn run(args: &ConnectArgs) -> anyhow::Result<()> {
    let score = Score::parse(&args.score)?;
    let layout: Layout = args.layout.into();
    let table = match &args.gene_table {
        Some(p) => Some(GeneTable::read(p)?),
        None => None,
    };
    let reference = read_signatures(&args.reference, layout)
        .with_context(|| format!("reading reference {}", args.reference.display()))?;
    let mut genes = (*reference.genes).clone();
    for field in ["pr_gene_id", "pr_gene_symbol"] {
        if let Some(v) = reference.gene_meta.field(field) {
            genes.add_aliases(v)?;
        }
    }
    if let Some(t) = &table {
        genes.add_table_aliases(t);
    }
    let input = read_query(&args.query, args.query_name.as_deref(), layout)
        .with_context(|| format!("reading query {}", args.query.display()))?;
    let query: AlignedQuery = align_query(&input, &genes, table.as_ref(), args.n_genes)?;
    if let Some(al) = &query.alignment {
        eprintln!(
            "query '{}': {} of {} genes matched the reference ({} genes); using {} up, {} down",
            query.name,
            al.matched,
            al.positions.len(),
            genes.len(),
            query.up.len(),
            query.down.len()
        );
    }
    let refs = RankedReferences::from_matrix(&reference)?;
    let opts = ConnectOptions {
        params: ScoreParams {
            xsum_n: args.xsum_n,
        },
        groups: group_ids(&reference.meta, &args.group_by, reference.n_signatures())?,
        tau_background: args.tau_background,
        seed: args.seed,
    };
    let result = connect(&query, &refs, score, &opts)?;
    let key = result.normalized.as_ref().unwrap_or(&result.raw);
    let mut order: Vec<usize> = (0..result.raw.len()).collect();
    order.sort_by(|&a, &b| {
        let c = key[a]
            .total_cmp(&key[b])
            .then(result.raw[a].total_cmp(&result.raw[b]));
        if args.order == Order::Mimic {
            c.reverse()
        } else {
            c
        }
    });
    order.truncate(args.top.unwrap_or(usize::MAX));
    let norm_name = if score == Score::Ks {
        "normalized"
    } else {
        "ncs"
    };
    let file = std::fs::File::create(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let mut w = std::io::BufWriter::new(file);
    write!(w, "id\t{}", score.name())?;
    if result.normalized.is_some() {
        write!(w, "\t{norm_name}")?;
    }
    if result.tau.is_some() {
        write!(w, "\ttau")?;
    }
    writeln!(w)?;
    for &r in &order {
        write!(w, "{}\t{:.6}", reference.ids[r], result.raw[r])?;
        if let Some(n) = &result.normalized {
            write!(w, "\t{:.6}", n[r])?;
        }
        if let Some(t) = &result.tau {
            write!(w, "\t{:.2}", t[r])?;
        }
        writeln!(w)?;
    }
    w.flush()?;
    eprintln!("wrote {} rows to {}", order.len(), args.out.display());
    Ok(())
}
