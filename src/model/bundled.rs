//! The bundled default model: a 12-task Tox21 D-MPNN trained by moltx on
//! `../shared/data/molecules/tox21.csv` (random split, seed 0; the command and its metrics are
//! in `fixtures/models/README.md`). Its bytes are compiled into the binary, so it works from any
//! directory.

use std::path::Path;

use burn::tensor::Device;

use super::checkpoint::{Checkpoint, CheckpointError};

/// Where the bundled model's file lives in the source tree (named in messages).
pub const BUNDLED_MODEL_PATH: &str = "fixtures/models/tox21/model_0.moltx";

const BUNDLED_MODEL: &[u8] = include_bytes!("../../fixtures/models/tox21/model_0.moltx");

/// Loads the bundled Tox21 model onto `device`.
pub fn bundled_tox21(device: &Device) -> Result<Checkpoint, CheckpointError> {
    Checkpoint::from_bytes(BUNDLED_MODEL, Path::new(BUNDLED_MODEL_PATH), device)
}
