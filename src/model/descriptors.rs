//! Molecule-level descriptor features appended to the learned embedding before the head, as
//! chemprop's feature generators do. Raw RDKit 2D descriptors are standardized with the
//! training set's mean and standard deviation, stored in the model file:
//! `x̃ = clamp((x − μ) / σ, −10, 10)`, and `x̃ = 0` where `x` is not finite or `σ = 0`.

use serde::{Deserialize, Serialize};

use crate::chem::descriptors::rdkit_descriptor_names;

/// Name of the RDKit 2D descriptor generator.
pub const RDKIT_2D: &str = "rdkit_2d";

/// Which descriptors a model reads, and how they are scaled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DescriptorFeatures {
    /// Generator name ([`RDKIT_2D`]).
    pub generator: String,
    /// Descriptor names, in order.
    pub names: Vec<String>,
    /// Training-set mean of each descriptor (empty until fitted).
    pub mean: Vec<f64>,
    /// Training-set standard deviation of each descriptor (empty until fitted).
    pub sd: Vec<f64>,
}

impl DescriptorFeatures {
    /// The RDKit 2D descriptors, not yet fitted.
    pub fn rdkit_2d() -> Self {
        DescriptorFeatures {
            generator: RDKIT_2D.into(),
            names: rdkit_descriptor_names().to_vec(),
            mean: Vec::new(),
            sd: Vec::new(),
        }
    }

    /// A generator by name.
    pub fn by_name(name: &str) -> Result<Self, String> {
        match name {
            RDKIT_2D | "rdkit_2d_normalized" => Ok(Self::rdkit_2d()),
            other => Err(format!(
                "unknown features generator {other:?} (known: {RDKIT_2D})"
            )),
        }
    }

    /// Number of features.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True when there are no features.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Sets mean and standard deviation from raw rows (non-finite values ignored).
    pub fn fit<'a>(&mut self, rows: impl Iterator<Item = &'a [f32]> + Clone) {
        let d = self.len();
        let (mut sum, mut sq, mut n) = (vec![0.0f64; d], vec![0.0f64; d], vec![0usize; d]);
        for row in rows {
            for (j, &x) in row.iter().enumerate().take(d) {
                if x.is_finite() {
                    sum[j] += f64::from(x);
                    sq[j] += f64::from(x) * f64::from(x);
                    n[j] += 1;
                }
            }
        }
        self.mean = (0..d).map(|j| sum[j] / n[j].max(1) as f64).collect();
        self.sd = (0..d)
            .map(|j| {
                let m = self.mean[j];
                (sq[j] / n[j].max(1) as f64 - m * m).max(0.0).sqrt()
            })
            .collect();
    }

    /// Writes the standardized features of one raw row into `out`.
    pub fn normalize(&self, raw: &[f32], out: &mut [f32]) {
        for (j, slot) in out.iter_mut().enumerate() {
            let x = raw.get(j).copied().map_or(f64::NAN, f64::from);
            let (m, s) = (
                self.mean.get(j).copied().unwrap_or(0.0),
                self.sd.get(j).copied().unwrap_or(0.0),
            );
            *slot = if x.is_finite() && s > 0.0 {
                ((x - m) / s).clamp(-10.0, 10.0) as f32
            } else {
                0.0
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaling_survives_the_json_header_bit_for_bit() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let values: Vec<f64> = (0..2000)
            .map(|_| rng.random_range(-1e3..1e3) * 10f64.powi(rng.random_range(-6..6)))
            .collect();
        let f = DescriptorFeatures {
            generator: "test".into(),
            names: (0..1000).map(|i| format!("d{i}")).collect(),
            mean: values[..1000].to_vec(),
            sd: values[1000..].to_vec(),
        };
        let back: DescriptorFeatures =
            serde_json::from_str(&serde_json::to_string(&f).unwrap()).unwrap();
        assert_eq!(back, f);
    }

    #[test]
    fn fit_and_normalize() {
        let mut f = DescriptorFeatures {
            generator: "t".into(),
            names: vec!["a".into(), "b".into(), "c".into()],
            mean: vec![],
            sd: vec![],
        };
        let rows: Vec<Vec<f32>> = vec![vec![1.0, 5.0, f32::NAN], vec![3.0, 5.0, 2.0]];
        f.fit(rows.iter().map(Vec::as_slice));
        assert_eq!(f.mean, vec![2.0, 5.0, 2.0]);
        assert_eq!(f.sd, vec![1.0, 0.0, 0.0]);
        let mut out = [9.0f32; 3];
        f.normalize(&[4.0, 7.0, f32::INFINITY], &mut out);
        assert_eq!(out, [2.0, 0.0, 0.0]);
        f.normalize(&[1e9, 0.0, 0.0], &mut out);
        assert_eq!(out[0], 10.0);
    }
}
