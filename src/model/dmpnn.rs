//! The D-MPNN encoder (Yang et al. 2019, chemprop v2's `BondMessagePassing`), with all message
//! passing done by the fused kernels of [`crate::kernel`].
//!
//! - initialize: `aₑ = W_i [x_atom(source(e)) ‖ x_bond(e)]`, `h⁰ₑ = ReLU(aₑ)`
//! - message:    `mₑ = Σ_{k ∈ in(source(e))} hₖ − h_{rev(e)}` (one fused kernel)
//! - update:     `hₑ = ReLU(aₑ + W_h mₑ)`, `depth − 1` times (as chemprop; files written before
//!   [`ModelConfig::preactivation_skip`] existed use `ReLU(h⁰ₑ + W_h mₑ)`)
//! - finalize:   `hᵥ = ReLU(W_o [x_v ‖ Σ_{e ∈ in(v)} hₑ])`, then a per-molecule aggregation.
//!
//! With chemprop's dropout placement ([`ModelConfig::message_dropout`]) every update and the
//! finalize step end in inverted dropout, `h ← h ⊙ m/(1 − p)`, `m ~ Bernoulli(1 − p)`, as
//! chemprop's `BondMessagePassing` does; the masks come from an [`EncoderDropout`].

use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::activation::relu;
use burn::tensor::{Tensor, TensorData};
use rand_chacha::ChaCha8Rng;

use super::config::{Aggregation, ModelConfig};
use super::init::{dropout, linear, molecule_mask};
use crate::kernel::{self, GraphIndex, KernelError, Readout};

/// The three weight matrices of a D-MPNN (`W_i`, `W_h` without bias, `W_o` with bias).
#[derive(Module, Debug)]
pub struct DmpnnEncoder {
    /// `W_i`: (atom + bond features) → hidden.
    pub w_i: Linear,
    /// `W_h`: hidden → hidden.
    pub w_h: Linear,
    /// `W_o`: (atom features + hidden) → hidden.
    pub w_o: Linear,
}

/// A batch of graphs as tensors on a device.
#[derive(Debug, Clone)]
pub struct GraphTensors {
    /// Index arrays for the kernels.
    pub index: GraphIndex,
    /// `N × atom_dim` atom features.
    pub atoms: Tensor<2>,
    /// `E × bond_dim` directed-edge features.
    pub bonds: Tensor<2>,
}

/// Where the encoder's dropout masks come from.
pub enum EncoderDropout<'a> {
    /// No dropout: inference, or a model whose encoder has none.
    Off,
    /// Training: every mask entry drawn from one generator.
    Stream {
        /// Dropout probability.
        p: f64,
        /// The generator.
        rng: &'a mut ChaCha8Rng,
    },
    /// MC dropout: molecule `i`'s rows drawn from `rngs[i]` (its `atoms[i]` atom rows and
    /// `edges[i]` directed-edge rows, molecules in batch order), so a molecule's masks do not
    /// depend on the batch it is scored in.
    Rows {
        /// Dropout probability.
        p: f64,
        /// One generator per molecule.
        rngs: &'a mut [ChaCha8Rng],
        /// Atoms per molecule.
        atoms: &'a [usize],
        /// Directed edges per molecule.
        edges: &'a [usize],
    },
}

/// Which rows a dropout mask covers.
#[derive(Debug, Clone, Copy)]
enum Rows {
    Atoms,
    Edges,
}

impl EncoderDropout<'_> {
    /// `x` after dropout of its rows (`kind` says whether they are atoms or edges).
    fn apply(&mut self, x: Tensor<2>, kind: Rows) -> Result<Tensor<2>, KernelError> {
        match self {
            EncoderDropout::Off => Ok(x),
            EncoderDropout::Stream { p, rng } => Ok(dropout(x, *p, true, rng)),
            EncoderDropout::Rows {
                p,
                rngs,
                atoms,
                edges,
            } => {
                let counts = match kind {
                    Rows::Atoms => *atoms,
                    Rows::Edges => *edges,
                };
                rows_dropout(x, *p, rngs, counts)
            }
        }
    }
}

/// Inverted dropout whose rows are drawn molecule by molecule: the next `counts[i]` rows
/// from `rngs[i]`.
fn rows_dropout(
    x: Tensor<2>,
    p: f64,
    rngs: &mut [ChaCha8Rng],
    counts: &[usize],
) -> Result<Tensor<2>, KernelError> {
    let [rows, cols] = x.dims();
    if counts.iter().sum::<usize>() != rows || counts.len() != rngs.len() {
        return Err(KernelError::InvalidBatch(format!(
            "dropout of {rows} rows laid out as {} molecules of {} rows",
            rngs.len(),
            counts.iter().sum::<usize>()
        )));
    }
    if !(p > 0.0 && p < 1.0) {
        return Ok(x);
    }
    let mask = molecule_mask(p, rngs, counts.iter().copied(), cols);
    let mask = Tensor::<2>::from_data(TensorData::new(mask, [rows, cols]), &x.device());
    Ok(x * mask)
}

impl DmpnnEncoder {
    /// A freshly initialized encoder.
    pub fn new(
        config: &ModelConfig,
        atom_dim: usize,
        bond_dim: usize,
        rng: &mut ChaCha8Rng,
        device: &burn::tensor::Device,
    ) -> Self {
        let h = config.hidden;
        DmpnnEncoder {
            w_i: linear(atom_dim + bond_dim, h, false, rng, device),
            w_h: linear(h, h, false, rng, device),
            w_o: linear(atom_dim + h, h, true, rng, device),
        }
    }

    /// Molecule embeddings (`M × hidden`), dropout from `drop` after every update and the
    /// finalize step.
    pub fn forward(
        &self,
        config: &ModelConfig,
        g: &GraphTensors,
        drop: &mut EncoderDropout<'_>,
    ) -> Result<Tensor<2>, KernelError> {
        let x_src = kernel::gather_source(g.atoms.clone(), &g.index)?;
        let input = self
            .w_i
            .forward(Tensor::cat(vec![x_src, g.bonds.clone()], 1));
        let mut h = relu(input.clone());
        // chemprop adds the pre-activation input `W_i x` in every update; models made before
        // moltx followed it (config flag off) add the activated `ReLU(W_i x)`.
        let skip = if config.preactivation_skip {
            input
        } else {
            h.clone()
        };
        for _ in 1..config.depth {
            let m = kernel::dmpnn_message(h, &g.index)?;
            h = drop.apply(relu(skip.clone() + self.w_h.forward(m)), Rows::Edges)?;
        }
        let incoming = kernel::incoming_sum(h, &g.index)?;
        let atoms = relu(
            self.w_o
                .forward(Tensor::cat(vec![g.atoms.clone(), incoming], 1)),
        );
        let atoms = drop.apply(atoms, Rows::Atoms)?;
        let how = match config.aggregation {
            Aggregation::Mean => Readout::Mean,
            Aggregation::Sum => Readout::Sum,
            Aggregation::Norm => Readout::NormSum(config.norm),
        };
        kernel::readout(atoms, &g.index, how)
    }
}
