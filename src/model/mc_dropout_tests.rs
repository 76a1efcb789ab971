//! Tests of MC dropout: the sampled pass mirrors the network, samples depend on the molecule
//! and the seed only, and models without dropout are refused.

use super::*;
use crate::chem::featurize::chemprop_v2_layout;
use crate::model::checkpoint::{CheckpointHeader, FORMAT_VERSION, TargetScaling};
use crate::model::config::{ModelKind, TaskType};
use crate::model::descriptors::DescriptorFeatures;
use crate::model::{FeatureEncoderConfig, InputSpec, featurize};

/// A small untrained model of `config` (regression with a scaling, or classification).
pub(crate) fn test_checkpoint(config: &ModelConfig, task_type: TaskType, seed: u64) -> Checkpoint {
    let device = Device::flex();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n = config.n_tasks;
    let tasks: Vec<String> = (0..n).map(|j| format!("t{j}")).collect();
    Checkpoint {
        header: CheckpointHeader {
            format_version: FORMAT_VERSION,
            moltx_version: "test".into(),
            feature_layout: chemprop_v2_layout(),
            model: config.clone(),
            task_type,
            tasks,
            target_scaling: (task_type == TaskType::Regression).then(|| TargetScaling {
                mean: vec![1.0; n],
                sd: vec![2.0; n],
            }),
            training_data_hash: "test".into(),
            seed,
            metrics: serde_json::Value::Null,
            input_spec: Some(InputSpec::of_model(config, &chemprop_v2_layout())),
        },
        net: PropertyNet::new(config, &mut rng, &device),
    }
}

/// A small configuration of `kind` with dropout `p`.
pub(crate) fn small_config(kind: ModelKind, p: f64) -> ModelConfig {
    ModelConfig {
        hidden: 16,
        ffn_hidden: 12,
        ffn_layers: 2,
        morgan_bits: 64,
        dropout: p,
        ..ModelConfig::defaults(kind, 2)
    }
}

pub(crate) const SMILES: [&str; 5] = [
    "CCO",
    "c1ccccc1O",
    "CC(=O)Oc1ccccc1C(=O)O",
    "CN1C=NC2=C1C(=O)N(C(=O)N2C)C",
    "CC(C)Cc1ccc(cc1)C(C)C(=O)O",
];

fn with_descriptors(mut config: ModelConfig, encoder: bool) -> ModelConfig {
    let mut features = DescriptorFeatures::rdkit_2d();
    let raw: Vec<Vec<f32>> = SMILES
        .iter()
        .map(|s| featurize(&config_of(&config), s).unwrap().descriptors)
        .collect();
    features.fit(raw.iter().map(Vec::as_slice));
    config.descriptors = Some(features);
    if encoder {
        config.feature_encoder = Some(FeatureEncoderConfig {
            hidden: 10,
            layers: 1,
            embedding: 6,
            passthrough: 3,
        });
    }
    config
}

/// `config` with unfitted rdkit_2d descriptors, to compute the raw values.
fn config_of(config: &ModelConfig) -> ModelConfig {
    ModelConfig {
        descriptors: Some(DescriptorFeatures::rdkit_2d()),
        ..config.clone()
    }
}

fn inputs(config: &ModelConfig) -> Vec<MoleculeInput> {
    SMILES
        .iter()
        .map(|s| featurize(config, s).unwrap())
        .collect()
}

#[test]
fn the_sampled_pass_without_masks_is_the_network() {
    let device = Device::flex();
    let configs = [
        small_config(ModelKind::Dmpnn, 0.0),
        with_descriptors(small_config(ModelKind::Dmpnn, 0.0), false),
        with_descriptors(small_config(ModelKind::Dmpnn, 0.0), true),
        small_config(ModelKind::FfnMorgan, 0.0),
        with_descriptors(small_config(ModelKind::FeaturesOnly, 0.0), true),
    ];
    for config in configs {
        let model = test_checkpoint(&config, TaskType::Regression, 3);
        let owned = inputs(&config);
        let refs: Vec<&MoleculeInput> = owned.iter().collect();
        let batch = BatchTensors::new(&refs, &config, &device).unwrap();
        let embedding = model.net.embed(&config, &batch).unwrap();
        let mut rngs: Vec<ChaCha8Rng> = (0..refs.len() as u64)
            .map(ChaCha8Rng::seed_from_u64)
            .collect();
        let sampled = to_vec(sample_raw(
            &model.net, &config, &batch, &embedding, &mut rngs,
        ))
        .unwrap();
        let plain = to_vec(
            model
                .net
                .forward(&config, &batch, false, &mut ChaCha8Rng::seed_from_u64(0))
                .unwrap(),
        )
        .unwrap();
        assert_eq!(sampled.len(), plain.len());
        for (a, b) in sampled.iter().zip(&plain) {
            assert!(
                (a - b).abs() <= 1e-6 * b.abs().max(1.0),
                "{:?}: {a} vs {b}",
                config.kind
            );
        }
    }
}

#[test]
fn samples_depend_on_the_molecule_and_seed_not_the_batch() {
    let device = Device::flex();
    let config = small_config(ModelKind::Dmpnn, 0.3);
    let members = vec![
        test_checkpoint(&config, TaskType::Regression, 1),
        test_checkpoint(&config, TaskType::Regression, 2),
    ];
    McDropout::new(2, 0)
        .unwrap()
        .check_members(&members)
        .unwrap();
    let owned = inputs(&config);
    let refs: Vec<&MoleculeInput> = owned.iter().collect();
    let mc = McDropout::new(8, 11).unwrap();
    let (mean, sd) = mc_dropout_predict(&members, &refs, 2, mc, &device).unwrap();
    assert_eq!(mean.len(), SMILES.len() * 2);
    assert!(sd.iter().all(|s| *s > 0.0), "{sd:?}");
    // Another batching, and the third molecule alone: the same bits.
    let (mean5, sd5) = mc_dropout_predict(&members, &refs, 5, mc, &device).unwrap();
    assert_eq!((&mean, &sd), (&mean5, &sd5));
    let (alone, alone_sd) = mc_dropout_predict(&members, &refs[2..3], 1, mc, &device).unwrap();
    assert_eq!((&alone[..], &alone_sd[..]), (&mean[4..6], &sd[4..6]));
    // Another seed, other samples.
    let other = McDropout::new(8, 12).unwrap();
    let (mean_other, _) = mc_dropout_predict(&members, &refs, 2, other, &device).unwrap();
    assert_ne!(mean, mean_other);
    // The mean of many samples is near the deterministic ensemble prediction.
    let many = McDropout::new(400, 0).unwrap();
    let (mc_mean, mc_sd) = mc_dropout_predict(&members, &refs, 5, many, &device).unwrap();
    let (plain, _) = crate::model::ensemble::ensemble_predict(&members, &refs, 5, &device).unwrap();
    for ((m, p), s) in mc_mean.iter().zip(&plain).zip(&mc_sd) {
        assert!((m - p).abs() < 0.5 * s + 0.05, "{m} vs {p} (sd {s})");
    }
}

#[test]
fn chemprop_placement_samples_the_encoder_and_stays_batch_independent() {
    let device = Device::flex();
    let mut config = small_config(ModelKind::Dmpnn, 0.0);
    config.set_dropout(0.3);
    assert!(config.message_dropout && config.drops_messages());
    let members = vec![test_checkpoint(&config, TaskType::Regression, 1)];
    let owned = inputs(&config);
    let refs: Vec<&MoleculeInput> = owned.iter().collect();
    let mc = McDropout::new(8, 11).unwrap();
    let (mean, sd) = mc_dropout_predict(&members, &refs, 2, mc, &device).unwrap();
    assert!(sd.iter().all(|s| *s > 0.0), "{sd:?}");
    let (mean5, sd5) = mc_dropout_predict(&members, &refs, 5, mc, &device).unwrap();
    assert_eq!((&mean, &sd), (&mean5, &sd5));
    let (alone, alone_sd) = mc_dropout_predict(&members, &refs[3..4], 1, mc, &device).unwrap();
    assert_eq!((&alone[..], &alone_sd[..]), (&mean[6..8], &sd[6..8]));
    // The same weights with the dropout on the embedding instead: other samples.
    let mut legacy = test_checkpoint(&config, TaskType::Regression, 1);
    legacy.header.model.message_dropout = false;
    let (legacy_mean, _) = mc_dropout_predict(&[legacy], &refs, 2, mc, &device).unwrap();
    assert_ne!(mean, legacy_mean);
}

#[test]
fn a_rate_of_its_own_samples_a_model_trained_without_dropout() {
    let device = Device::flex();
    let config = small_config(ModelKind::Dmpnn, 0.0);
    let members = vec![test_checkpoint(&config, TaskType::Regression, 5)];
    let owned = inputs(&config);
    let refs: Vec<&MoleculeInput> = owned.iter().collect();
    let mc = McDropout::new(8, 3).unwrap();
    assert!(mc.check_members(&members).is_err());
    let rated = mc.with_rate(DropoutRate::new(0.2).unwrap());
    let sampled = rated.sampled_config(&config);
    assert!(sampled.drops_messages() && sampled.dropout == 0.2);
    let (mean, sd) = mc_dropout_predict(&members, &refs, 2, rated, &device).unwrap();
    assert!(sd.iter().all(|s| *s > 0.0), "{sd:?}");
    let (mean5, sd5) = mc_dropout_predict(&members, &refs, 5, rated, &device).unwrap();
    assert_eq!((&mean, &sd), (&mean5, &sd5));
    // A model trained with dropout keeps its placement at the new rate.
    let legacy = small_config(ModelKind::Dmpnn, 0.3);
    let resampled = rated.sampled_config(&legacy);
    assert!(!resampled.message_dropout && resampled.dropout == 0.2);
}

#[test]
fn training_with_chemprop_placement_drops_messages_not_the_embedding() {
    let device = Device::flex();
    let mut config = small_config(ModelKind::Dmpnn, 0.0);
    config.set_dropout(0.5);
    let model = test_checkpoint(&config, TaskType::Regression, 4);
    let owned = inputs(&config);
    let refs: Vec<&MoleculeInput> = owned.iter().collect();
    let batch = BatchTensors::new(&refs, &config, &device).unwrap();
    let plain = to_vec(model.net.embed(&config, &batch).unwrap()).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let mut drop = EncoderDropout::Stream {
        p: 0.5,
        rng: &mut rng,
    };
    let dropped = to_vec(model.net.embed_with(&config, &batch, &mut drop).unwrap()).unwrap();
    assert_ne!(plain, dropped);
    // Dropout on the embedding at p = 0.5 would leave each entry 0 or exactly twice the
    // plain one; dropout on the messages changes most entries in other ways.
    let other = plain
        .iter()
        .zip(&dropped)
        .filter(|&(p, d)| *d != 0.0 && (d - 2.0 * p).abs() > 1e-5 * p.abs().max(1.0))
        .count();
    assert!(other > dropped.len() / 4, "{other} of {}", dropped.len());
    // A mask laid out for other molecules is refused, not misapplied.
    let mut rngs: Vec<ChaCha8Rng> = (0..2).map(ChaCha8Rng::seed_from_u64).collect();
    let mut wrong = EncoderDropout::Rows {
        p: 0.5,
        rngs: &mut rngs,
        atoms: &[1, 2],
        edges: &[0, 2],
    };
    assert!(model.net.embed_with(&config, &batch, &mut wrong).is_err());
}

#[test]
fn classification_samples_are_probabilities() {
    let device = Device::flex();
    let config = small_config(ModelKind::FfnMorgan, 0.5);
    let members = vec![test_checkpoint(&config, TaskType::Classification, 4)];
    let owned = inputs(&config);
    let refs: Vec<&MoleculeInput> = owned.iter().collect();
    let (mean, sd) =
        mc_dropout_predict(&members, &refs, 3, McDropout::new(5, 0).unwrap(), &device).unwrap();
    assert!(mean.iter().all(|p| (0.0..=1.0).contains(p)));
    assert!(sd.iter().all(|s| (0.0..=0.5).contains(s)));
}

#[test]
fn models_without_dropout_and_single_samples_are_refused() {
    let zero = test_checkpoint(
        &small_config(ModelKind::Dmpnn, 0.0),
        TaskType::Regression,
        0,
    );
    let some = test_checkpoint(
        &small_config(ModelKind::Dmpnn, 0.2),
        TaskType::Regression,
        0,
    );
    let own = McDropout::new(2, 0).unwrap();
    assert!(matches!(
        own.check_members(&[some.clone(), zero.clone()]),
        Err(UncertaintyError::NoDropout {
            member: 1,
            members: 2
        })
    ));
    let mut one = some.clone();
    one.header.model.dropout = 1.0;
    assert!(matches!(
        own.check_members(&[one]),
        Err(UncertaintyError::BadDropout { .. })
    ));
    assert!(own.check_members(&[some]).is_ok());
    // At a probability of its own, MC dropout samples a model trained without dropout.
    let rated = own.with_rate(DropoutRate::new(0.2).unwrap());
    assert!(rated.check_members(std::slice::from_ref(&zero)).is_ok());
    assert!(DropoutRate::new(0.0).is_err() && DropoutRate::new(1.0).is_err());
    assert!(matches!(
        McDropout::new(1, 0),
        Err(UncertaintyError::TooFewSamples { samples: 1 })
    ));
}

#[test]
fn input_keys_tell_molecules_apart() {
    let config = small_config(ModelKind::Dmpnn, 0.1);
    let a = featurize(&config, "CCO").unwrap();
    let b = featurize(&config, "CCO").unwrap();
    let c = featurize(&config, "CCN").unwrap();
    assert_eq!(input_key(&a), input_key(&b));
    assert_ne!(input_key(&a), input_key(&c));
    let morgan = small_config(ModelKind::FfnMorgan, 0.1);
    assert_ne!(
        input_key(&featurize(&morgan, "CCO").unwrap()),
        input_key(&featurize(&morgan, "CCN").unwrap())
    );
}
