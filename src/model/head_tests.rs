//! Tests of variance heads in models: the variances un-scaled by `sd²`, ensembles and MC
//! dropout combining them by the law of total variance, the model file saying what it is.

use std::path::Path;

use burn::tensor::Device;

use super::*;
use crate::model::checkpoint::{Checkpoint, CheckpointError, format_version_of};
use crate::model::config::{ModelKind, TaskType};
use crate::model::mc_dropout::tests::{SMILES, small_config, test_checkpoint};
use crate::model::mc_dropout::{McDropout, mc_dropout_predict};
use crate::model::predict::forward_raw;
use crate::model::{Ensemble, MoleculeInput, Scorer, featurize};

fn config(head: HeadKind, p: f64) -> crate::model::ModelConfig {
    let mut c = small_config(ModelKind::Dmpnn, p);
    c.head = head;
    c
}

fn inputs(c: &crate::model::ModelConfig) -> Vec<MoleculeInput> {
    SMILES.iter().map(|s| featurize(c, s).unwrap()).collect()
}

#[test]
fn a_variance_head_predicts_unscaled_means_and_variances() {
    let device = Device::flex();
    for head in [HeadKind::MeanVariance, HeadKind::Evidential] {
        let c = config(head, 0.0);
        let m = test_checkpoint(&c, TaskType::Regression, 3);
        let inputs = inputs(&c);
        let refs: Vec<&MoleculeInput> = inputs.iter().collect();
        let raw = forward_raw(&m.net, &c, &refs, 8, &device).unwrap();
        assert_eq!(raw.len(), SMILES.len() * c.n_outputs());
        let (z, v) = split_raw(head, &raw, 2);
        let (mean, var) = m.predict_with_variance(&refs, 2, &device).unwrap();
        let var = var.unwrap();
        // test_checkpoint scales every task by sd 2 around mean 1.
        for k in 0..mean.len() {
            assert!((mean[k] - (2.0 * z[k] + 1.0)).abs() < 1e-9);
            assert!((var[k] - 4.0 * v.as_ref().unwrap()[k]).abs() < 1e-9);
            assert!(var[k] > 0.0);
        }
        assert_eq!(m.predict(&refs, 8, &device).unwrap(), mean);
    }
}

#[test]
fn ensembles_of_variance_models_add_the_members_variances_and_their_disagreement() {
    let device = Device::flex();
    for head in [HeadKind::MeanVariance, HeadKind::Evidential] {
        let c = config(head, 0.0);
        let members: Vec<Checkpoint> = (1..=3)
            .map(|s| test_checkpoint(&c, TaskType::Regression, s))
            .collect();
        let inputs = inputs(&c);
        let refs: Vec<&MoleculeInput> = inputs.iter().collect();
        let each: Vec<(Vec<f64>, Vec<f64>)> = members
            .iter()
            .map(|m| {
                let (mu, v) = m.predict_with_variance(&refs, 8, &device).unwrap();
                (mu, v.unwrap())
            })
            .collect();
        let ensemble = Ensemble::new(members, Path::new("three")).unwrap();
        assert!(ensemble.has_spread() && ensemble.has_variance_head());
        let scores = ensemble.score(&refs, &device).unwrap();
        let spread = scores.spread.unwrap();
        for i in 0..scores.values.len() {
            // σ² = (1/K) Σ (vₖ + μₖ²) − μ̄²
            let k = each.len() as f64;
            let mean = each.iter().map(|(mu, _)| mu[i]).sum::<f64>() / k;
            let second = each.iter().map(|(mu, v)| v[i] + mu[i] * mu[i]).sum::<f64>() / k;
            assert!((scores.values[i] - mean).abs() < 1e-12);
            let expected = second - mean * mean;
            assert!(
                (spread[i] * spread[i] - expected).abs() < 1e-9 * expected.max(1.0),
                "{head:?}: {} vs {expected}",
                spread[i] * spread[i]
            );
        }
    }
}

#[test]
fn mc_dropout_of_a_variance_model_adds_the_predicted_variance() {
    let device = Device::flex();
    let c = config(HeadKind::MeanVariance, 0.3);
    let mve = test_checkpoint(&c, TaskType::Regression, 5);
    // Its point-head twin: the same weights, the last layer cut to the mean block, so every
    // sampled pass draws the same masks and predicts the same means.
    let mut twin = mve.clone();
    twin.header.model.head = HeadKind::Point;
    let last = twin.net.head.layers.last_mut().unwrap();
    let [d_in, _] = last.weight.dims();
    last.weight = burn::module::Param::from_tensor(last.weight.val().slice([0..d_in, 0..2]));
    if let Some(b) = &mut last.bias {
        *b = burn::module::Param::from_tensor(b.val().narrow(0, 0, 2));
    }
    let inputs = inputs(&c);
    let refs: Vec<&MoleculeInput> = inputs.iter().collect();
    let mc = McDropout::new(8, 1).unwrap();
    let (mean, sd) = mc_dropout_predict(std::slice::from_ref(&mve), &refs, 2, mc, &device).unwrap();
    let (twin_mean, twin_sd) =
        mc_dropout_predict(std::slice::from_ref(&twin), &refs, 2, mc, &device).unwrap();
    let (_, plain) = mve.predict_with_variance(&refs, 8, &device).unwrap();
    let plain = plain.unwrap();
    for i in 0..mean.len() {
        assert!(
            (mean[i] - twin_mean[i]).abs() < 1e-9,
            "{} vs {}",
            mean[i],
            twin_mean[i]
        );
        // σ² = (1/S) Σ vₛ + the samples' spread: the predicted variance, sampled, on top.
        let added = sd[i] * sd[i] - twin_sd[i] * twin_sd[i];
        assert!(
            added > 0.1 * plain[i] && added < 10.0 * plain[i],
            "{added} vs {}",
            plain[i]
        );
    }
}

#[test]
fn the_model_file_says_what_head_it_has() {
    let device = Device::flex();
    let point = test_checkpoint(&config(HeadKind::Point, 0.0), TaskType::Regression, 1);
    assert_eq!(format_version_of(&point.header.model), 4);
    let bytes = point.to_bytes().unwrap();
    assert_eq!(u32::from_le_bytes(bytes[8..12].try_into().unwrap()), 4);
    assert!(!String::from_utf8_lossy(&bytes).contains("\"head\""));
    let mve = test_checkpoint(
        &config(HeadKind::MeanVariance, 0.0),
        TaskType::Regression,
        1,
    );
    let bytes = mve.to_bytes().unwrap();
    assert_eq!(u32::from_le_bytes(bytes[8..12].try_into().unwrap()), 5);
    assert!(String::from_utf8_lossy(&bytes).contains("\"head\":\"mean_variance\""));
    let back = Checkpoint::from_bytes(&bytes, Path::new("mve.moltx"), &device).unwrap();
    assert_eq!(back.header.model.head, HeadKind::MeanVariance);
    // A classifier with a variance head is refused.
    let bad = test_checkpoint(
        &config(HeadKind::Evidential, 0.0),
        TaskType::Classification,
        1,
    );
    let err =
        Checkpoint::from_bytes(&bad.to_bytes().unwrap(), Path::new("bad"), &device).unwrap_err();
    assert!(matches!(err, CheckpointError::BadHeader { .. }), "{err}");
    assert!(err.to_string().contains("evidential head"), "{err}");
}
