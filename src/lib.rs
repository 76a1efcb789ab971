//! moltx: drug-property prediction and drug repurposing from molecular structure and
//! transcriptomic signatures.
//!
//! Most users need only the facade ([`prelude`], [`api`]): load a model, score SMILES in
//! memory, stream a library through it, rank signatures by connectivity.
//!
//! ```
//! use moltx::prelude::*;
//!
//! let predictor = Predictor::bundled()?; // the 12-task Tox21 D-MPNN
//! for (smiles, result) in ["CC(=O)Oc1ccccc1C(=O)O", "C1CC("]
//!     .iter()
//!     .zip(predictor.predict_smiles(&["CC(=O)Oc1ccccc1C(=O)O", "C1CC("]))
//! {
//!     match result {
//!         Ok(p) => println!("{smiles}: SR-MMP {:.3}", p.value("SR-MMP").unwrap()),
//!         Err(e) => println!("{smiles}: {e}"),
//!     }
//! }
//! # Ok::<(), moltx::api::ApiError>(())
//! ```
//!
//! The layers, each importing only those above it (`docs/architecture.md` describes them):
//! [`chem`] (the RDKit boundary) and [`expr`] (signatures and connectivity statistics);
//! [`data`] (tables, splits, batches, library readers); [`kernel`] (the message-passing
//! kernel); [`model`] (networks, model files, [`model::InputSpec`] and the
//! [`model::Scorer`] trait); the jobs ([`train`], [`screen`] — the one streaming pipeline —,
//! [`repurpose`], [`indications`]); the facade [`api`]; the command line `cli`.

pub mod api;
pub mod chem;
#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod cli;
pub mod data;
pub mod eval;
pub mod explain;
pub mod expr;
pub mod indications;
pub mod kernel;
pub mod link;
pub mod metrics;
pub mod model;
pub mod repurpose;
pub mod screen;
pub mod train;
pub mod uncertainty;

/// The facade in one import: `use moltx::prelude::*;`.
pub mod prelude {
    pub use crate::api::connectivity::{self, Connection, Query, References};
    pub use crate::api::{
        ApiError, Device, Explainer, Explanation, Library, MolError, Prediction, Predictor, screen,
    };
    pub use crate::expr::Score;
    pub use crate::model::mc_dropout::{DropoutRate, McDropout};
    pub use crate::model::uncertainty::{CalibrationChoice, UncertaintyRequest, UncertaintySource};
    pub use crate::model::{InputSpec, Scorer};
    pub use crate::screen::{
        BoundSide, ConfidenceBound, ScreenOptions, ScreenSummary, Shard, TopKOption,
        UncertaintyOptions,
    };
}
