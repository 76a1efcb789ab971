//! Model hyperparameters, stored in every model file.

use serde::{Deserialize, Serialize};

use super::descriptors::DescriptorFeatures;

/// Which network maps molecules to predictions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    /// Directed message passing (chemprop's D-MPNN) on the molecular graph, then a feed-forward head.
    Dmpnn,
    /// A feed-forward network on Morgan fingerprint bits: the cheap baseline.
    FfnMorgan,
    /// A feed-forward network on molecule-level features only (descriptors or signatures).
    FeaturesOnly,
}

/// How atom vectors become one molecule vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum Aggregation {
    /// Mean over atoms.
    Mean,
    /// Sum over atoms.
    Sum,
    /// Sum over atoms divided by [`ModelConfig::norm`] (chemprop 2.x default, norm 100).
    Norm,
}

/// Everything needed to rebuild a model's architecture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// Network kind.
    pub kind: ModelKind,
    /// Width of the message-passing hidden state (chemprop: 300).
    pub hidden: usize,
    /// Message-passing steps (chemprop: 3).
    pub depth: usize,
    /// Dropout probability (chemprop: 0); where it acts is [`ModelConfig::message_dropout`].
    pub dropout: f64,
    /// Atom-to-molecule aggregation.
    pub aggregation: Aggregation,
    /// Constant of the `norm` aggregation (chemprop: 100).
    pub norm: f32,
    /// Width of the head's hidden layers (chemprop: 300).
    pub ffn_hidden: usize,
    /// Number of hidden layers in the head (chemprop: 1).
    pub ffn_layers: usize,
    /// Morgan radius for `ffn-morgan` (2 ≈ ECFP4).
    pub morgan_radius: u32,
    /// Morgan fingerprint length for `ffn-morgan`.
    pub morgan_bits: u32,
    /// Number of outputs.
    pub n_tasks: usize,
    /// D-MPNN update adds the pre-activation input `W_i x` (chemprop; true for new models).
    /// Model files from before this field add `ReLU(W_i x)` and read as false.
    #[serde(default)]
    pub preactivation_skip: bool,
    /// Molecule-level descriptors appended to the embedding before the head (none by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub descriptors: Option<DescriptorFeatures>,
    /// A feed-forward encoder of the standardized descriptors (e.g. a signature encoder)
    /// whose embedding replaces them before the head (none: descriptors go in as they are).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature_encoder: Option<FeatureEncoderConfig>,
    /// Where a D-MPNN's dropout acts. True (chemprop's placement, set by
    /// [`ModelConfig::set_dropout`] for every D-MPNN trained with dropout): after every
    /// message-passing update `hₑ ← dropout(ReLU(aₑ + W_h mₑ))`, after the atom update
    /// `hᵥ ← dropout(ReLU(W_o [x_v ‖ Σ hₑ]))`, and after each hidden layer of the head, but not
    /// on the molecule embedding. False (files without the field, and every model without
    /// dropout): on the embedding and after each hidden layer of the head only.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub message_dropout: bool,
    /// What the head predicts per task: a value ([`HeadKind::Point`], the default, not
    /// written to model files), a mean and a variance, or the four evidential parameters
    /// ([`super::head`]).
    #[serde(default, skip_serializing_if = "HeadKind::is_point")]
    pub head: HeadKind,
}

/// What a regression head predicts for each task, and so how it is trained and how its
/// uncertainty is read ([`super::head`] has the formulas). The head's last layer has
/// [`HeadKind::outputs_per_task`] `· n_tasks` units in blocks of `n_tasks`, as chemprop's
/// `MveFFN` and `EvidentialFFN` lay them out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HeadKind {
    /// One value `ŷ` per task (regression values or classification logits), trained by MSE
    /// or binary cross-entropy.
    #[default]
    Point,
    /// Mean–variance estimation (Nix & Weigend 1994; chemprop's `MveFFN`): a mean `μ` and a
    /// variance `v = softplus(s)` per task, trained by the Gaussian negative log-likelihood.
    MeanVariance,
    /// Deep evidential regression (Amini et al. 2020; chemprop's `EvidentialFFN`): the
    /// Normal-Inverse-Gamma parameters `γ, ν, α, β` per task, trained by their negative
    /// log-likelihood plus an evidence regularizer.
    Evidential,
}

impl HeadKind {
    /// Units of the last layer per task: 1, 2 (`μ, s`) or 4 (`γ, ν, α, β` before their
    /// activations).
    pub fn outputs_per_task(self) -> usize {
        match self {
            HeadKind::Point => 1,
            HeadKind::MeanVariance => 2,
            HeadKind::Evidential => 4,
        }
    }

    /// True for the plain head (one value per task, no predicted variance).
    pub fn is_point(&self) -> bool {
        *self == HeadKind::Point
    }

    /// The head's name in messages: `point`, `mean-variance`, `evidential`.
    pub fn name(self) -> &'static str {
        match self {
            HeadKind::Point => "point",
            HeadKind::MeanVariance => "mean-variance",
            HeadKind::Evidential => "evidential",
        }
    }

    /// True when the head predicts a variance per task.
    pub fn has_variance(self) -> bool {
        !self.is_point()
    }
}

/// Shape of the encoder applied to molecule-level features:
/// `e = Ffn(d[..k]) ‖ d[k..]` with `k = descriptors − passthrough`, so the last `passthrough`
/// features (e.g. a flag saying a signature was predicted, not measured) reach the head as
/// they are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureEncoderConfig {
    /// Width of the hidden layers.
    pub hidden: usize,
    /// Number of hidden layers.
    pub layers: usize,
    /// Embedding width.
    pub embedding: usize,
    /// Trailing features that bypass the encoder.
    #[serde(default)]
    pub passthrough: usize,
}

impl ModelConfig {
    /// chemprop's defaults for a given kind and number of tasks.
    pub fn defaults(kind: ModelKind, n_tasks: usize) -> Self {
        ModelConfig {
            kind,
            hidden: 300,
            depth: 3,
            dropout: 0.0,
            aggregation: Aggregation::Norm,
            norm: 100.0,
            ffn_hidden: 300,
            ffn_layers: 1,
            morgan_radius: 2,
            morgan_bits: 2048,
            n_tasks,
            preactivation_skip: true,
            descriptors: None,
            feature_encoder: None,
            message_dropout: false,
            head: HeadKind::Point,
        }
    }

    /// Sets the dropout probability `p`, placed as chemprop places it
    /// ([`ModelConfig::message_dropout`]) in a D-MPNN with `p > 0`. Set [`ModelConfig::kind`]
    /// first.
    pub fn set_dropout(&mut self, p: f64) {
        self.dropout = p;
        self.message_dropout = self.kind == ModelKind::Dmpnn && p > 0.0;
    }

    /// True when the D-MPNN encoder itself applies dropout (and the embedding is not dropped).
    pub fn drops_messages(&self) -> bool {
        self.message_dropout && self.kind == ModelKind::Dmpnn && self.dropout > 0.0
    }

    /// Units of the head's last layer: `n_tasks ·` [`HeadKind::outputs_per_task`].
    pub fn n_outputs(&self) -> usize {
        self.n_tasks.saturating_mul(self.head.outputs_per_task())
    }

    /// Width of the molecule embedding fed to the head.
    pub fn embedding_dim(&self) -> usize {
        match self.kind {
            ModelKind::Dmpnn => self.hidden,
            ModelKind::FfnMorgan => self.morgan_bits as usize,
            ModelKind::FeaturesOnly => 0,
        }
    }

    /// Number of descriptor features the model reads.
    pub fn descriptor_dim(&self) -> usize {
        self.descriptors.as_ref().map_or(0, DescriptorFeatures::len)
    }

    /// Width of the feature part of the head's input: the feature encoder's embedding plus
    /// its passthrough features, or the descriptors themselves.
    pub fn head_feature_dim(&self) -> usize {
        match &self.feature_encoder {
            Some(e) => e.embedding + e.passthrough,
            None => self.descriptor_dim(),
        }
    }
}

/// Whether targets are real values or 0/1 labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "snake_case")]
pub enum TaskType {
    /// Real-valued targets, mean-squared-error loss.
    Regression,
    /// 0/1 labels, binary cross-entropy on logits.
    Classification,
}

impl TaskType {
    /// The metrics reported for this task type; the first is the one model selection uses.
    pub fn metric_names(self) -> &'static [&'static str] {
        match self {
            TaskType::Regression => &["rmse", "mae", "r2"],
            TaskType::Classification => &["roc_auc", "prc_auc", "accuracy"],
        }
    }

    /// True when a larger value of the selection metric is better.
    pub fn higher_is_better(self) -> bool {
        matches!(self, TaskType::Classification)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropout_is_placed_as_chemprop_places_it_in_a_dmpnn_only() {
        let mut dmpnn = ModelConfig::defaults(ModelKind::Dmpnn, 1);
        dmpnn.set_dropout(0.1);
        assert!(dmpnn.message_dropout && dmpnn.drops_messages());
        let mut morgan = ModelConfig::defaults(ModelKind::FfnMorgan, 1);
        morgan.set_dropout(0.1);
        assert!(!morgan.message_dropout && !morgan.drops_messages());
        // A model without dropout, and a file from before the field, read and write as before.
        let mut none = ModelConfig::defaults(ModelKind::Dmpnn, 1);
        none.set_dropout(0.0);
        let json = serde_json::to_value(&none).unwrap();
        assert!(json.get("message_dropout").is_none());
        let mut old = serde_json::to_value(&dmpnn).unwrap();
        assert_eq!(old["message_dropout"], true);
        old.as_object_mut().unwrap().remove("message_dropout");
        let old: ModelConfig = serde_json::from_value(old).unwrap();
        assert!(!old.message_dropout && old.dropout == 0.1);
    }
}
