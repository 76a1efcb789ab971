//! The command-line front end: one file per subcommand, each parsing flags, calling the
//! library, and printing. No logic lives here that the library lacks.

pub mod calibrate;
pub mod columns;
pub mod connect;
pub mod connect_eval;
pub mod data;
pub mod data_args;
pub mod evaluate;
pub mod explain;
pub mod import_chemprop;
pub mod indication_eval;
pub mod indications;
pub mod inspect;
pub mod predict;
pub mod repurpose;
pub mod repurpose_eval;
pub mod screen;
pub mod stream;
pub mod train;
pub mod train_encoder;
pub mod train_fusion;
pub mod train_signatures;
pub mod uncertainty;

use clap::{Parser, Subcommand};

/// moltx: molecular property prediction, screening, and transcriptomic connectivity.
#[derive(Debug, Parser)]
#[command(name = "moltx", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Summarize a molecule dataset: rows, RDKit failures, labels, scaffolds, sizes.
    Inspect(inspect::InspectArgs),
    /// Train a property or toxicity model (D-MPNN or fingerprint baseline), or an ensemble.
    Train(train::TrainArgs),
    /// Train the structure → signature model (D-MPNN, one output per gene) and compare it with
    /// drug-free baselines.
    TrainSignatures(train_signatures::TrainSignaturesArgs),
    /// Train the signature encoder (denoising autoencoder) and write signature embeddings.
    TrainEncoder(train_encoder::TrainEncoderArgs),
    /// Train a fusion model: D-MPNN ‖ signature embedding ‖ measured/predicted flag → heads.
    TrainFusion(train_fusion::TrainFusionArgs),
    /// Predict with a trained model: one output row per input row, failures in `error`.
    Predict(predict::PredictArgs),
    /// Metrics of a trained model on labelled data (with uncertainty metrics where an
    /// uncertainty or calibration exists).
    Evaluate(evaluate::EvaluateArgs),
    /// Calibrate a model's uncertainty on held-out labelled data (conformal intervals or
    /// sets, Platt, isotonic, z-scaling); predict and screen apply it from then on.
    Calibrate(calibrate::CalibrateArgs),
    /// Learned molecule embeddings (the D-MPNN readout) of a trained model.
    Fingerprint(predict::FingerprintArgs),
    /// How much each atom contributes to a D-MPNN's predictions (integrated gradients): a
    /// table of per-atom contributions and a picture per molecule and task.
    Explain(explain::ExplainArgs),
    /// Screen a compound library (streamed) with a model; the bundled Tox21 model by default.
    Screen(screen::ScreenArgs),
    /// Rank reference signatures by connectivity to a query signature or up/down gene sets.
    Connect(connect::ConnectArgs),
    /// Rank profiled compounds (measured signatures) and library compounds (predicted
    /// signatures) by reversal of a disease signature.
    Repurpose(repurpose::RepurposeArgs),
    /// Evaluate repurposing on the shared data: measured vs cross-validated predicted signatures.
    RepurposeEval(repurpose_eval::RepurposeEvalArgs),
    /// Evaluate indication prediction from structure, signature, or both (shared data).
    IndicationEval(indication_eval::IndicationEvalArgs),
    /// Score new compounds for the diseases of known drugs (neighbours of structure, fused
    /// with neighbours of a measured or predicted signature).
    Indications(indications::IndicationsArgs),
    /// Evaluate connectivity scores for repurposing on the shared real data.
    ConnectEval(connect_eval::ConnectEvalArgs),
    /// Fetch, verify and locate the public reference datasets (a cache in the shared-data
    /// layout).
    ///
    /// `moltx data fetch NAME...` downloads datasets into the cache, resuming partial
    /// downloads (`fetch --from DIR` copies them from a local folder instead, e.g.
    /// ../shared/data); every file's size and SHA-256 are checked. Commands that read
    /// reference data take `--data DIR`, else use the cache when it holds what they need,
    /// else ../shared/data.
    Data(data::DataCommandArgs),
    /// Import a chemprop v2 model (`.pt`/`.ckpt`) as a moltx model file.
    ImportChemprop(import_chemprop::ImportChempropArgs),
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Inspect(args) => inspect::run(&args),
        Command::Train(args) => train::run(&args),
        Command::TrainSignatures(args) => train_signatures::run(&args),
        Command::TrainEncoder(args) => train_encoder::run(&args),
        Command::TrainFusion(args) => train_fusion::run(&args),
        Command::Predict(args) => predict::run_predict(&args),
        Command::Evaluate(args) => evaluate::run(&args),
        Command::Calibrate(args) => calibrate::run(&args),
        Command::Fingerprint(args) => predict::run_fingerprint(&args),
        Command::Explain(args) => explain::run(&args),
        Command::Screen(args) => screen::run(&args),
        Command::Connect(args) => connect::run(&args),
        Command::Repurpose(args) => repurpose::run(&args),
        Command::RepurposeEval(args) => repurpose_eval::run(&args),
        Command::IndicationEval(args) => indication_eval::run(&args),
        Command::Indications(args) => indications::run(&args),
        Command::ConnectEval(args) => connect_eval::run(&args),
        Command::Data(args) => data::run(&args),
        Command::ImportChemprop(args) => import_chemprop::run(&args),
    }
}
