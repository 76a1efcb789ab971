//! The facade: the few calls most users need, each a thin layer over the library.
//!
//! - [`Predictor`]: load a model (or the bundled Tox21 model) and score SMILES in memory, one
//!   result per input, in order.
//! - [`Library`] and [`screen`]: stream a compound file through a model into a CSV, TSV or
//!   Parquet file, with shards, resume and top-k.
//! - [`connectivity::score`]: rank reference signatures by connectivity to a query.
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

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use burn::tensor::Device;
use rayon::prelude::*;

use crate::chem::{DEFAULT_MAX_HEAVY_ATOMS, Molecule};
use crate::data::{DataError, LibraryOptions, LibraryReader};
use crate::expr::ExprError;
use crate::model::bundled::{BUNDLED_MODEL_PATH, bundled_tox21};
use crate::model::{
    CheckpointError, Ensemble, InputError, InputSpec, MoleculeInput, ScoreError, Scorer,
};
use crate::screen::{ScreenError, ScreenOptions, ScreenSummary, score_in_batches};

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
    let options = ScreenOptions {
        library: library.options.clone(),
        ..options.clone()
    };
    Ok(crate::screen::screen(
        &library.path,
        predictor.scorer(),
        out,
        &options,
        &predictor.device,
        &mut |_| {},
    )?)
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

    use super::ApiError;
    use crate::expr::matrix::{Layout, read_signatures};
    use crate::expr::normalize::{ConnectOptions, connect, group_ids};
    use crate::expr::query::{align_query, read_query};
    use crate::expr::{GeneSpace, RankedReferences, Score, ScoreParams, SignatureMatrix};

    pub use crate::expr::query::QueryInput as Query;

    impl Query {
        /// Reads a query file of any supported kind (GMT pair, up/down table, STARGEO
        /// disease table, two-column gene/value table, signature file); the first query
        /// when the file holds several.
        pub fn read(path: &std::path::Path) -> Result<Self, ApiError> {
            Ok(read_query(path, None, Layout::Rows)?)
        }
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
            Self::from_matrix(read_signatures(path, Layout::Rows)?)
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
