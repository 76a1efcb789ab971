//! Ensembles of model files now live with the models ([`crate::model::ensemble`]); these
//! re-exports keep the old paths working.

pub use crate::model::ensemble::{ensemble_predict, load_ensemble, model_files};
