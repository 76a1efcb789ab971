//! Transcriptomic signatures: gene spaces, file formats, normalization and
//! connectivity scores (layer 2: pure Rust, no burn, no RDKit).

pub mod connectivity;
pub mod enrichment;
pub mod error;
pub mod gct;
pub mod gctx;
pub mod geneset;
pub mod genespace;
pub mod matrix;
pub mod normalize;
pub mod pathway;
pub mod query;
pub mod ranked;
pub mod signature;
pub mod textio;

pub use connectivity::{AlignedQuery, Score, ScoreParams, score_references};
pub use error::{ExprError, Result};
pub use geneset::{GeneQuery, GeneSet};
pub use genespace::{Alignment, GeneSpace, GeneTable};
pub use normalize::{ConnectOptions, ConnectivityTable, connect};
pub use ranked::RankedReferences;
pub use signature::{MetaTable, Signature, SignatureMatrix, UpDown};
