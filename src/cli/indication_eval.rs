//! `moltx indication-eval`: predict drugs' disease-modifying indications from structure, from
//! measured signatures, and from both, on the same scaffold splits (shared data).

use std::path::PathBuf;

use anyhow::Context;
use burn::tensor::Device;
use indicatif::{ProgressBar, ProgressStyle};

use super::train_encoder::SignatureInputArgs;
use super::train_signatures::NeighborArgs;
use crate::eval::indication_neighbors::run_neighbor_indications;
use crate::eval::indications::{
    IndicationResult, Method, Modality, SignatureSide, run_indication_eval,
};
use crate::eval::paired::{fused_margins, per_seed_aucs};
use crate::expr::GeneSpace;
use crate::expr::matrix::{Layout, read_signatures};
use crate::expr::pathway::SignatureInput;
use crate::link::profiled::values_in;
use crate::link::profiled::{ProfiledCompounds, read_indications, read_profiled_data};
use crate::metrics::mean_and_sd;
use crate::model::signature_file::SignatureEncoderFile;
use crate::model::{FeatureEncoderConfig, ModelConfig, ModelKind};
use crate::train::trainer::TrainOptions;

/// Network that reads the structure in `indication-eval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StructureNetwork {
    /// D-MPNN on the molecular graph.
    Dmpnn,
    /// Feed-forward network on Morgan fingerprint bits (radius 2, 2048 bits).
    FfnMorgan,
}

/// Which models `indication-eval` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Methods {
    /// Trained networks (D-MPNN, signature encoder).
    Network,
    /// Similarity-weighted nearest neighbours (seconds).
    Neighbors,
    /// Both, on the same splits.
    Both,
}

/// Flags of `moltx indication-eval`.
#[derive(Debug, clap::Args)]
pub struct IndicationEvalArgs {
    /// The reference data (`moltx data fetch l1000-consensus indications pathways`).
    #[command(flatten)]
    pub data: super::data_args::DataArgs,
    /// Keep diseases with at least this many profiled disease-modifying drugs.
    #[arg(long, default_value_t = 10)]
    pub min_drugs: usize,
    /// Seeds 0..N (split and models).
    #[arg(long, default_value_t = 3)]
    pub seeds: u64,
    /// Epochs per model.
    #[arg(long, default_value_t = 50)]
    pub epochs: usize,
    /// Signature input (genes, pathway scores or both) when no `--encoder` is given; gene sets
    /// default to `<data>/genesets/pathways.tsv`.
    #[command(flatten)]
    pub input: SignatureInputArgs,
    /// Embedding width of a signature encoder trained with each model (0: the standardized
    /// inputs go to the head as they are).
    #[arg(long, default_value_t = 0)]
    pub encoder_embedding: usize,
    /// Hidden width of that encoder.
    #[arg(long, default_value_t = 512)]
    pub encoder_hidden: usize,
    /// A pretrained encoder file (`moltx train-encoder --save`): its inputs, scaling and
    /// architecture, with its weights as the starting point.
    #[arg(long, conflicts_with = "encoder_embedding")]
    pub encoder: Option<PathBuf>,
    /// Signatures predicted from structure by models that never saw the compound (one row
    /// per compound id, e.g. `repurpose-eval`'s predicted_signatures.tsv): adds the
    /// fused-predicted evaluation.
    #[arg(long)]
    pub predicted_signatures: Option<PathBuf>,
    /// Output JSON.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Network reading the structure (structure-only and fused models). Morgan bits by
    /// default: on the shared data the D-MPNN scores below 0.5 on this task.
    #[arg(long, value_enum, default_value = "ffn-morgan")]
    pub structure_model: StructureNetwork,
    /// Architecture of the networks.
    #[command(flatten)]
    pub architecture: super::columns::ArchitectureArgs,
    /// Models: trained networks, nearest neighbours, or both.
    #[arg(long, value_enum, default_value = "both")]
    pub method: Methods,
    /// Nearest-neighbour models.
    #[command(flatten)]
    pub neighbors: NeighborArgs,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// Runs `moltx indication-eval`.
pub fn run(args: &IndicationEvalArgs) -> anyhow::Result<()> {
    let data = args.data.resolve(&["l1000-consensus", "indications"])?;
    let profiled = read_profiled_data(&data)?;
    let labels = read_indications(
        &crate::data::SharedData::new(&data).indications(),
        &profiled,
        args.min_drugs,
    )?;
    let t = labels.diseases.len();
    let positives = labels.labels.iter().filter(|&&v| v > 0.0).count();
    println!(
        "{} compounds (structure + signature), {t} diseases with ≥{} disease-modifying drugs \
         ({positives} positive labels); scaffold split 80/10/10",
        profiled.table.len(),
        args.min_drugs
    );
    let signatures = signature_side(args, &profiled)?;
    let seeds: Vec<u64> = (0..args.seeds.max(1)).collect();
    let modalities: Vec<Modality> = [
        Modality::Structure,
        Modality::Signature,
        Modality::Fused,
        Modality::FusedPredicted,
    ]
    .into_iter()
    .filter(|&m| m != Modality::FusedPredicted || signatures.predicted.is_some())
    .collect();
    let mut results = Vec::new();
    if args.method != Methods::Neighbors {
        let bar = if args.quiet {
            ProgressBar::hidden()
        } else {
            ProgressBar::new((seeds.len() * modalities.len() * args.epochs) as u64)
        };
        bar.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} epochs {msg} [{elapsed_precise}]")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        let options = TrainOptions {
            epochs: args.epochs,
            ..TrainOptions::default()
        };
        let kind = match args.structure_model {
            StructureNetwork::Dmpnn => ModelKind::Dmpnn,
            StructureNetwork::FfnMorgan => ModelKind::FfnMorgan,
        };
        let mut network = ModelConfig::defaults(kind, 0);
        args.architecture.apply(&mut network);
        results.extend(run_indication_eval(
            &profiled,
            &labels,
            &signatures,
            &seeds,
            &options,
            &network,
            &Device::flex(),
            &mut |s, m, r| {
                bar.set_message(format!("seed {s} {m:?} epoch {}", r.epoch));
                bar.inc(1);
            },
        )?);
        bar.finish_and_clear();
    }
    if args.method != Methods::Network {
        results.extend(run_neighbor_indications(
            &profiled,
            &labels,
            &signatures,
            &seeds,
            &args.neighbors.search(),
        )?);
    }
    print_results(&results, &modalities)?;
    if let Some(out) = &args.out {
        std::fs::write(out, serde_json::to_string_pretty(&results)?)?;
    }
    Ok(())
}

/// Mean ± sd over seeds per (method, inputs), and per method the paired margin of the fused
/// model over the better single modality.
fn print_results(results: &[IndicationResult], modalities: &[Modality]) -> anyhow::Result<()> {
    let name = |v: serde_json::Value| v.as_str().unwrap_or("?").to_string();
    let per_seed = |method, modality| per_seed_aucs(results, method, modality);
    println!(
        "{:<10} {:<16} {:>14} {:>30}",
        "model", "inputs", "test ROC-AUC", "per seed"
    );
    for method in [Method::Network, Method::Neighbors] {
        let structure = per_seed(method, Modality::Structure);
        if structure.is_empty() {
            continue;
        }
        for &modality in modalities {
            let values = per_seed(method, modality);
            let (mean, sd) = mean_and_sd(&values);
            let each: Vec<String> = values.iter().map(|v| format!("{v:.3}")).collect();
            println!(
                "{:<10} {:<16} {:>14} {:>30}",
                name(serde_json::to_value(method)?),
                name(serde_json::to_value(modality)?),
                format!("{mean:.3}±{sd:.3}"),
                each.join(" ")
            );
        }
        let margins = fused_margins(results, method);
        let (mean, sd) = mean_and_sd(&margins);
        println!(
            "{:<10} fused − better single modality, paired per seed: {mean:+.3} ± {sd:.3}",
            name(serde_json::to_value(method)?)
        );
    }
    let votes: Vec<_> = results
        .iter()
        .filter(|r| r.modality == Modality::Structure)
        .filter_map(|r| r.votes)
        .collect();
    if !votes.is_empty() {
        let each = |m: usize| -> String {
            votes
                .iter()
                .map(|v| format!("{}/{}", v[m].k, v[m].power))
                .collect::<Vec<_>>()
                .join(" ")
        };
        println!(
            "neighbours k/p per seed (leave-one-out on the references): structure {}; signature {}",
            each(0),
            each(1)
        );
    }
    Ok(())
}

/// Per-compound signature inputs and the encoder the flags ask for.
fn signature_side(
    args: &IndicationEvalArgs,
    profiled: &ProfiledCompounds,
) -> anyhow::Result<SignatureSide> {
    let table = &profiled.table;
    let g = table.n_tasks();
    let genes = GeneSpace::new(table.task_names.clone())?;
    let pretrained = args
        .encoder
        .as_ref()
        .map(|path| SignatureEncoderFile::load(path, &Device::flex()))
        .transpose()?;
    let featurizer = match &pretrained {
        Some(file) => file.header.featurizer.clone(),
        None => {
            // Pathway input defaults to the shared pathway collection.
            let mut input = args.input.clone();
            if input.input != SignatureInput::Genes && input.gene_sets.is_none() {
                let data = args.data.resolve(&["pathways"])?;
                input.gene_sets = Some(crate::data::SharedData::new(&data).pathways());
            }
            input.featurizer(&genes)?
        }
    };
    let featurize = |values: &[f64]| -> anyhow::Result<Vec<f32>> {
        Ok(featurizer.featurize(&values_in(&featurizer.genes, &genes, values))?)
    };
    let measured: Vec<Vec<f32>> = table
        .targets
        .chunks(g)
        .map(|row| featurize(&row.iter().map(|&v| f64::from(v)).collect::<Vec<_>>()))
        .collect::<anyhow::Result<_>>()?;
    let predicted = match &args.predicted_signatures {
        None => None,
        Some(path) => {
            let m = read_signatures(path, Layout::Rows)
                .with_context(|| format!("reading {}", path.display()))?;
            let rows = profiled
                .ids
                .iter()
                .map(|id| {
                    let s = m.position(id).with_context(|| {
                        format!("{}: no predicted signature for {id}", path.display())
                    })?;
                    featurize(&values_in(genes.ids(), &m.genes, m.column(s)))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            Some(rows)
        }
    };
    let (encoder, pretrained) = match pretrained {
        Some(file) => (
            Some(FeatureEncoderConfig {
                hidden: file.header.config.hidden,
                layers: file.header.config.layers,
                embedding: file.header.config.embedding,
                passthrough: 0,
            }),
            Some((file.net.encoder, file.header.scaling)),
        ),
        None => (
            (args.encoder_embedding > 0).then_some(FeatureEncoderConfig {
                hidden: args.encoder_hidden,
                layers: 1,
                embedding: args.encoder_embedding,
                passthrough: 0,
            }),
            None,
        ),
    };
    println!(
        "signature input: {} values per compound ({:?}){}",
        featurizer.len(),
        featurizer.input,
        match &encoder {
            Some(e) => format!(", encoded to {} before the head", e.embedding),
            None => String::new(),
        }
    );
    Ok(SignatureSide {
        measured,
        predicted,
        names: featurizer.names(),
        encoder,
        pretrained,
    })
}
