//! The facade: the few calls most users need, each a thin layer over the library.
//!
//! - [`Predictor`]: load a model (or the bundled Tox21 model) and score SMILES in memory, one
//!   result per input, in order.
//! - [`Library`] and [`screen`]: stream a compound file through a model into a CSV, TSV or
//!   Parquet file, with shards, resume and top-k.
//! - [`connectivity::score`]: rank reference signatures by connectivity to a query.
//! - [`train`]: train a model (or an ensemble) on a labelled table, as `moltx train` does.
//! - [`Predictor::load_embedder`]: a model's learned embeddings (`moltx fingerprint`).
//! - [`Predictor::load_with`]: a model with an uncertainty estimate (an ensemble's spread, MC
//!   dropout) and its calibration (conformal intervals or sets, recalibrated probabilities or
//!   standard deviations); [`Predictor::load`] applies a model's calibration file too.
//! - [`Explainer`]: how much each atom contributes to a D-MPNN's prediction (integrated
//!   gradients), with pictures (`moltx explain`).
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

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use burn::tensor::Device;
use rayon::prelude::*;

use crate::chem::{DEFAULT_MAX_HEAVY_ATOMS, Molecule};
use crate::data::{DataError, LibraryOptions, LibraryReader};
use crate::expr::ExprError;
use crate::model::bundled::{BUNDLED_MODEL_PATH, bundled_tox21};
use crate::model::calibration::Calibration;
use crate::model::uncertainty::{
    UncertainModel, UncertaintyError, UncertaintyRequest, UncertaintySource,
};
use crate::model::{
    CheckpointError, Embedder, Ensemble, InputError, InputSpec, MoleculeInput, ScoreError, Scorer,
};
use crate::screen::{ScreenError, score_in_batches};
use crate::train::job::JobError;

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
    /// An uncertainty estimate or calibration could not be set up.
    #[error(transparent)]
    Uncertainty(#[from] UncertaintyError),
    /// Atom attributions could not be computed or written.
    #[error(transparent)]
    Explain(#[from] crate::explain::ExplainError),
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
    /// The uncertainty per task, a standard deviation in the task's units, when the model
    /// has one: an ensemble's spread, MC dropout's ([`Predictor::load_with`]), z-scaled by a
    /// calibration.
    pub spread: Option<Vec<f64>>,
    /// Conformal intervals `(lo, hi)` per task, when a calibration makes them (regression).
    pub interval: Option<Vec<(f64, f64)>>,
    /// Conformal prediction sets per task as `(contains 0, contains 1)`, when a calibration
    /// makes them (classification).
    pub set: Option<Vec<(bool, bool)>>,
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
    estimator: Option<UncertaintySource>,
    calibration: Option<Arc<Calibration>>,
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
            estimator: None,
            calibration: None,
        }
    }

    /// Wraps an ensemble set up for uncertainty ([`UncertainModel::prepare`]).
    pub fn from_uncertain(model: UncertainModel, device: &Device) -> Self {
        let mut predictor = Self::from_scorer(Box::new(model.ensemble), device);
        predictor.estimator = model.estimator;
        predictor.calibration = model.calibration.map(|(_, c)| c);
        predictor
    }

    /// Loads a model file, a folder of them (an ensemble), a nearest-neighbour model file or
    /// a fusion folder; a network model's calibration file, when it has one, is applied
    /// ([`Predictor::load_with`] with the default request).
    pub fn load(path: &Path, device: &Device) -> Result<Self, ApiError> {
        Self::load_with(path, &UncertaintyRequest::default(), device)
    }

    /// Loads a model as [`Predictor::load`] does, with the uncertainty estimator and the
    /// calibration `request` asks for (see [`UncertainModel::prepare`]). Fusion folders and
    /// neighbour models have neither: asking for one is an error.
    ///
    /// ```
    /// use moltx::prelude::*;
    ///
    /// // MC dropout needs a model trained with dropout; the bundled Tox21 model has none.
    /// let request = UncertaintyRequest {
    ///     estimator: Some(UncertaintySource::Dropout(McDropout::new(10, 0)?)),
    ///     ..UncertaintyRequest::default()
    /// };
    /// let refused = Predictor::load_with(
    ///     std::path::Path::new("fixtures/models/tox21"),
    ///     &request,
    ///     &Device::flex(),
    /// );
    /// assert!(refused.unwrap_err().to_string().contains("dropout 0"));
    /// # Ok::<(), moltx::api::ApiError>(())
    /// ```
    pub fn load_with(
        path: &Path,
        request: &UncertaintyRequest,
        device: &Device,
    ) -> Result<Self, ApiError> {
        let network = !crate::link::FusionModel::is_fusion_folder(path)
            && !crate::link::neighbor_file::is_neighbor_file(path);
        if !network {
            if *request != UncertaintyRequest::default() {
                return Err(ApiError::Invalid(format!(
                    "{}: uncertainty estimates and calibrations apply to moltx network models, \
                     not to fusion or neighbour models",
                    path.display()
                )));
            }
            return Ok(Self::from_scorer(
                crate::link::load_any(path, device)?,
                device,
            ));
        }
        let ensemble = Ensemble::load(path, device)?;
        let model = UncertainModel::prepare(ensemble, Some(path), request)?;
        Ok(Self::from_uncertain(model, device))
    }

    /// The uncertainty estimator in effect (`None`: none asked for; an ensemble still
    /// reports its spread).
    pub fn estimator(&self) -> Option<UncertaintySource> {
        self.estimator
    }

    /// The calibration applied to every prediction, if any.
    pub fn calibration(&self) -> Option<&Calibration> {
        self.calibration.as_deref()
    }

    /// The pipeline options that write what this predictor predicts: `<task>_unc` columns
    /// when an estimator was asked for, and its calibration.
    pub fn uncertainty_options(&self) -> crate::screen::UncertaintyOptions {
        crate::screen::UncertaintyOptions {
            columns: self.estimator.is_some(),
            calibration: self.calibration.clone(),
            bound: None,
        }
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
                        Ok(s) => Ok(self.prediction(
                            s.row(i, t).to_vec(),
                            s.spread_row(i, t).map(<[f64]>::to_vec),
                        )),
                        Err(e) => Err(MolError::Model(e.to_string())),
                    };
                };
                Err(e.clone())
            })
            .collect()
    }
}

impl Predictor {
    /// One molecule's prediction, calibrated when a calibration applies.
    fn prediction(&self, mut values: Vec<f64>, mut spread: Option<Vec<f64>>) -> Prediction {
        let (mut interval, mut set) = (None, None);
        if let Some(c) = &self.calibration {
            let row = c.apply(&mut values, spread.as_deref_mut());
            if c.has_intervals() {
                interval = Some(row.lower.into_iter().zip(row.upper).collect());
            }
            if c.has_sets() {
                set = Some(row.sets);
            }
        }
        Prediction {
            tasks: Arc::clone(&self.tasks),
            values,
            spread,
            interval,
            set,
        }
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

/// Why a score failed, as a facade error (for callers mixing facade and library calls).
impl From<ScoreError> for MolError {
    fn from(e: ScoreError) -> Self {
        MolError::Model(e.to_string())
    }
}

pub mod connectivity;
mod explain;
mod jobs;

pub use explain::{Explainer, Explanation};
pub use jobs::{TrainSettings, Trained, screen, screen_with, train};

#[cfg(test)]
mod tests;
