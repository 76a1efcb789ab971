//! `moltx train-encoder`: train the signature encoder as a denoising autoencoder on gene-level
//! values, pathway scores or both, report its held-out reconstruction error against the
//! mean-signature baseline, save it as an encoder file, and optionally write every
//! signature's embedding.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::tensor::Device;

use crate::expr::matrix::{Layout, read_signatures};
use crate::expr::pathway::{PathwayScorer, SignatureFeaturizer, SignatureInput, read_gene_sets};
use crate::expr::{GeneSpace, GeneTable};
use crate::link::profiled::values_in;
use crate::model::signature::{DenoisingOptions, SignatureEncoderConfig};
use crate::train::encoder_job::{EncoderJob, fit_encoder};

/// Flags that choose a signature encoder's input (shared with `indication-eval`).
#[derive(Debug, Clone, clap::Args)]
pub struct SignatureInputArgs {
    /// Encoder input: gene values, pathway scores, or both.
    #[arg(long, value_enum, default_value = "genes")]
    pub input: SignatureInput,
    /// Gene-set collection for pathway input: a GMT file or a pathway table with
    /// `|`-separated genes (e.g. genesets/pathways.tsv).
    #[arg(long)]
    pub gene_sets: Option<PathBuf>,
    /// Gene table mapping symbols to Entrez ids (e.g. expression/genes.tsv), for gene sets
    /// named by symbol.
    #[arg(long)]
    pub gene_table: Option<PathBuf>,
    /// Keep gene sets with at least this many genes in the signature's gene space.
    #[arg(long, default_value_t = 5)]
    pub min_genes: usize,
}

impl SignatureInputArgs {
    /// The featurizer these flags describe, for signatures over `genes`.
    pub fn featurizer(&self, genes: &GeneSpace) -> anyhow::Result<SignatureFeaturizer> {
        let pathways = match &self.gene_sets {
            Some(path) => Some(pathway_scorer(
                path,
                genes,
                self.gene_table.as_deref(),
                self.min_genes,
            )?),
            None => None,
        };
        anyhow::ensure!(
            self.input == SignatureInput::Genes || pathways.is_some(),
            "--input {:?} needs --gene-sets",
            self.input
        );
        Ok(SignatureFeaturizer::new(
            self.input,
            genes.ids().to_vec(),
            pathways,
        )?)
    }
}

fn pathway_scorer(
    path: &Path,
    genes: &GeneSpace,
    table: Option<&Path>,
    min_genes: usize,
) -> anyhow::Result<PathwayScorer> {
    let sets = read_gene_sets(path).with_context(|| format!("reading {}", path.display()))?;
    let table = table
        .map(|t| GeneTable::read(t).with_context(|| format!("reading {}", t.display())))
        .transpose()?;
    let scorer = PathwayScorer::new(&sets, genes, table.as_ref(), min_genes);
    anyhow::ensure!(
        !scorer.is_empty(),
        "{}: none of {} gene sets has {min_genes} genes in the signatures' gene space",
        path.display(),
        sets.len()
    );
    eprintln!(
        "{}: {} of {} gene sets have ≥{min_genes} of the {} genes",
        path.display(),
        scorer.len(),
        sets.len(),
        genes.len()
    );
    Ok(scorer)
}

/// Flags of `moltx train-encoder`.
#[derive(Debug, clap::Args)]
pub struct TrainEncoderArgs {
    /// Signatures, one per row, genes as columns (e.g. consensi-drugbank.tsv.gz).
    #[arg(long)]
    pub signatures: PathBuf,
    /// Encoder input.
    #[command(flatten)]
    pub input: SignatureInputArgs,
    /// Epochs.
    #[arg(long, default_value_t = 50)]
    pub epochs: usize,
    /// Hidden width.
    #[arg(long, default_value_t = 512)]
    pub hidden: usize,
    /// Embedding width.
    #[arg(long, default_value_t = 128)]
    pub embedding: usize,
    /// Probability of zeroing each input value (denoising).
    #[arg(long, default_value_t = 0.2)]
    pub mask: f64,
    /// Fraction of signatures held out to measure reconstruction.
    #[arg(long, default_value_t = 0.1)]
    pub holdout: f64,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Encoder file to write (reusable by `indication-eval --encoder`).
    #[arg(long)]
    pub save: Option<PathBuf>,
    /// Output CSV of embeddings (`id,e0,e1,...`).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Runs `moltx train-encoder`.
pub fn run(args: &TrainEncoderArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.save.is_some() || args.out.is_some(),
        "nothing to write: give --save FILE and/or --out EMBEDDINGS.csv"
    );
    let m = read_signatures(&args.signatures, Layout::Rows)
        .with_context(|| format!("reading {}", args.signatures.display()))?;
    let job = EncoderJob {
        featurizer: args.input.featurizer(&m.genes)?,
        config: SignatureEncoderConfig {
            hidden: args.hidden,
            embedding: args.embedding,
            ..SignatureEncoderConfig::defaults(0)
        },
        options: DenoisingOptions {
            epochs: args.epochs,
            mask_probability: args.mask,
            seed: args.seed,
            ..DenoisingOptions::default()
        },
        holdout: args.holdout,
    };
    let device = Device::flex();
    let (encoder, report) = fit_encoder(&m, &job, &device, &mut |_, _| {})?;
    println!(
        "{} signatures × {} inputs ({:?}); trained on {}, held out {}: reconstruction MSE \
         {:.4} (mean-signature baseline {:.4}); training loss {:.4} → {:.4}",
        m.n_signatures(),
        report.inputs,
        args.input.input,
        report.n_train,
        report.n_held,
        report.held_out_mse,
        report.mean_baseline_mse,
        report.loss_first,
        report.loss_last,
    );
    if let Some(path) = &args.save {
        encoder.save(path)?;
        println!("wrote encoder {}", path.display());
    }
    if let Some(out) = &args.out {
        let rows: Vec<Vec<f32>> = (0..m.n_signatures())
            .map(|s| {
                encoder.inputs(&values_in(
                    &encoder.header.featurizer.genes,
                    &m.genes,
                    m.column(s),
                ))
            })
            .collect::<Result<_, _>>()?;
        let e = encoder.embed(&rows, &device);
        let d = encoder.header.config.embedding;
        let mut w = std::io::BufWriter::new(
            std::fs::File::create(out).with_context(|| format!("creating {}", out.display()))?,
        );
        write!(w, "id")?;
        for j in 0..d {
            write!(w, ",e{j}")?;
        }
        writeln!(w)?;
        for (s, id) in m.ids.iter().enumerate() {
            write!(w, "{id}")?;
            for v in &e[s * d..(s + 1) * d] {
                write!(w, ",{v:.6}")?;
            }
            writeln!(w)?;
        }
        w.flush()?;
        println!("wrote {} embeddings to {}", m.n_signatures(), out.display());
    }
    Ok(())
}
