//! Regression heads that predict their own uncertainty: what the raw outputs of a
//! [`HeadKind::MeanVariance`] or [`HeadKind::Evidential`] head mean, as chemprop 2.3.1's
//! `MveFFN` and `EvidentialFFN` define them.
//!
//! The last layer has `k·T` units for `T` tasks, in `k` blocks of `T` (`torch.chunk` along
//! the outputs): block 0 holds the mean of every task, the others its distribution's
//! parameters before their activations. With `sp(x) = ln(1 + eˣ)` (softplus; `x` itself
//! above 20, as torch and burn compute it), on standardized targets `z = (y − m)/s`:
//!
//! - mean–variance (`k = 2`, raw `μ, s`): `z ~ N(μ, v)`, `v = sp(s)`;
//! - evidential (`k = 4`, raw `γ, n, a, b`): a Normal-Inverse-Gamma prior over the mean and
//!   variance of `z`, `ν = sp(n)`, `α = sp(a) + 1`, `β = sp(b)` (chemprop adds no `ε`), whose
//!   predictive mean is `γ` and whose variances are the aleatoric `E[σ²] = β/(α − 1)`, the
//!   epistemic `Var[μ] = β/(ν(α − 1))`, and their sum, the total
//!   `β(1 + 1/ν)/(α − 1)` (the variance of the Student-t predictive distribution), which is
//!   the one moltx reports (chemprop's `evidential-total` estimator).
//!
//! Un-standardized, a prediction is `ŷ = μ·s + m` with variance `v·s²` (chemprop's
//! `UnscaleTransform` and `transform_variance`; for evidential heads it scales `β` by `s²`,
//! which scales every variance above by `s²`).

use burn::tensor::Tensor;

use super::checkpoint::TargetScaling;
use super::config::HeadKind;

/// Above this input softplus is the identity (torch's and burn's threshold).
pub const SOFTPLUS_THRESHOLD: f64 = 20.0;

/// `sp(x) = ln(1 + eˣ)`, or `x` above [`SOFTPLUS_THRESHOLD`], as torch computes it.
pub fn softplus(x: f64) -> f64 {
    if x > SOFTPLUS_THRESHOLD {
        x
    } else {
        x.exp().ln_1p()
    }
}

/// The Normal-Inverse-Gamma parameters of one evidential prediction (standardized units):
/// `γ` the mean, `ν > 0`, `α > 1`, `β > 0`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evidence {
    /// `γ`, the predicted mean.
    pub gamma: f64,
    /// `ν = sp(n)`, the virtual observations of the mean.
    pub nu: f64,
    /// `α = sp(a) + 1`.
    pub alpha: f64,
    /// `β = sp(b)`.
    pub beta: f64,
}

impl Evidence {
    /// The parameters of raw outputs `(γ, n, a, b)`.
    pub fn from_raw(gamma: f64, n: f64, a: f64, b: f64) -> Self {
        Evidence {
            gamma,
            nu: softplus(n),
            alpha: softplus(a) + 1.0,
            beta: softplus(b),
        }
    }

    /// The aleatoric variance `E[σ²] = β/(α − 1)`.
    pub fn aleatoric(&self) -> f64 {
        self.beta / (self.alpha - 1.0)
    }

    /// The epistemic variance `Var[μ] = β/(ν(α − 1))`.
    pub fn epistemic(&self) -> f64 {
        self.aleatoric() / self.nu
    }

    /// The total variance `β(1 + 1/ν)/(α − 1)`, aleatoric plus epistemic: what moltx
    /// reports.
    pub fn total(&self) -> f64 {
        (1.0 + 1.0 / self.nu) * self.aleatoric()
    }
}

/// Means and, for a head with one, variances (`len × T` each, row-major) of raw outputs
/// (`len × k·T`, row-major), in standardized units: the point head's outputs as they are,
/// a mean–variance head's `μ` and `sp(s)`, an evidential head's `γ` and total variance.
pub fn split_raw(head: HeadKind, raw: &[f32], n_tasks: usize) -> (Vec<f64>, Option<Vec<f64>>) {
    let t = n_tasks.max(1);
    let width = t * head.outputs_per_task();
    let at = |row: &[f32], block: usize, j: usize| f64::from(row[block * t + j]);
    match head {
        HeadKind::Point => (raw.iter().map(|&x| f64::from(x)).collect(), None),
        HeadKind::MeanVariance => {
            let (mut means, mut vars) = (Vec::new(), Vec::new());
            for row in raw.chunks_exact(width) {
                for j in 0..t {
                    means.push(at(row, 0, j));
                    vars.push(softplus(at(row, 1, j)));
                }
            }
            (means, Some(vars))
        }
        HeadKind::Evidential => {
            let (mut means, mut vars) = (Vec::new(), Vec::new());
            for row in raw.chunks_exact(width) {
                for j in 0..t {
                    let e = Evidence::from_raw(
                        at(row, 0, j),
                        at(row, 1, j),
                        at(row, 2, j),
                        at(row, 3, j),
                    );
                    means.push(e.gamma);
                    vars.push(e.total());
                }
            }
            (means, Some(vars))
        }
    }
}

/// Variances in standardized units (`len × T`, row-major) in the targets' units:
/// `v·s²` with `s` the task's standard deviation (unchanged without a scaling).
pub fn unscale_variances(vars: &mut [f64], scaling: Option<&TargetScaling>, n_tasks: usize) {
    if let Some(s) = scaling {
        let t = n_tasks.max(1);
        for (k, v) in vars.iter_mut().enumerate() {
            *v *= s.sd[k % t] * s.sd[k % t];
        }
    }
}

/// The block of raw outputs that holds the values (`M × T`): the mean of a variance head,
/// all of a point head's outputs.
pub fn value_columns(head: HeadKind, out: Tensor<2>, n_tasks: usize) -> Tensor<2> {
    if head.is_point() {
        out
    } else {
        out.narrow(1, 0, n_tasks)
    }
}

/// Block `block` of raw outputs (`M × T`; block 0 is the mean).
pub fn block(out: Tensor<2>, block: usize, n_tasks: usize) -> Tensor<2> {
    out.narrow(1, block * n_tasks, n_tasks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softplus_is_torchs() {
        // torch.nn.functional.softplus of these inputs.
        assert!((softplus(0.0) - std::f64::consts::LN_2).abs() < 1e-15);
        assert!((softplus(-30.0) - (-30.0f64).exp()).abs() < 1e-25);
        assert_eq!(softplus(25.0), 25.0);
        assert!((softplus(1.0) - 1.313_261_687_518_223).abs() < 1e-12);
    }

    #[test]
    fn raw_outputs_split_into_means_and_variances_by_block() {
        // Two rows, two tasks; blocks of two columns.
        let raw = [1.0f32, 2.0, 0.0, 30.0, -1.0, -2.0, 1.0, 0.0];
        let (means, vars) = split_raw(HeadKind::MeanVariance, &raw, 2);
        assert_eq!(means, [1.0, 2.0, -1.0, -2.0]);
        let vars = vars.unwrap();
        assert!((vars[0] - std::f64::consts::LN_2).abs() < 1e-12);
        assert_eq!(vars[1], 30.0);
        assert!((vars[2] - softplus(1.0)).abs() < 1e-12);
        let (point, none) = split_raw(HeadKind::Point, &raw, 2);
        assert_eq!(point.len(), 8);
        assert!(none.is_none());
        // Evidential: γ = 0.5, ν = α − 1 = β = ln 2 → total = (1 + 1/ln 2)·1.
        let raw = [0.5f32, 0.0, 0.0, 0.0];
        let (means, vars) = split_raw(HeadKind::Evidential, &raw, 1);
        assert_eq!(means, [0.5]);
        let expected = 1.0 + 1.0 / std::f64::consts::LN_2;
        assert!((vars.unwrap()[0] - expected).abs() < 1e-12);
        let e = Evidence::from_raw(0.5, 0.0, 0.0, 0.0);
        assert!((e.aleatoric() + e.epistemic() - e.total()).abs() < 1e-12);
        let mut v = vec![1.0, 2.0];
        let scaling = TargetScaling {
            mean: vec![5.0, 0.0],
            sd: vec![3.0, 0.5],
        };
        unscale_variances(&mut v, Some(&scaling), 2);
        assert_eq!(v, [9.0, 0.5]);
    }
}

#[cfg(test)]
#[path = "head_tests.rs"]
mod model_tests;
