//! Signatures predicted from structure by models that never saw the compound: scaffold-grouped
//! k-fold cross-validation of the structure → signature model. Each compound's signature comes
//! from the model of the fold that held it out (with its whole scaffold group), so a ranking of
//! these signatures can be compared fairly with a ranking of the measured ones.

use std::sync::Arc;

use burn::tensor::Device;

use super::signatures::fit_neighbors;
use crate::chem::Fingerprint;
use crate::expr::{GeneSpace, MetaTable, SignatureMatrix};
use crate::link::neighbors::NeighborSearch;
use crate::link::profiled::{ProfiledCompounds, morgan_fingerprints};
use crate::model::MoleculeInput;
use crate::model::ensemble::{ensemble_predict, load_ensemble};
use crate::train::error::{JobError, ensure};
use crate::train::job::{SplitPlan, TrainJob, make_split, run_train, table_inputs};
use crate::train::trainer::EpochRecord;

/// Measured and cross-validated predicted signatures of the same compounds.
#[derive(Debug, Clone)]
pub struct CrossValidatedSignatures {
    /// Measured signatures of the compounds with a structure.
    pub measured: SignatureMatrix,
    /// Their out-of-fold predicted signatures (same ids, same genes).
    pub predicted: SignatureMatrix,
}

/// Trains one model per scaffold fold (`job.out/fold_<f>`) and predicts each held-out fold,
/// on `device`.
pub fn cross_validated_signatures(
    data: &ProfiledCompounds,
    job: &TrainJob,
    k: usize,
    device: &Device,
    progress: &mut dyn FnMut(usize, &EpochRecord),
) -> Result<CrossValidatedSignatures, JobError> {
    let table = &data.table;
    let g = table.n_tasks();
    let mut predicted = vec![f64::NAN; table.len() * g];
    for fold in 0..k {
        let mut fold_job = job.clone();
        fold_job.split = SplitPlan::ScaffoldKFold { k, fold };
        fold_job.out = job.out.join(format!("fold_{fold}"));
        run_train(table, &fold_job, device, &mut |_, r| progress(fold, r))?;
        let split = make_split(table, &fold_job.split, fold_job.seed)?;
        let inputs = table_inputs(table, &fold_job.model)?;
        let test: Vec<&MoleculeInput> = split.test.iter().map(|&i| &inputs[i]).collect();
        let members = load_ensemble(&fold_job.out, device)?;
        let (mean, _) = ensemble_predict(&members, &test, 64, device)?;
        for (t, &i) in split.test.iter().enumerate() {
            predicted[i * g..(i + 1) * g].copy_from_slice(&mean[t * g..(t + 1) * g]);
        }
    }
    into_matrices(data, predicted)
}

/// [`cross_validated_signatures`] with the nearest-neighbour model: per fold, fitted on every
/// compound outside the held-out fold (`k` scaffold folds, `seed`), nothing written to disk.
pub fn cross_validated_neighbor_signatures(
    data: &ProfiledCompounds,
    search: &NeighborSearch,
    k: usize,
    seed: u64,
) -> Result<CrossValidatedSignatures, JobError> {
    let table = &data.table;
    let g = table.n_tasks();
    let fps = morgan_fingerprints(&table.smiles, &search.config)?;
    let mut predicted = vec![f64::NAN; table.len() * g];
    for fold in 0..k {
        let split = make_split(table, &SplitPlan::ScaffoldKFold { k, fold }, seed)?;
        let references: Vec<usize> = split.train.iter().chain(&split.val).copied().collect();
        let model = fit_neighbors(table, &data.ids, &fps, &references, search)?;
        let test: Vec<&Fingerprint> = split.test.iter().map(|&i| &fps[i]).collect();
        let values = model.predict_all(&test);
        for (t, &i) in split.test.iter().enumerate() {
            predicted[i * g..(i + 1) * g].copy_from_slice(&values[t * g..(t + 1) * g]);
        }
    }
    into_matrices(data, predicted)
}

/// Measured and predicted matrices over the profiled compounds' ids and genes.
fn into_matrices(
    data: &ProfiledCompounds,
    predicted: Vec<f64>,
) -> Result<CrossValidatedSignatures, JobError> {
    let table = &data.table;
    ensure(
        predicted.iter().all(|v| v.is_finite()),
        "some compounds were in no test fold",
    )?;
    let genes = Arc::new(GeneSpace::new(table.task_names.clone())?);
    let measured: Vec<f64> = table.targets.iter().map(|&v| f64::from(v)).collect();
    let matrix = |values: Vec<f64>| {
        SignatureMatrix::new(
            genes.clone(),
            data.ids.clone(),
            values,
            MetaTable::empty(),
            MetaTable::empty(),
        )
    };
    Ok(CrossValidatedSignatures {
        measured: matrix(measured)?,
        predicted: matrix(predicted)?,
    })
}
