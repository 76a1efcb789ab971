//! Ensembles of model files: loading a model directory, and mean ± standard deviation of the
//! members' predictions.

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use rayon::prelude::*;

use crate::kernel::KernelError;
use crate::model::{Checkpoint, CheckpointError, MoleculeInput};

/// Model files of a path: the file itself, or every `*.moltx` in a directory (sorted).
pub fn model_files(path: &Path) -> Result<Vec<PathBuf>, CheckpointError> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let io = |source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(io)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "moltx"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(CheckpointError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no *.moltx model files in this directory",
            ),
        });
    }
    Ok(files)
}

/// Loads every member of an ensemble and checks they predict the same tasks.
pub fn load_ensemble(path: &Path, device: &Device) -> Result<Vec<Checkpoint>, CheckpointError> {
    let members: Vec<Checkpoint> = model_files(path)?
        .iter()
        .map(|f| Checkpoint::load(f, device))
        .collect::<Result<_, _>>()?;
    if let Some(first) = members.first() {
        for m in &members[1..] {
            if m.header.tasks != first.header.tasks || m.header.model != first.header.model {
                return Err(CheckpointError::BadHeader {
                    path: path.to_path_buf(),
                    reason: "ensemble members differ in tasks or architecture".into(),
                });
            }
        }
    }
    Ok(members)
}

/// Mean and population standard deviation over members (`len × n_tasks` each).
pub fn ensemble_predict(
    members: &[Checkpoint],
    inputs: &[&MoleculeInput],
    batch_size: usize,
    device: &Device,
) -> Result<(Vec<f64>, Vec<f64>), KernelError> {
    // Batches run side by side (one per thread): small batches stay in cache, and no thread
    // waits at the barriers of a parallel matrix product.
    let preds: Vec<Vec<f64>> = members
        .iter()
        .map(|m| {
            let parts: Vec<Vec<f64>> = inputs
                .par_chunks(batch_size.max(1))
                .map(|batch| m.predict(batch, batch_size, device))
                .collect::<Result<_, _>>()?;
            Ok(parts.concat())
        })
        .collect::<Result<_, KernelError>>()?;
    let n = preds.first().map_or(0, Vec::len);
    let k = preds.len().max(1) as f64;
    let mean: Vec<f64> = (0..n)
        .map(|i| preds.iter().map(|p| p[i]).sum::<f64>() / k)
        .collect();
    let sd: Vec<f64> = (0..n)
        .map(|i| (preds.iter().map(|p| (p[i] - mean[i]).powi(2)).sum::<f64>() / k).sqrt())
        .collect();
    Ok((mean, sd))
}
