//! The facade: the few calls most users need, each a thin layer over the library.
//!
//! - [`Predictor`]: load a model (or the bundled Tox21 model) and score SMILES in memory, one
//!   result per input, in order.
//! - [`Library`] and [`screen`]: stream a compound file through a model into a CSV, TSV or
//!   Parquet file, with shards, resume and top-k.
//! - [`connectivity::score`]: rank reference signatures by connectivity to a query.
//! - [`train`]: train a model (or an ensemble) on a labelled table, as `moltx train` does.
//! - [`Predictor::load_embedder`]: a model's learned embeddings (`moltx fingerprint`).
//!
//! The long calls ([`screen_with`], [`train`]) take a progress callback that can stop them
//! ([`ApiError::Interrupted`]); what they wrote stays resumable, as after a kill.
//!
//! ```
//! use moltx::prelude::*;
//!
//! let predictor = Predictor::bundled()?;
//! let results = predictor.predict_smiles(&["CCO", "not a molecule"]);
//! assert_eq!(results.len(), 2);
//! let ethanol = results[0].as_ref().expect("ethanol parses");
//! let p = ethanol.value("NR-AR").expect("a Tox21 task");
//! assert!(p > 0.0 && p < 0.5, "ethanol is no androgen receptor agonist: {p}");
//! assert!(results[1].is_err());
//! # Ok::<(), moltx::api::ApiError>(())
//! ```

use std::ops::ControlFlow;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use burn::tensor::Device;
use rayon::prelude::*;

use crate::chem::{DEFAULT_MAX_HEAVY_ATOMS, Molecule};
use crate::data::{
    DataError, LibraryOptions, LibraryReader, MoleculeTable, RowFailure, TableOptions,
};
use crate::expr::ExprError;
use crate::model::bundled::{BUNDLED_MODEL_PATH, bundled_tox21};
use crate::model::{
    CheckpointError, Embedder, Ensemble, InputError, InputSpec, ModelConfig, ModelKind,
    MoleculeInput, ScoreError, Scorer,
};
use crate::screen::{ScreenError, ScreenOptions, ScreenProgress, ScreenSummary, score_in_batches};
use crate::train::job::{JobError, SplitPlan, TrainJob, TrainReport, run_train};
use crate::train::metrics::TaskType;
use crate::train::trainer::{EpochRecord, Selection, TrainOptions};

/// Why a facade call failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A model file could not be read.
    #[error(transparent)]
    Model(#[from] CheckpointError),
    /// A library could not be opened.
    #[error(transparent)]
    Data(#[from] DataError),
    /// A screen stopped.
    #[error(transparent)]
    Screen(#[from] ScreenError),
    /// A signature or query could not be read or scored.
    #[error(transparent)]
    Expr(#[from] ExprError),
    /// A training job failed.
    #[error(transparent)]
    Train(#[from] JobError),
    /// Settings that cannot work together.
    #[error("{0}")]
    Invalid(String),
    /// The progress callback asked the call to stop.
    #[error("interrupted")]
    Interrupted,
}

/// Why one molecule got no prediction.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MolError {
    /// The molecule could not be read or does not fit the model's input.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The model failed on the batch that held the molecule.
    #[error("the model failed: {0}")]
    Model(String),
}

/// One molecule's outputs.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    tasks: Arc<[String]>,
    /// One value per task (probabilities for classification, values for regression).
    pub values: Vec<f64>,
    /// The ensemble's standard deviation per task, when the model is an ensemble.
    pub spread: Option<Vec<f64>>,
}

impl Prediction {
    /// Task names, in the order of [`Prediction::values`].
    pub fn tasks(&self) -> &[String] {
        &self.tasks
    }

    /// The value of a task by name.
    pub fn value(&self, task: &str) -> Option<f64> {
        let j = self.tasks.iter().position(|t| t == task)?;
        self.values.get(j).copied()
    }
}

/// A loaded model with the device it runs on: scores SMILES in memory.
#[derive(Debug)]
pub struct Predictor {
    scorer: Box<dyn Scorer>,
    tasks: Arc<[String]>,
    device: Device,
    max_heavy_atoms: usize,
    batch_size: usize,
}

impl Predictor {
    /// Wraps any scorer.
    pub fn from_scorer(scorer: Box<dyn Scorer>, device: &Device) -> Self {
        Predictor {
            tasks: scorer.tasks().to_vec().into(),
            scorer,
            device: device.clone(),
            max_heavy_atoms: DEFAULT_MAX_HEAVY_ATOMS,
            batch_size: Ensemble::DEFAULT_BATCH_SIZE,
        }
    }

    /// Loads a model file, a folder of them (an ensemble), a nearest-neighbour model file or
    /// a fusion folder.
    pub fn load(path: &Path, device: &Device) -> Result<Self, ApiError> {
        Ok(Self::from_scorer(
            crate::link::load_any(path, device)?,
            device,
        ))
    }

    /// The bundled 12-task Tox21 D-MPNN on the CPU (compiled into the library).
    pub fn bundled() -> Result<Self, ApiError> {
        let device = Device::flex();
        let model = bundled_tox21(&device)?;
        let ensemble = Ensemble::new(vec![model], Path::new(BUNDLED_MODEL_PATH))?;
        Ok(Self::from_scorer(Box::new(ensemble), &device))
    }

    /// The learned molecule embeddings of a model file, or of the first member of a folder of
    /// them, as a predictor whose outputs (`e0 … e{d−1}`) are the embedding's dimensions: the
    /// columns `moltx fingerprint` writes.
    pub fn load_embedder(path: &Path, device: &Device) -> Result<Self, ApiError> {
        let ensemble = Ensemble::load(path, device)?;
        let embedder = Embedder::new(ensemble.first().clone());
        Ok(Self::from_scorer(Box::new(embedder), device))
    }

    /// The bundled Tox21 model's embeddings on the CPU ([`Predictor::load_embedder`]).
    pub fn bundled_embedder() -> Result<Self, ApiError> {
        let device = Device::flex();
        let embedder = Embedder::new(bundled_tox21(&device)?);
        Ok(Self::from_scorer(Box::new(embedder), &device))
    }

    /// The same predictor refusing molecules of more than `n` heavy atoms (default
    /// [`DEFAULT_MAX_HEAVY_ATOMS`]).
    pub fn with_max_heavy_atoms(mut self, n: usize) -> Self {
        self.max_heavy_atoms = n;
        self
    }

    /// Output names, in order.
    pub fn tasks(&self) -> &[String] {
        &self.tasks
    }

    /// What the model reads.
    pub fn input_spec(&self) -> InputSpec {
        self.scorer.input_spec()
    }

    /// True when predictions carry a spread per task ([`Prediction::spread`], ensembles).
    pub fn has_spread(&self) -> bool {
        self.scorer.has_spread()
    }

    /// The size limit: molecules of more heavy atoms are refused.
    pub fn max_heavy_atoms(&self) -> usize {
        self.max_heavy_atoms
    }

    /// The model.
    pub fn scorer(&self) -> &dyn Scorer {
        self.scorer.as_ref()
    }

    /// The device the model runs on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Predictions for SMILES strings: one result per input, in order. A SMILES that RDKit
    /// rejects (or a molecule over the size limit) is an `Err` in its place; the others are
    /// scored in parallel batches.
    pub fn predict_smiles(&self, smiles: &[&str]) -> Vec<Result<Prediction, MolError>> {
        let spec = self.input_spec();
        let prepared: Vec<Result<MoleculeInput, MolError>> = smiles
            .par_iter()
            .map(|s| {
                let mol = Molecule::from_smiles_limited(s, self.max_heavy_atoms)
                    .map_err(InputError::from)?;
                Ok(spec.prepare(&mol, None)?)
            })
            .collect();
        self.score_prepared(prepared)
    }

    /// Scores the prepared inputs, keeping each failure in its place.
    fn score_prepared(
        &self,
        prepared: Vec<Result<MoleculeInput, MolError>>,
    ) -> Vec<Result<Prediction, MolError>> {
        let ok: Vec<&MoleculeInput> = prepared.iter().filter_map(|p| p.as_ref().ok()).collect();
        let scores = score_in_batches(self.scorer(), &ok, self.batch_size, &self.device);
        let t = self.tasks.len();
        let mut k = 0;
        prepared
            .iter()
            .map(|p| {
                let Err(e) = p else {
                    let i = k;
                    k += 1;
                    return match &scores {
                        Ok(s) => Ok(Prediction {
                            tasks: Arc::clone(&self.tasks),
                            values: s.row(i, t).to_vec(),
                            spread: s.spread_row(i, t).map(<[f64]>::to_vec),
                        }),
                        Err(e) => Err(MolError::Model(e.to_string())),
                    };
                };
                Err(e.clone())
            })
            .collect()
    }
}

/// A compound library on disk (`.smi`, `.csv`, `.tsv`, `.sdf`, each optionally `.gz`, or
/// `.parquet`), read as a stream.
#[derive(Debug, Clone)]
pub struct Library {
    path: PathBuf,
    options: LibraryOptions,
}

impl Library {
    /// A library file, checked to be readable and of a known format.
    pub fn open(path: &Path) -> Result<Self, ApiError> {
        Self::with_options(path, LibraryOptions::default())
    }

    /// A library whose SMILES and id columns are named.
    pub fn with_options(path: &Path, options: LibraryOptions) -> Result<Self, ApiError> {
        LibraryReader::open(path, &options)?;
        Ok(Library {
            path: path.to_path_buf(),
            options,
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Streams a library through a predictor's model into `out` (CSV, TSV or Parquet): one row
/// per input row of the shard, in order (`row, id, smiles, <task>…, error`), with the
/// shards, resume, top-k and size limit of `options` (its library columns are the
/// library's).
pub fn screen(
    library: &Library,
    predictor: &Predictor,
    out: &Path,
    options: &ScreenOptions,
) -> Result<ScreenSummary, ApiError> {
    screen_with(library, predictor, out, options, &mut |_| {
        ControlFlow::Continue(())
    })
}

/// [`screen`] calling `progress` after every chunk; when it returns `Break`, the run stops
/// there with [`ApiError::Interrupted`], its output and manifest left as after a kill (a run
/// with `resume` continues it).
pub fn screen_with(
    library: &Library,
    predictor: &Predictor,
    out: &Path,
    options: &ScreenOptions,
    progress: &mut dyn FnMut(&ScreenProgress) -> ControlFlow<()>,
) -> Result<ScreenSummary, ApiError> {
    let options = ScreenOptions {
        library: library.options.clone(),
        ..options.clone()
    };
    interruptible(|| {
        Ok(crate::screen::screen(
            &library.path,
            predictor.scorer(),
            out,
            &options,
            &predictor.device,
            &mut |p| {
                if progress(p).is_break() {
                    resume_unwind(Box::new(Interrupt));
                }
            },
        )?)
    })
}

/// The payload that unwinds a long call out of its progress callback (the pipeline and the
/// training loop have no way to stop early), caught by [`interruptible`]. `resume_unwind`
/// does not run the panic hook, so nothing is printed.
struct Interrupt;

/// Runs `f`, turning an [`Interrupt`] unwinding out of it into [`ApiError::Interrupted`].
fn interruptible<T>(f: impl FnOnce() -> Result<T, ApiError>) -> Result<T, ApiError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) if payload.is::<Interrupt>() => Err(ApiError::Interrupted),
        Err(payload) => resume_unwind(payload),
    }
}

/// How to train a model; the defaults are `moltx train`'s.
#[derive(Debug, Clone)]
pub struct TrainSettings {
    /// The SMILES and target columns (default: the first column named like `smiles`, and
    /// every numeric column) and the size limit of the molecules.
    pub table: TableOptions,
    /// The architecture (D-MPNN, hidden 300, depth 3, …); its task count is set from the
    /// table and its `descriptors` are the features generator (`rdkit_2d`).
    pub model: ModelConfig,
    /// Regression or classification (`None`: classification when every label is 0 or 1).
    pub task_type: Option<TaskType>,
    /// The split (random, 0.8/0.1/0.1).
    pub split: SplitPlan,
    /// Seed of the split, the initialization and the shuffling (member `i` of an ensemble
    /// uses `seed + i`).
    pub seed: u64,
    /// Ensemble size.
    pub ensemble: usize,
    /// Epochs, batch size, patience, selection (the validation loss, as `moltx train`), …;
    /// its `seed` and `checkpoint_dir` are set by [`train`] (`seed` and `OUT/resume`).
    pub options: TrainOptions,
}

impl Default for TrainSettings {
    fn default() -> Self {
        TrainSettings {
            table: TableOptions::default(),
            model: ModelConfig::defaults(ModelKind::Dmpnn, 0),
            task_type: None,
            split: SplitPlan::Random([0.8, 0.1, 0.1]),
            seed: 0,
            ensemble: 1,
            options: TrainOptions {
                selection: Selection::Loss,
                ..TrainOptions::default()
            },
        }
    }
}

/// What [`train`] did.
#[derive(Debug, Clone)]
pub struct Trained {
    /// The report written to `OUT/metrics.json`.
    pub report: TrainReport,
    /// Table rows left out (RDKit rejected the SMILES, or the row is malformed).
    pub skipped: Vec<RowFailure>,
}

/// Trains a model (or an ensemble) on a labelled CSV/TSV as `moltx train` does, writing the
/// model files, `metrics.json`, `split.csv`, `epochs.csv`, plots and resume checkpoints
/// (`OUT/resume`) into `out`. `progress(member, epoch)` is called after every epoch; when it
/// returns `Break` the job stops there with [`ApiError::Interrupted`], and a later call with
/// `options.resume` continues from the last completed epoch.
pub fn train(
    data: &Path,
    out: &Path,
    settings: &TrainSettings,
    device: &Device,
    progress: &mut dyn FnMut(usize, &EpochRecord) -> ControlFlow<()>,
) -> Result<Trained, ApiError> {
    if settings.model.kind == ModelKind::FeaturesOnly && settings.model.descriptors.is_none() {
        return Err(ApiError::Invalid(
            "a features-only model needs a features generator (rdkit_2d)".into(),
        ));
    }
    let table = MoleculeTable::read(data, &settings.table)?;
    let job = TrainJob {
        model: settings.model.clone(),
        task_type: settings.task_type,
        split: settings.split.clone(),
        seed: settings.seed,
        ensemble: settings.ensemble,
        options: TrainOptions {
            seed: settings.seed,
            checkpoint_dir: Some(out.join("resume")),
            ..settings.options.clone()
        },
        out: out.to_path_buf(),
    };
    let report = interruptible(|| {
        Ok(run_train(&table, &job, device, &mut |member, record| {
            if progress(member, record).is_break() {
                resume_unwind(Box::new(Interrupt));
            }
        })?)
    })?;
    Ok(Trained {
        report,
        skipped: table.failures,
    })
}

pub mod connectivity {
    //! Connectivity of a query signature or gene set against reference signatures.
    //!
    //! ```
    //! use moltx::api::connectivity::{Query, References, score};
    //! use moltx::expr::Score;
    //! use std::path::Path;
    //!
    //! let references = References::read(Path::new("fixtures/expr/refs.tsv"))?;
    //! let query = Query::read(Path::new("fixtures/expr/query.gmt"))?;
    //! let ranking = score(&query, &references, Score::Wtcs)?;
    //! // Most reversing first: DB00001 is the fixture's reverser.
    //! assert_eq!(ranking[0].id, "DB00001");
    //! assert!(ranking[0].score < 0.0);
    //! # Ok::<(), moltx::api::ApiError>(())
    //! ```

    use std::path::Path;
    use std::sync::Arc;

    use super::ApiError;
    use crate::expr::matrix::{Layout, read_signatures as read_matrix};
    use crate::expr::normalize::{ConnectOptions, connect, group_ids};
    use crate::expr::query::{align_query, read_query};
    use crate::expr::{
        GeneQuery, GeneSpace, MetaTable, RankedReferences, Score, ScoreParams, SignatureMatrix,
    };

    pub use crate::expr::query::QueryInput as Query;

    impl Query {
        /// Reads a query file of any supported kind (GMT pair, up/down table, STARGEO
        /// disease table, two-column gene/value table, signature file); the first query
        /// when the file holds several.
        pub fn read(path: &std::path::Path) -> Result<Self, ApiError> {
            Ok(read_query(path, None, Layout::Rows)?)
        }

        /// A query of up- and down-regulated genes.
        pub fn from_genes(name: &str, up: Vec<String>, down: Vec<String>) -> Self {
            Query::Genes(GeneQuery {
                name: name.to_string(),
                up,
                down,
            })
        }

        /// A full signature query: one value per gene.
        pub fn from_signature(name: &str, genes: Vec<String>, values: Vec<f64>) -> Self {
            Query::Signature {
                name: name.to_string(),
                ids: genes,
                values,
            }
        }
    }

    /// Reads signatures from a GCT, GCTX or delimited file (one signature per row), with
    /// their gene and signature metadata.
    pub fn read_signatures(path: &Path) -> Result<SignatureMatrix, ApiError> {
        Ok(read_matrix(path, Layout::Rows)?)
    }

    /// Reference signatures with their genes' aliases and per-signature ranks, ready to
    /// score many queries against.
    #[derive(Debug, Clone)]
    pub struct References {
        matrix: SignatureMatrix,
        genes: GeneSpace,
        ranked: RankedReferences,
    }

    impl References {
        /// Reads a GCT, GCTX or delimited signature file (one signature per row).
        pub fn read(path: &Path) -> Result<Self, ApiError> {
            Self::from_matrix(read_signatures(path)?)
        }

        /// In-memory signatures without metadata: `values` holds one signature after another
        /// (row-major `ids.len() × genes.len()`).
        pub fn from_values(
            genes: Vec<String>,
            ids: Vec<String>,
            values: Vec<f64>,
        ) -> Result<Self, ApiError> {
            let genes = Arc::new(GeneSpace::new(genes)?);
            let empty = MetaTable::empty;
            Self::from_matrix(SignatureMatrix::new(genes, ids, values, empty(), empty())?)
        }

        /// The signatures.
        pub fn matrix(&self) -> &SignatureMatrix {
            &self.matrix
        }

        /// Prepares in-memory signatures; `pr_gene_id`/`pr_gene_symbol` row metadata
        /// become aliases of the genes.
        pub fn from_matrix(matrix: SignatureMatrix) -> Result<Self, ApiError> {
            let mut genes = (*matrix.genes).clone();
            for field in ["pr_gene_id", "pr_gene_symbol"] {
                if let Some(v) = matrix.gene_meta.field(field) {
                    genes.add_aliases(v)?;
                }
            }
            let ranked = RankedReferences::from_matrix(&matrix)?;
            Ok(References {
                matrix,
                genes,
                ranked,
            })
        }

        /// Signature ids, in file order.
        pub fn ids(&self) -> &[String] {
            &self.matrix.ids
        }
    }

    /// Settings of a connectivity ranking (the CLI's defaults).
    #[derive(Debug, Clone)]
    pub struct Settings {
        /// Up and down genes taken from a signature or disease query.
        pub n_genes: usize,
        /// Random background queries for tau (WTCS; 0: no tau).
        pub tau_background: usize,
        /// Seed of the background.
        pub seed: u64,
        /// Score parameters (XSum's N).
        pub params: ScoreParams,
    }

    impl Default for Settings {
        fn default() -> Self {
            Settings {
                n_genes: 150,
                tau_background: 1000,
                seed: 42,
                params: ScoreParams::default(),
            }
        }
    }

    /// One reference's connectivity to the query.
    #[derive(Debug, Clone, PartialEq)]
    pub struct Connection {
        /// Reference signature id.
        pub id: String,
        /// Raw score (negative: the reference reverses the query).
        pub score: f64,
        /// NCS (WTCS) or Lamb's scaled score (KS).
        pub normalized: Option<f64>,
        /// Tau (WTCS with a background).
        pub tau: Option<f64>,
    }

    /// Every reference scored against the query, most reversing first (by the normalized
    /// score where the score has one), with [`Settings::default`].
    pub fn score(
        query: &Query,
        references: &References,
        score: Score,
    ) -> Result<Vec<Connection>, ApiError> {
        score_with(query, references, score, &Settings::default())
    }

    /// [`score`] with explicit settings.
    pub fn score_with(
        query: &Query,
        references: &References,
        score: Score,
        settings: &Settings,
    ) -> Result<Vec<Connection>, ApiError> {
        let aligned = align_query(query, &references.genes, None, settings.n_genes)?;
        let options = ConnectOptions {
            params: settings.params,
            groups: group_ids(&references.matrix.meta, &[], references.ids().len())?,
            tau_background: settings.tau_background,
            seed: settings.seed,
        };
        let table = connect(&aligned, &references.ranked, score, &options)?;
        let mut out: Vec<Connection> = references
            .ids()
            .iter()
            .enumerate()
            .map(|(r, id)| Connection {
                id: id.clone(),
                score: table.raw[r],
                normalized: table.normalized.as_ref().map(|n| n[r]),
                tau: table.tau.as_ref().map(|t| t[r]),
            })
            .collect();
        out.sort_by(|a, b| {
            let key = |c: &Connection| c.normalized.unwrap_or(c.score);
            key(a).total_cmp(&key(b)).then(a.score.total_cmp(&b.score))
        });
        Ok(out)
    }
}

/// Why a score failed, as a facade error (for callers mixing facade and library calls).
impl From<ScoreError> for MolError {
    fn from(e: ScoreError) -> Self {
        MolError::Model(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::connectivity::{Query, References, score};
    use super::*;
    use crate::expr::Score;

    #[test]
    fn an_interrupted_screen_resumes_to_the_uninterrupted_output() {
        let dir = tempfile::tempdir().unwrap();
        let library = Library::open(Path::new("fixtures/approved_drugs.csv")).unwrap();
        let predictor = Predictor::bundled().unwrap();
        let options = ScreenOptions {
            chunk_size: 16,
            ..ScreenOptions::default()
        };
        let full = dir.path().join("full.csv");
        screen(&library, &predictor, &full, &options).unwrap();

        let part = dir.path().join("part.csv");
        let mut chunks = 0;
        let stopped = screen_with(&library, &predictor, &part, &options, &mut |_| {
            chunks += 1;
            ControlFlow::Break(())
        });
        assert!(matches!(stopped, Err(ApiError::Interrupted)), "{stopped:?}");
        assert_eq!(chunks, 1, "the run stops after the chunk that asked");
        let written = std::fs::read_to_string(&part).unwrap();
        assert_eq!(
            written.lines().count(),
            1 + 16,
            "header and the first chunk"
        );

        let resume = ScreenOptions {
            resume: true,
            ..options.clone()
        };
        let summary = screen(&library, &predictor, &part, &resume).unwrap();
        assert_eq!(summary.resumed_from, Some(16));
        assert_eq!(
            std::fs::read(&part).unwrap(),
            std::fs::read(&full).unwrap(),
            "resumed output equals the uninterrupted one"
        );
    }

    #[test]
    fn embeddings_are_the_models_readout_one_per_input() {
        let embedder = Predictor::bundled_embedder().unwrap();
        assert_eq!(embedder.tasks().len(), 300);
        assert_eq!(embedder.tasks()[0], "e0");
        let r = embedder.predict_smiles(&["CCO", "C1CC(", "c1ccccc1"]);
        assert_eq!(r.len(), 3);
        assert!(r[1].is_err());
        let (a, b) = (r[0].as_ref().unwrap(), r[2].as_ref().unwrap());
        assert!(a.values.iter().all(|v| v.is_finite()));
        assert_ne!(a.values, b.values);
        let from_file = Predictor::load_embedder(
            Path::new("fixtures/models/tox21/model_0.moltx"),
            &Device::flex(),
        )
        .unwrap();
        let c = from_file.predict_smiles(&["CCO"]);
        assert_eq!(c[0].as_ref().unwrap().values.len(), 300);
    }

    #[test]
    fn in_memory_references_rank_as_the_file_does() {
        let file = References::read(Path::new("fixtures/expr/refs.tsv")).unwrap();
        let m = file.matrix();
        let memory =
            References::from_values(m.genes.ids().to_vec(), m.ids.clone(), m.data.clone()).unwrap();
        let query = Query::read(Path::new("fixtures/expr/query.gmt")).unwrap();
        let a = score(&query, &file, Score::Wtcs).unwrap();
        let b = score(&query, &memory, Score::Wtcs).unwrap();
        assert_eq!(a, b);
        let genes = Query::from_genes(
            "q",
            ["1014", "1000", "1007", "1012"].map(String::from).to_vec(),
            ["1019", "1008", "1009", "1002"].map(String::from).to_vec(),
        );
        assert_eq!(score(&genes, &memory, Score::Wtcs).unwrap(), a);
        let bad = References::from_values(vec!["1".into()], vec!["a".into()], vec![1.0, 2.0]);
        assert!(bad.unwrap_err().to_string().contains("2 values"));
    }

    #[test]
    fn train_writes_a_model_the_predictor_loads_and_stops_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("atoms.csv");
        let drugs = std::fs::read_to_string("fixtures/approved_drugs.csv").unwrap();
        let mut text = String::from("smiles,heavy_atoms\n");
        for line in drugs.lines().skip(1) {
            let smiles = line.split_once(',').map_or(line, |(_, s)| s);
            let n = crate::chem::size::heavy_atoms_in_smiles(smiles);
            text.push_str(&format!("{smiles},{n}\n"));
        }
        text.push_str("C1CC(,3\n");
        std::fs::write(&data, text).unwrap();
        let mut settings = TrainSettings::default();
        (settings.model.hidden, settings.model.ffn_hidden) = (16, 16);
        settings.options.epochs = 3;
        let out = dir.path().join("model");
        let mut epochs = 0;
        let trained = train(&data, &out, &settings, &Device::flex(), &mut |_, _| {
            epochs += 1;
            ControlFlow::Continue(())
        })
        .unwrap();
        assert_eq!(epochs, 3);
        assert_eq!(trained.report.tasks, ["heavy_atoms"]);
        assert_eq!(trained.skipped.len(), 1);
        assert!(out.join("metrics.json").exists());
        let p = Predictor::load(&out, &Device::flex()).unwrap();
        assert_eq!(p.tasks(), ["heavy_atoms"]);

        let again = dir.path().join("again");
        let stopped = train(&data, &again, &settings, &Device::flex(), &mut |_, _| {
            ControlFlow::Break(())
        });
        assert!(matches!(stopped, Err(ApiError::Interrupted)), "{stopped:?}");
        assert!(!again.join("metrics.json").exists());
        let features_only = TrainSettings {
            model: ModelConfig::defaults(ModelKind::FeaturesOnly, 0),
            ..settings.clone()
        };
        let refused = train(
            &data,
            &again,
            &features_only,
            &Device::flex(),
            &mut |_, _| ControlFlow::Continue(()),
        );
        assert!(matches!(refused, Err(ApiError::Invalid(_))));
    }
}
