//! Feed-forward heads: `ffn_layers` hidden layers `x ← dropout(ReLU(W x + b))`, then a linear
//! output layer with one unit per task.

use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use rand_chacha::ChaCha8Rng;

use super::init::{dropout, linear};

/// A multilayer perceptron.
#[derive(Module, Debug)]
pub struct Ffn {
    /// Hidden layers, then the output layer.
    pub layers: Vec<Linear>,
}

impl Ffn {
    /// `d_in → hidden (× n_hidden) → d_out`.
    pub fn new(
        d_in: usize,
        hidden: usize,
        n_hidden: usize,
        d_out: usize,
        rng: &mut ChaCha8Rng,
        device: &Device,
    ) -> Self {
        let mut layers = Vec::with_capacity(n_hidden + 1);
        let mut width = d_in;
        for _ in 0..n_hidden {
            layers.push(linear(width, hidden, true, rng, device));
            width = hidden;
        }
        layers.push(linear(width, d_out, true, rng, device));
        Ffn { layers }
    }

    /// Applies the network; dropout (probability `p`) only when `training`.
    pub fn forward(
        &self,
        mut x: Tensor<2>,
        p: f64,
        training: bool,
        rng: &mut ChaCha8Rng,
    ) -> Tensor<2> {
        let last = self.layers.len().saturating_sub(1);
        for (i, layer) in self.layers.iter().enumerate() {
            x = layer.forward(x);
            if i < last {
                x = dropout(relu(x), p, training, rng);
            }
        }
        x
    }
}
