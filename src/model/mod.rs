//! Models: the D-MPNN encoder, feed-forward heads, the fingerprint baseline, inference, and
//! model files. Generic over nothing: the device picks the backend at run time, and all message
//! passing goes through [`crate::kernel`].

pub mod bundled;
pub mod calibration;
pub mod checkpoint;
pub mod chemprop;
pub mod config;
pub mod descriptors;
pub mod dmpnn;
pub mod embedder;
pub mod ensemble;
pub mod ffn;
pub mod head;
pub mod init;
pub mod input_spec;
pub mod mc_dropout;
pub mod net;
pub mod predict;
pub mod scorer;
pub mod signature;
pub mod signature_file;
pub mod uncertainty;

pub use checkpoint::{Checkpoint, CheckpointError, CheckpointHeader, TargetScaling};
pub use config::{Aggregation, FeatureEncoderConfig, HeadKind, ModelConfig, ModelKind};
pub use embedder::Embedder;
pub use ensemble::Ensemble;
pub use input_spec::{FeatureSpec, InputError, InputSpec, StructureSpec};
pub use net::{
    BatchTensors, MoleculeInput, PropertyNet, StructureInput, StructureTensors, featurize,
    featurize_all, featurize_all_limited, featurize_molecule, raw_descriptors,
};
pub use scorer::{ScoreError, Scorer, Scores};
