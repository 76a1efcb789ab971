//! Monte Carlo dropout (Gal & Ghahramani 2016): the uncertainty of a network trained with
//! dropout, from `S` forward passes with dropout left on.
//!
//! For each member `k` of an ensemble of `K` (one model: `K = 1`) and sample `s < S`, every
//! dropout layer multiplies its input by a fresh inverted-dropout mask `m/(1 − p)`,
//! `m ~ Bernoulli(1 − p)`, giving a prediction `ŷₖₛ` (un-standardized, or a probability). The
//! prediction is their mean and the uncertainty their population standard deviation:
//!
//! `ŷ = (1/KS) Σₖₛ ŷₖₛ`, `σ = √((1/KS) Σₖₛ (ŷₖₛ − ŷ)²)`. Members with a variance head
//! ([`super::head`]) also predict a variance `vₖₛ` per sample, and then
//! `σ² = (1/KS) Σₖₛ vₖₛ + (1/KS) Σₖₛ (ŷₖₛ − ŷ)²` (the law of total variance).
//!
//! A D-MPNN with chemprop's dropout placement ([`ModelConfig::message_dropout`]) is sampled
//! whole, its messages and atom states dropped as in training; otherwise the encoder has no
//! dropout, so each batch's embeddings are computed once and only the embedding, the head (and
//! the feature encoder) are sampled. Row `i`'s masks (its atoms' and edges' in the encoder,
//! then its head's) are drawn from a generator
//! seeded by `(seed, k, s, key(i))`, where `key(i)` hashes the molecule's prepared input (its
//! atoms and bonds in input order, fingerprint bits, descriptors): a molecule's samples depend
//! on the seed and on the molecule only, never on the batch, chunk, shard or thread it is
//! scored in, so the same seed gives the same numbers everywhere.

use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor, TensorData};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::checkpoint::Checkpoint;
use super::config::ModelConfig;
use super::dmpnn::EncoderDropout;
use super::ffn::Ffn;
use super::init::molecule_mask;
use super::net::{BatchTensors, MoleculeInput, PropertyNet, StructureInput, StructureTensors};
use super::predict::postprocess_outputs;
use super::uncertainty::UncertaintyError;
use crate::kernel::KernelError;

/// MC-dropout settings: how many samples, from which seed, and optionally at which dropout
/// probability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct McDropout {
    /// Forward passes with dropout on, per member (at least 2).
    pub samples: usize,
    /// Seed of the masks.
    pub seed: u64,
    /// A dropout probability for every dropout layer instead of the models' own (chemprop's
    /// `--uncertainty-dropout-p`); with it a model trained without dropout can be sampled
    /// too, its D-MPNN's dropout then placed as chemprop places it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p: Option<DropoutRate>,
}

/// A dropout probability `0 < p < 1`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct DropoutRate(f64);

impl DropoutRate {
    /// `p`, when `0 < p < 1`.
    pub fn new(p: f64) -> Result<Self, UncertaintyError> {
        if p > 0.0 && p < 1.0 {
            Ok(DropoutRate(p))
        } else {
            Err(UncertaintyError::Unsupported(format!(
                "an MC-dropout probability must lie in (0, 1), not {p}"
            )))
        }
    }

    /// The probability.
    pub fn get(self) -> f64 {
        self.0
    }
}

// Never NaN (checked by `new`), so equality is an equivalence and the bits hash it.
impl Eq for DropoutRate {}

impl std::hash::Hash for DropoutRate {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.to_bits().hash(state);
    }
}

impl TryFrom<f64> for DropoutRate {
    type Error = UncertaintyError;
    fn try_from(p: f64) -> Result<Self, Self::Error> {
        DropoutRate::new(p)
    }
}

impl From<DropoutRate> for f64 {
    fn from(p: DropoutRate) -> f64 {
        p.0
    }
}

impl McDropout {
    /// Samples per member unless asked otherwise.
    pub const DEFAULT_SAMPLES: usize = 30;

    /// Settings of `samples ≥ 2` passes from `seed`, at the models' own dropout.
    pub fn new(samples: usize, seed: u64) -> Result<Self, UncertaintyError> {
        if samples < 2 {
            return Err(UncertaintyError::TooFewSamples { samples });
        }
        Ok(McDropout {
            samples,
            seed,
            p: None,
        })
    }

    /// The same settings at dropout probability `p` in every dropout layer.
    pub fn with_rate(self, p: DropoutRate) -> Self {
        McDropout { p: Some(p), ..self }
    }

    /// The configuration a member is sampled with: its own, or with the dropout probability
    /// replaced by [`McDropout::p`] (a D-MPNN trained without dropout then drops its messages,
    /// as chemprop's dropout layers would; one trained with dropout keeps its placement).
    pub fn sampled_config(&self, config: &ModelConfig) -> ModelConfig {
        let mut c = config.clone();
        if let Some(p) = self.p {
            if c.dropout == 0.0 {
                c.set_dropout(p.get());
            } else {
                c.dropout = p.get();
            }
        }
        c
    }

    /// Checks that every member has dropout to sample, `0 < p < 1` (any member does when
    /// [`McDropout::p`] is set).
    pub fn check_members(&self, members: &[Checkpoint]) -> Result<(), UncertaintyError> {
        if self.p.is_some() {
            return Ok(());
        }
        let n = members.len();
        for (member, m) in members.iter().enumerate() {
            let p = m.header.model.dropout;
            if p == 0.0 {
                return Err(UncertaintyError::NoDropout { member, members: n });
            }
            if !(p > 0.0 && p < 1.0) {
                return Err(UncertaintyError::BadDropout {
                    member,
                    members: n,
                    p,
                });
            }
        }
        Ok(())
    }
}

/// SplitMix64's finalizer: a bijective mix of 64 bits.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The seed of one row's masks in member `member`, sample `sample`.
fn row_seed(seed: u64, member: usize, sample: usize, key: u64) -> u64 {
    mix(mix(mix(mix(seed) ^ member as u64) ^ sample as u64) ^ key)
}

/// FNV-1a (64-bit) over byte slices.
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    fn bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// A hash of a prepared input: its structure (atoms and bonds in order, or fingerprint bits),
/// descriptors and key. Equal inputs have equal keys.
pub fn input_key(input: &MoleculeInput) -> u64 {
    let mut h = Fnv::new();
    match &input.structure {
        StructureInput::Graph(g) => {
            h.bytes(&[1]);
            h.bytes(&(g.graph.node_count() as u64).to_le_bytes());
            for a in g.graph.node_weights() {
                h.bytes(&[
                    a.atomic_num,
                    a.total_degree,
                    a.formal_charge as u8,
                    a.chiral_tag,
                    a.total_hs,
                    a.hybridization,
                    u8::from(a.aromatic),
                    u8::from(a.in_ring),
                ]);
                h.bytes(&a.mass.to_bits().to_le_bytes());
            }
            for b in g.graph.edge_weights() {
                h.bytes(&b.begin.to_le_bytes());
                h.bytes(&b.end.to_le_bytes());
                h.bytes(&[
                    b.bond_type,
                    u8::from(b.conjugated),
                    u8::from(b.in_ring),
                    b.stereo,
                    u8::from(b.aromatic),
                ]);
            }
        }
        StructureInput::Morgan(fp) => {
            h.bytes(&[2]);
            h.bytes(&fp.n_bits.to_le_bytes());
            for bit in &fp.on_bits {
                h.bytes(&bit.to_le_bytes());
            }
        }
        StructureInput::None => h.bytes(&[3]),
    }
    for d in &input.descriptors {
        h.bytes(&d.to_bits().to_le_bytes());
    }
    if let Some(key) = &input.key {
        h.bytes(key.as_bytes());
    }
    h.0
}

/// Inverted dropout whose row `i` mask comes from `rngs[i]`: `x ⊙ m/(1 − p)`,
/// `m ~ Bernoulli(1 − p)` (`0 < p < 1`, checked by [`McDropout::check_members`]).
fn dropout_rows(x: Tensor<2>, p: f64, rngs: &mut [ChaCha8Rng]) -> Tensor<2> {
    if !(p > 0.0 && p < 1.0) {
        return x;
    }
    let [rows, cols] = x.dims();
    let mut mask = molecule_mask(p, rngs, std::iter::repeat_n(1, rows), cols);
    mask.resize(rows * cols, (1.0 / (1.0 - p)) as f32);
    let mask = Tensor::<2>::from_data(TensorData::new(mask, [rows, cols]), &x.device());
    x * mask
}

/// [`Ffn::forward`] with row-seeded dropout after every hidden layer.
fn ffn_rows(ffn: &Ffn, mut x: Tensor<2>, p: f64, rngs: &mut [ChaCha8Rng]) -> Tensor<2> {
    let layers: &[Linear] = &ffn.layers;
    let last = layers.len().saturating_sub(1);
    for (i, layer) in layers.iter().enumerate() {
        x = layer.forward(x);
        if i < last {
            x = dropout_rows(relu(x), p, rngs);
        }
    }
    x
}

/// The feature encoder's view of the standardized features (as `PropertyNet` computes it),
/// with row-seeded dropout.
fn encode_features_rows(
    net: &PropertyNet,
    config: &ModelConfig,
    features: Tensor<2>,
    rngs: &mut [ChaCha8Rng],
) -> Tensor<2> {
    let (Some(encoder), Some(shape)) = (&net.feature_encoder, &config.feature_encoder) else {
        return features;
    };
    let [n, d] = features.dims();
    let k = d.saturating_sub(shape.passthrough);
    let encoded = ffn_rows(
        encoder,
        features.clone().slice([0..n, 0..k]),
        config.dropout,
        rngs,
    );
    if k == d {
        encoded
    } else {
        Tensor::cat(vec![encoded, features.slice([0..n, k..d])], 1)
    }
}

/// One sampled forward pass from the batch's embeddings (already sampled when the encoder
/// drops its messages): `PropertyNet::forward` in training mode, its masks drawn row by row
/// from `rngs`.
fn sample_raw(
    net: &PropertyNet,
    config: &ModelConfig,
    batch: &BatchTensors,
    embedding: &Tensor<2>,
    rngs: &mut [ChaCha8Rng],
) -> Tensor<2> {
    let p = config.dropout;
    let features = match (&batch.structure, &batch.descriptors) {
        (StructureTensors::None, _) => encode_features_rows(net, config, embedding.clone(), rngs),
        (_, descriptors) => {
            let e = match config.drops_messages() {
                true => embedding.clone(),
                false => dropout_rows(embedding.clone(), p, rngs),
            };
            match descriptors {
                Some(d) => {
                    let f = encode_features_rows(net, config, d.clone(), rngs);
                    Tensor::cat(vec![e, f], 1)
                }
                None => e,
            }
        }
    };
    ffn_rows(&net.head, features, p, rngs)
}

/// Row-major values of a tensor.
fn to_vec(y: Tensor<2>) -> Result<Vec<f32>, KernelError> {
    y.into_data()
        .try_into_vec::<f32>()
        .map_err(|e| KernelError::InvalidBatch(format!("{e:?}")))
}

/// Mean and standard deviation, entry by entry, of equally long samples: their population
/// standard deviation and, when the samples come with their own predicted variances `vₛ`
/// (a variance head), by the law of total variance
/// `σ² = (1/S) Σₛ vₛ + (1/S) Σₛ (ŷₛ − ŷ)²`.
fn mean_and_sd(samples: &[Vec<f64>], variances: &[Vec<f64>]) -> (Vec<f64>, Vec<f64>) {
    let len = samples.first().map_or(0, Vec::len);
    let k = samples.len().max(1) as f64;
    let mean: Vec<f64> = (0..len)
        .map(|i| samples.iter().map(|s| s[i]).sum::<f64>() / k)
        .collect();
    let sd = (0..len)
        .map(|i| {
            let spread = samples
                .iter()
                .map(|s| (s[i] - mean[i]).powi(2))
                .sum::<f64>()
                / k;
            if variances.is_empty() {
                spread.sqrt()
            } else {
                (variances.iter().map(|v| v[i]).sum::<f64>() / k + spread).sqrt()
            }
        })
        .collect();
    (mean, sd)
}

/// Atoms and directed edges (two per bond) of each input's graph, in batch order (zero for
/// inputs without a graph).
fn graph_rows(inputs: &[&MoleculeInput]) -> (Vec<usize>, Vec<usize>) {
    inputs
        .iter()
        .map(|i| match &i.structure {
            StructureInput::Graph(g) => (g.graph.node_count(), 2 * g.graph.edge_count()),
            _ => (0, 0),
        })
        .unzip()
}

/// Sampled predictions (row-major `len × n_tasks` each), and their predicted variances when
/// the members have a variance head (none otherwise).
type Samples = (Vec<Vec<f64>>, Vec<Vec<f64>>);

/// The `K·S` sampled predictions of one batch, and their predicted variances ([`Samples`]).
fn batch_samples(
    members: &[Checkpoint],
    inputs: &[&MoleculeInput],
    keys: &[u64],
    mc: McDropout,
    device: &Device,
) -> Result<Samples, KernelError> {
    let mut samples = Vec::with_capacity(members.len() * mc.samples);
    let mut variances = Vec::new();
    for (k, member) in members.iter().enumerate() {
        let header = &member.header;
        let config = &mc.sampled_config(&header.model);
        let net = member.net.valid();
        let batch = BatchTensors::new(inputs, config, device)?;
        let sampled_encoder = config.drops_messages();
        let fixed = match sampled_encoder {
            true => None,
            false => Some(net.embed(config, &batch)?),
        };
        let (atoms, edges) = graph_rows(inputs);
        for s in 0..mc.samples {
            let mut rngs: Vec<ChaCha8Rng> = keys
                .iter()
                .map(|&key| ChaCha8Rng::seed_from_u64(row_seed(mc.seed, k, s, key)))
                .collect();
            let embedding = match &fixed {
                Some(e) => e.clone(),
                None => net.embed_with(
                    config,
                    &batch,
                    &mut EncoderDropout::Rows {
                        p: config.dropout,
                        rngs: &mut rngs,
                        atoms: &atoms,
                        edges: &edges,
                    },
                )?,
            };
            let raw = to_vec(sample_raw(&net, config, &batch, &embedding, &mut rngs))?;
            let (values, vars) = postprocess_outputs(
                header.task_type,
                config.head,
                header.target_scaling.as_ref(),
                &raw,
                config.n_tasks,
            );
            samples.push(values);
            variances.extend(vars);
        }
    }
    Ok((samples, variances))
}

/// MC-dropout predictions and uncertainties (`len × n_tasks` each, row-major) of the
/// members, batches of `batch_size` scored side by side on rayon's threads. The members must
/// have passed [`McDropout::check_members`].
pub fn mc_dropout_predict(
    members: &[Checkpoint],
    inputs: &[&MoleculeInput],
    batch_size: usize,
    mc: McDropout,
    device: &Device,
) -> Result<(Vec<f64>, Vec<f64>), KernelError> {
    let keys: Vec<u64> = inputs.par_iter().map(|i| input_key(i)).collect();
    let size = batch_size.max(1);
    let parts: Vec<(Vec<f64>, Vec<f64>)> = inputs
        .par_chunks(size)
        .zip(keys.par_chunks(size))
        .map(|(batch, keys)| {
            batch_samples(members, batch, keys, mc, device).map(|(s, v)| mean_and_sd(&s, &v))
        })
        .collect::<Result<_, _>>()?;
    let (mut mean, mut sd) = (Vec::new(), Vec::new());
    for (m, s) in parts {
        mean.extend(m);
        sd.extend(s);
    }
    Ok((mean, sd))
}

#[cfg(test)]
#[path = "mc_dropout_tests.rs"]
pub(crate) mod tests;
