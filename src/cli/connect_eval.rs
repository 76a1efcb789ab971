//! `moltx connect-eval`: drug-repurposing evaluation of the connectivity
//! scores on the shared real data (six disease signatures × 1,170 compounds).

use crate::eval::reversal::{EvalConfig, EvalRow, evaluate_reversal_of, mean_auc};
use crate::expr::connectivity::{Score, ScoreParams};
use crate::expr::matrix::{Layout, read_matrix};
use anyhow::Context;
use std::path::PathBuf;

/// Flags of `moltx connect-eval`.
#[derive(Debug, Clone, clap::Args)]
pub struct ConnectEvalArgs {
    /// Reference data: consensus signatures, disease signatures, indications.
    #[command(flatten)]
    pub data: super::data_args::DataArgs,
    /// Up and down genes per disease query.
    #[arg(long, default_value_t = 150)]
    pub n_genes: usize,
    /// Label permutations for the random baseline spread.
    #[arg(long, default_value_t = 1000)]
    pub permutations: usize,
    /// Seed of the permutations.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// XSum: number of top and bottom reference genes.
    #[arg(long, default_value_t = 100)]
    pub xsum_n: usize,
    /// Signatures to rank (one row per DrugBank compound, genes as columns, e.g. the
    /// `predicted_signatures.tsv` of `repurpose-eval`); default: the measured consensus
    /// signatures of the data folder.
    #[arg(long)]
    pub signatures: Option<PathBuf>,
    /// Score only these (a comma-separated list of ks, wtcs, tau, xsum, cosine); default all.
    #[arg(long, value_delimiter = ',')]
    pub scores: Vec<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Runs `moltx connect-eval`.
pub fn run(args: &ConnectEvalArgs) -> anyhow::Result<()> {
    let data = if args.signatures.is_some() {
        args.data.resolve(&["diseases", "indications"])?
    } else {
        args.data
            .resolve(&["l1000-consensus", "diseases", "indications"])?
    };
    let scores = if args.scores.is_empty() {
        Score::ALL.to_vec()
    } else {
        args.scores
            .iter()
            .map(|s| Score::parse(s))
            .collect::<Result<Vec<_>, _>>()?
    };
    let cfg = EvalConfig {
        n_genes: args.n_genes,
        scores,
        permutations: args.permutations,
        seed: args.seed,
        params: ScoreParams {
            xsum_n: args.xsum_n,
        },
    };
    let signatures = args
        .signatures
        .clone()
        .unwrap_or_else(|| crate::data::SharedData::new(&data).consensus_signatures());
    let matrix = read_matrix(&signatures, Layout::Rows)
        .with_context(|| format!("reading {}", signatures.display()))?;
    let rows = evaluate_reversal_of(&matrix, &data, &cfg)
        .with_context(|| format!("evaluating on {}", data.display()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    println!(
        "{:<40} {:<9} {:>4} {:>7} {:>7} {:>16} {:>7} {:>7} {:>16}",
        "disease", "score", "DM", "AUC", "p", "null AUC (sd)", "AP", "prev", "null AP (sd)"
    );
    for r in &rows {
        println!(
            "{:<40} {:<9} {:>4} {:>7.3} {:>7.3} {:>9.3} ({:.3}) {:>7.3} {:>7.3} {:>9.3} ({:.3})",
            format!("{} {}", r.doid, r.disease),
            r.score,
            r.n_positives,
            r.auc,
            r.auc_null.p_value,
            r.auc_null.mean,
            r.auc_null.sd,
            r.ap,
            r.prevalence,
            r.ap_null.mean,
            r.ap_null.sd
        );
    }
    for score in &cfg.scores {
        let rows: Vec<&EvalRow> = rows.iter().filter(|r| r.score == score.name()).collect();
        let m = mean_auc(&rows, cfg.seed);
        println!(
            "{:<9} mean AUC over {} diseases {:.3}, 95% bootstrap CI [{:.3}, {:.3}] \
             (one-sided permutation p {:.3}); random 0.5 ± {:.3} (95%)",
            score.name(),
            rows.len(),
            m.mean,
            m.ci_95.0,
            m.ci_95.1,
            m.p_value,
            m.random_95
        );
    }
    Ok(())
}
