//! The D-MPNN encoder (Yang et al. 2019, chemprop v2's `BondMessagePassing`), with all message
//! passing done by the fused kernels of [`crate::kernel`].
//!
//! - initialize: `aₑ = W_i [x_atom(source(e)) ‖ x_bond(e)]`, `h⁰ₑ = ReLU(aₑ)`
//! - message:    `mₑ = Σ_{k ∈ in(source(e))} hₖ − h_{rev(e)}` (one fused kernel)
//! - update:     `hₑ = ReLU(aₑ + W_h mₑ)`, `depth − 1` times (as chemprop; files written before
//!   [`ModelConfig::preactivation_skip`] existed use `ReLU(h⁰ₑ + W_h mₑ)`)
//! - finalize:   `hᵥ = ReLU(W_o [x_v ‖ Σ_{e ∈ in(v)} hₑ])`, then a per-molecule aggregation.

use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::Tensor;
use burn::tensor::activation::relu;
use rand_chacha::ChaCha8Rng;

use super::config::{Aggregation, ModelConfig};
use super::init::linear;
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

    /// Molecule embeddings (`M × hidden`).
    pub fn forward(
        &self,
        config: &ModelConfig,
        g: &GraphTensors,
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
            h = relu(skip.clone() + self.w_h.forward(m));
        }
        let incoming = kernel::incoming_sum(h, &g.index)?;
        let atoms = relu(
            self.w_o
                .forward(Tensor::cat(vec![g.atoms.clone(), incoming], 1)),
        );
        let how = match config.aggregation {
            Aggregation::Mean => Readout::Mean,
            Aggregation::Sum => Readout::Sum,
            Aggregation::Norm => Readout::NormSum(config.norm),
        };
        kernel::readout(atoms, &g.index, how)
    }
}
