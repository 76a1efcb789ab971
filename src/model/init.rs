//! Seeded parameter initialization, independent of burn's global RNG, so that the same seed
//! gives the same model (values and parameter ids, hence the same model file bytes) even when
//! several models are trained at once in one process.

use burn::module::{Param, ParamId};
use burn::nn::Linear;
use burn::tensor::{Device, Tensor, TensorData};
use rand::{Rng, RngCore};
use rand_chacha::ChaCha8Rng;

/// A linear layer `y = x W (+ b)` with `W ∈ R^{d_in × d_out}` drawn uniformly from
/// `±1/√d_in` (PyTorch's default, as chemprop uses), and the bias likewise.
pub fn linear(
    d_in: usize,
    d_out: usize,
    bias: bool,
    rng: &mut ChaCha8Rng,
    device: &Device,
) -> Linear {
    let bound = 1.0 / (d_in.max(1) as f32).sqrt();
    let mut uniform = |n: usize| {
        (0..n)
            .map(|_| rng.random_range(-bound..=bound))
            .collect::<Vec<f32>>()
    };
    let weight = Tensor::<2>::from_data(
        TensorData::new(uniform(d_in * d_out), [d_in, d_out]),
        device,
    );
    let bias =
        bias.then(|| Tensor::<1>::from_data(TensorData::new(uniform(d_out), [d_out]), device));
    let mut weight = Param::from_tensor(weight);
    weight.id = ParamId::from(rng.next_u64());
    let bias = bias.map(|b| {
        let mut b = Param::from_tensor(b);
        b.id = ParamId::from(rng.next_u64());
        b
    });
    Linear { weight, bias }
}

/// An inverted-dropout mask drawn molecule by molecule: `counts[i]` rows of `cols` entries
/// from `rngs[i]`, each `1/(1 − p)` with probability `1 − p` and 0 otherwise (`0 < p < 1`).
pub(crate) fn molecule_mask(
    p: f64,
    rngs: &mut [ChaCha8Rng],
    counts: impl IntoIterator<Item = usize>,
    cols: usize,
) -> Vec<f32> {
    let keep = 1.0 - p;
    let scale = (1.0 / keep) as f32;
    let mut mask = Vec::new();
    for (rng, n) in rngs.iter_mut().zip(counts) {
        mask.extend((0..n * cols).map(|_| if rng.random_bool(keep) { scale } else { 0.0 }));
    }
    mask
}

/// Inverted dropout with a mask from our own RNG: `x ⊙ m / (1 − p)`, `m ~ Bernoulli(1 − p)`.
/// The identity when `p = 0` or when not training.
pub fn dropout(x: Tensor<2>, p: f64, training: bool, rng: &mut ChaCha8Rng) -> Tensor<2> {
    if !training || p <= 0.0 {
        return x;
    }
    let [rows, cols] = x.dims();
    let keep = 1.0 - p;
    let mask: Vec<f32> = (0..rows * cols)
        .map(|_| {
            if rng.random_bool(keep) {
                (1.0 / keep) as f32
            } else {
                0.0
            }
        })
        .collect();
    let mask = Tensor::<2>::from_data(TensorData::new(mask, [rows, cols]), &x.device());
    x * mask
}
