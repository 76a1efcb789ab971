//! An exponential moving average of the weights over optimizer steps (Polyak averaging):
//! validated and kept instead of the raw weights, it smooths the step-to-step noise of the last
//! epochs, so the epoch that validation picks depends less on where the last step landed.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::Tensor;

use crate::model::PropertyNet;

/// `θ̄ ← d_t·θ̄ + (1 − d_t)·θ` after every step `t` (0-based), with the warm-up
/// `d_t = min(d, (1 + t)/(10 + t))` so that the first steps do not keep the initialization.
#[derive(Debug, Clone)]
pub struct WeightAverage {
    decay: f64,
    updates: u64,
    net: PropertyNet,
}

impl WeightAverage {
    /// An average that starts at `net` (its weights without gradients) with decay `decay`
    /// in `[0, 1)`.
    pub fn new(net: &PropertyNet, decay: f64) -> Self {
        WeightAverage {
            decay,
            updates: 0,
            net: net.valid(),
        }
    }

    /// An average restored from a checkpoint: its weights and the updates taken.
    pub fn restored(net: PropertyNet, decay: f64, updates: u64) -> Self {
        WeightAverage {
            decay,
            updates,
            net,
        }
    }

    /// Takes one step's weights into the average.
    pub fn update(&mut self, net: &PropertyNet) {
        let t = self.updates as f64;
        let d = self.decay.min((1.0 + t) / (10.0 + t));
        let mut current = Collect(Vec::new());
        net.valid().visit(&mut current);
        let mut blend = Blend {
            decay: d,
            current: current.0.into_iter(),
        };
        self.net = self.net.clone().map(&mut blend);
        self.updates += 1;
    }

    /// The averaged weights.
    pub fn net(&self) -> &PropertyNet {
        &self.net
    }

    /// Steps taken into the average.
    pub fn updates(&self) -> u64 {
        self.updates
    }
}

/// Every float parameter, flattened, in visiting order.
struct Collect(Vec<Tensor<1>>);

impl ModuleVisitor for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let value = param.val();
        let n = value.shape().num_elements();
        self.0.push(value.reshape([n]));
    }
}

/// Blends each float parameter with the next collected one (the same structure visited in the
/// same order).
struct Blend {
    decay: f64,
    current: std::vec::IntoIter<Tensor<1>>,
}

impl ModuleMapper for Blend {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let Some(current) = self.current.next() else {
            return param;
        };
        let d = self.decay;
        param.map(|avg| {
            let dims = avg.dims();
            avg.mul_scalar(d) + current.reshape(dims).mul_scalar(1.0 - d)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ModelConfig;
    use burn::tensor::Device;
    use rand::SeedableRng;

    fn first_weights(net: &PropertyNet) -> Vec<f32> {
        let mut c = Collect(Vec::new());
        net.visit(&mut c);
        c.0[0].clone().into_data().try_to_vec::<f32>().unwrap()
    }

    #[test]
    fn average_follows_the_formula() {
        let device = Device::flex();
        let config = ModelConfig::defaults(crate::model::ModelKind::Dmpnn, 1);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let a = PropertyNet::new(&config, &mut rng, &device);
        let b = PropertyNet::new(&config, &mut rng, &device);
        let (wa, wb) = (first_weights(&a), first_weights(&b));
        let mut avg = WeightAverage::new(&a, 0.5);
        // t = 0: d = min(0.5, 1/10) = 0.1.
        avg.update(&b);
        let got = first_weights(avg.net());
        for k in [0, 7, 100] {
            let want = 0.1 * wa[k] + 0.9 * wb[k];
            assert!((got[k] - want).abs() < 1e-6, "{k}: {} vs {want}", got[k]);
        }
        // Later steps use the decay itself: t = 20 gives min(0.5, 21/30) = 0.5.
        let mut late = WeightAverage::restored(a.clone(), 0.5, 20);
        late.update(&b);
        let got = first_weights(late.net());
        assert!((got[3] - (0.5 * wa[3] + 0.5 * wb[3])).abs() < 1e-6);
        assert_eq!(late.updates(), 21);
    }
}
