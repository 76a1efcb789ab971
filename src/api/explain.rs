//! [`Explainer`]: atom attributions of a D-MPNN's predictions (integrated gradients, see
//! [`crate::explain`]), for SMILES in memory or a compound file written into a folder.

use std::path::Path;
use std::sync::Arc;

use rayon::prelude::*;

use super::{ApiError, Device, Library, MolError};
use crate::chem::depict::{Depiction, svg_with_atom_weights};
use crate::chem::{ChemError, DEFAULT_MAX_HEAVY_ATOMS, Molecule};
use crate::explain::{
    AtomAttributions, ExplainOptions, ExplainSummary, IgSettings, check_models,
    integrated_gradients, task_indices, write_explanations,
};
use crate::model::bundled::bundled_tox21;
use crate::model::ensemble::load_ensemble;
use crate::model::{Checkpoint, InputError, MoleculeInput};

/// A D-MPNN model file, or an ensemble folder of them (explained as the mean over members),
/// with the device it runs on.
///
/// ```
/// use moltx::prelude::*;
///
/// let explainer = Explainer::bundled()?.with_steps(16);
/// let results = explainer.explain_smiles(&["CC(=O)Nc1ccc(O)cc1"], &["SR-MMP"])?;
/// let paracetamol = results[0].as_ref().expect("paracetamol parses");
/// let contributions = paracetamol.contributions("SR-MMP").unwrap();
/// assert_eq!(contributions.len(), 11); // one per heavy atom
/// assert_eq!(paracetamol.elements[3], "N");
/// # Ok::<(), moltx::api::ApiError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Explainer {
    members: Vec<Checkpoint>,
    tasks: Arc<[String]>,
    device: Device,
    settings: IgSettings,
    max_heavy_atoms: usize,
}

/// The attributions of one molecule: a contribution per atom per explained task.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// The SMILES as given.
    pub smiles: String,
    /// Each atom's element symbol, in RDKit's atom order.
    pub elements: Vec<String>,
    /// The explained task names, in the order of [`AtomAttributions::tasks`].
    pub tasks: Vec<String>,
    /// Contributions, outputs and baselines (regression: in the task's units;
    /// classification: in logits).
    pub attributions: AtomAttributions,
}

impl Explanation {
    /// The position of a task among the explained ones.
    fn task_position(&self, task: &str) -> Option<usize> {
        self.tasks.iter().position(|t| t == task)
    }

    /// The contribution of every atom to a task, if it was explained.
    pub fn contributions(&self, task: &str) -> Option<&[f64]> {
        Some(self.attributions.task_row(self.task_position(task)?))
    }

    /// The model's output for a task at the molecule (in the contributions' units).
    pub fn output(&self, task: &str) -> Option<f64> {
        Some(self.attributions.output[self.task_position(task)?])
    }

    /// An SVG picture of the molecule with atoms shaded by their contribution to `task`
    /// (`None` if the task was not explained), drawn by RDKit; the legend and the SVG's
    /// title are those of `depiction`.
    pub fn svg(&self, task: &str, depiction: &Depiction) -> Option<Result<String, ChemError>> {
        let weights = self.contributions(task)?;
        Some(
            Molecule::from_smiles_limited(&self.smiles, usize::MAX)
                .and_then(|mol| svg_with_atom_weights(&mol, weights, depiction)),
        )
    }
}

impl Explainer {
    /// Explains with already loaded models (one, or an ensemble's members).
    pub fn from_models(members: Vec<Checkpoint>, device: &Device) -> Result<Self, ApiError> {
        check_models(&members)?;
        Ok(Explainer {
            tasks: members[0].header.tasks.clone().into(),
            members,
            device: device.clone(),
            settings: IgSettings::default(),
            max_heavy_atoms: DEFAULT_MAX_HEAVY_ATOMS,
        })
    }

    /// Loads a D-MPNN model file, or every `*.moltx` of a folder (an ensemble).
    pub fn load(path: &Path, device: &Device) -> Result<Self, ApiError> {
        Self::from_models(load_ensemble(path, device)?, device)
    }

    /// The bundled 12-task Tox21 D-MPNN on the CPU.
    pub fn bundled() -> Result<Self, ApiError> {
        let device = Device::flex();
        Self::from_models(vec![bundled_tox21(&device)?], &device)
    }

    /// The same explainer with `steps` integrated-gradient steps (default 64; more steps,
    /// smaller [`AtomAttributions::completeness_gap`]).
    pub fn with_steps(mut self, steps: usize) -> Self {
        self.settings.steps = steps;
        self
    }

    /// The same explainer with other integrated-gradient settings.
    pub fn with_settings(mut self, settings: IgSettings) -> Self {
        self.settings = settings;
        self
    }

    /// The same explainer refusing molecules of more than `n` heavy atoms.
    pub fn with_max_heavy_atoms(mut self, n: usize) -> Self {
        self.max_heavy_atoms = n;
        self
    }

    /// The model's task names, in order.
    pub fn tasks(&self) -> &[String] {
        &self.tasks
    }

    /// The models explained (one, or an ensemble's members).
    pub fn members(&self) -> &[Checkpoint] {
        &self.members
    }

    /// Attributions of SMILES for `tasks` (by name; empty: all): one result per input, in
    /// order. A SMILES RDKit rejects (or a molecule over the size limit) is an `Err` in its
    /// place; an unknown task name is an error of the whole call.
    pub fn explain_smiles(
        &self,
        smiles: &[&str],
        tasks: &[&str],
    ) -> Result<Vec<Result<Explanation, MolError>>, ApiError> {
        let names: Vec<String> = tasks.iter().map(|t| t.to_string()).collect();
        let columns = task_indices(&self.tasks, &names)?;
        let explained: Vec<String> = columns.iter().map(|&j| self.tasks[j].clone()).collect();
        let model = &self.members[0];
        let prepared: Vec<Result<(MoleculeInput, Vec<String>), MolError>> = smiles
            .par_iter()
            .map(|s| {
                let mol = Molecule::from_smiles_limited(s, self.max_heavy_atoms)
                    .map_err(InputError::from)?;
                Ok((model.header.prepare(&mol, None)?, mol.atom_symbols()))
            })
            .collect();
        let ok: Vec<&MoleculeInput> = prepared
            .iter()
            .filter_map(|p| p.as_ref().ok().map(|(input, _)| input))
            .collect();
        let mut attributions =
            integrated_gradients(&self.members, &ok, &columns, &self.settings, &self.device)?
                .into_iter();
        Ok(prepared
            .into_iter()
            .zip(smiles)
            .map(|(p, s)| {
                let (_, elements) = p?;
                let attributions = attributions
                    .next()
                    .ok_or_else(|| MolError::Model("no attributions".into()))?;
                Ok(Explanation {
                    smiles: s.to_string(),
                    elements,
                    tasks: explained.clone(),
                    attributions,
                })
            })
            .collect())
    }

    /// Explains every molecule of a compound file into `out_dir`: `attributions.csv`,
    /// `outputs.csv`, `errors.csv` and one SVG per molecule and task (see
    /// [`crate::explain::report`]). The library's columns, these settings and the size
    /// limit replace those of `options`.
    pub fn explain_file(
        &self,
        library: &Library,
        out_dir: &Path,
        options: &ExplainOptions,
    ) -> Result<ExplainSummary, ApiError> {
        let options = ExplainOptions {
            library: library.options.clone(),
            settings: self.settings.clone(),
            max_heavy_atoms: self.max_heavy_atoms,
            ..options.clone()
        };
        Ok(write_explanations(
            &library.path,
            &self.members,
            out_dir,
            &options,
            &self.device,
        )?)
    }
}
