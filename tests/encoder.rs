//! Signature encoders: pathway-level input, encoder files (round trip and corruption), feature
//! encoders inside property models (model-file round trip, pretrained starting weights).

use std::path::Path;

use burn::tensor::Device;
use moltx::expr::matrix::{Layout, read_signatures};
use moltx::expr::pathway::{PathwayScorer, SignatureFeaturizer, SignatureInput, read_gene_sets};
use moltx::link::profiled::values_in;
use moltx::model::checkpoint::CheckpointError;
use moltx::model::descriptors::DescriptorFeatures;
use moltx::model::signature::{DenoisingOptions, SignatureEncoderConfig};
use moltx::model::signature_file::SignatureEncoderFile;
use moltx::model::{Checkpoint, FeatureEncoderConfig, ModelConfig, ModelKind, featurize};
use moltx::train::encoder_job::{EncoderJob, fit_encoder};
use moltx::train::metrics::TaskType;
use moltx::train::trainer::{Labelled, TrainOptions, fit};

const REFS: &str = "fixtures/expr/refs.tsv";

/// Two gene sets over the fixture's genes 1000..1019, written as GMT.
fn gene_sets(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("sets.gmt");
    std::fs::write(
        &path,
        "EVEN\tna\t1000\t1002\t1004\t1006\t1008\n\
         ODD\tna\t1001\t1003\t1005\t1007\t1009\tNOT_A_GENE\n\
         SMALL\tna\t1010\n",
    )
    .unwrap();
    path
}

fn encoder(dir: &Path, input: SignatureInput) -> SignatureEncoderFile {
    let m = read_signatures(Path::new(REFS), Layout::Rows).unwrap();
    let sets = read_gene_sets(&gene_sets(dir)).unwrap();
    let scorer = PathwayScorer::new(&sets, &m.genes, None, 2);
    assert_eq!(scorer.names, ["EVEN", "ODD"], "SMALL has one gene");
    let job = EncoderJob {
        featurizer: SignatureFeaturizer::new(input, m.genes.ids().to_vec(), Some(scorer)).unwrap(),
        config: SignatureEncoderConfig {
            hidden: 8,
            embedding: 3,
            ..SignatureEncoderConfig::defaults(0)
        },
        options: DenoisingOptions {
            epochs: 20,
            batch_size: 2,
            ..DenoisingOptions::default()
        },
        holdout: 0.0,
    };
    let (file, report) = fit_encoder(&m, &job, &Device::flex(), &mut |_, _| {}).unwrap();
    assert!(
        report.loss_last < report.loss_first,
        "loss {} → {}",
        report.loss_first,
        report.loss_last
    );
    file
}

#[test]
fn encoder_file_round_trips_and_names_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let file = encoder(dir.path(), SignatureInput::Both);
    assert_eq!(file.header.config.input_dim, 22, "20 genes + 2 pathways");
    let path = dir.path().join("enc.moltx");
    file.save(&path).unwrap();
    let device = Device::flex();
    let loaded = SignatureEncoderFile::load(&path, &device).unwrap();
    // serde_json may move the last bit of an f64 (no `float_roundtrip`): compare scaling
    // approximately and everything else exactly.
    let (a, b) = (&loaded.header, &file.header);
    assert_eq!(a.featurizer, b.featurizer);
    assert_eq!(a.config, b.config);
    assert_eq!(a.scaling.names, b.scaling.names);
    for (x, y) in a
        .scaling
        .mean
        .iter()
        .chain(&a.scaling.sd)
        .zip(b.scaling.mean.iter().chain(&b.scaling.sd))
    {
        approx::assert_relative_eq!(x, y, max_relative = 1e-14);
    }
    let m = read_signatures(Path::new(REFS), Layout::Rows).unwrap();
    let rows: Vec<Vec<f32>> = (0..m.n_signatures())
        .map(|s| {
            file.inputs(&values_in(
                &file.header.featurizer.genes,
                &m.genes,
                m.column(s),
            ))
            .unwrap()
        })
        .collect();
    let inputs_loaded: Vec<Vec<f32>> = (0..m.n_signatures())
        .map(|s| {
            loaded
                .inputs(&values_in(
                    &file.header.featurizer.genes,
                    &m.genes,
                    m.column(s),
                ))
                .unwrap()
        })
        .collect();
    assert_eq!(rows, inputs_loaded);
    assert_eq!(file.embed(&rows, &device), loaded.embed(&rows, &device));
    assert_eq!(loaded.embed(&rows, &device).len(), rows.len() * 3);

    let bytes = std::fs::read(&path).unwrap();
    let mut flipped = bytes.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x40;
    let err = SignatureEncoderFile::from_bytes(&flipped, &path, &device).unwrap_err();
    assert!(matches!(err, CheckpointError::Corrupted { .. }), "{err}");
    let err =
        SignatureEncoderFile::from_bytes(&bytes[..bytes.len() - 9], &path, &device).unwrap_err();
    assert!(matches!(err, CheckpointError::Truncated { .. }), "{err}");
    let model = std::fs::read("fixtures/models/tox21/model_0.moltx").unwrap_or_default();
    if !model.is_empty() {
        let err = SignatureEncoderFile::from_bytes(&model, &path, &device).unwrap_err();
        assert!(matches!(err, CheckpointError::BadMagic(_)), "{err}");
    }
}

#[test]
fn pathway_only_encoder_reads_one_score_per_set() {
    let dir = tempfile::tempdir().unwrap();
    let file = encoder(dir.path(), SignatureInput::Pathways);
    assert_eq!(file.header.config.input_dim, 2);
    assert_eq!(file.header.scaling.names, ["EVEN", "ODD"]);
}

fn descriptor_model(encoder: Option<FeatureEncoderConfig>) -> ModelConfig {
    let mut config = ModelConfig::defaults(ModelKind::FeaturesOnly, 1);
    config.ffn_hidden = 16;
    let mut descriptors = DescriptorFeatures::rdkit_2d();
    let rows: Vec<Vec<f32>> = ["CCO", "c1ccccc1", "CC(=O)O", "CCN"]
        .iter()
        .map(|s| {
            featurize(
                &ModelConfig {
                    descriptors: Some(descriptors.clone()),
                    ..config.clone()
                },
                s,
            )
            .unwrap()
            .descriptors
        })
        .collect();
    descriptors.fit(rows.iter().map(Vec::as_slice));
    config.descriptors = Some(descriptors);
    config.feature_encoder = encoder;
    config
}

#[test]
fn feature_encoder_models_round_trip_and_start_from_given_weights() {
    let shape = FeatureEncoderConfig {
        hidden: 8,
        layers: 1,
        embedding: 4,
        passthrough: 0,
    };
    let config = descriptor_model(Some(shape.clone()));
    let smiles = ["CCO", "c1ccccc1", "CC(=O)O", "CCN", "CCCCCC", "OCCO"];
    let inputs: Vec<_> = smiles
        .iter()
        .map(|s| featurize(&config, s).unwrap())
        .collect();
    let refs: Vec<_> = inputs.iter().collect();
    let y: Vec<f32> = smiles.iter().map(|s| s.len() as f32).collect();
    let mask = vec![true; y.len()];
    let data = Labelled {
        inputs: &refs,
        targets: &y,
        mask: &mask,
    };
    let options = TrainOptions {
        epochs: 3,
        ..TrainOptions::default()
    };
    let tasks = ["len".to_string()];
    let trained = fit(
        &config,
        TaskType::Regression,
        &tasks,
        &data,
        &data,
        &options,
        "h".into(),
        &Device::flex(),
        &mut |_| {},
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.moltx");
    trained.checkpoint.save(&path).unwrap();
    let device = Device::flex();
    let loaded = Checkpoint::load(&path, &device).unwrap();
    assert_eq!(loaded.header.model.feature_encoder, Some(shape.clone()));
    assert_eq!(
        trained.checkpoint.predict(&refs, 4, &device).unwrap(),
        loaded.predict(&refs, 4, &device).unwrap()
    );

    // Zero epochs keep the starting weights: they must be the given ones.
    let given = loaded.net.feature_encoder.clone().unwrap();
    let start = TrainOptions {
        epochs: 0,
        seed: 99,
        feature_encoder_init: Some(given.clone()),
        ..TrainOptions::default()
    };
    let fit_from_start = |config: &ModelConfig| {
        fit(
            config,
            TaskType::Regression,
            &tasks,
            &data,
            &data,
            &start,
            "h".into(),
            &Device::flex(),
            &mut |_| {},
        )
    };
    let kept = fit_from_start(&config).unwrap();
    let weights = |f: &moltx::model::ffn::Ffn| -> Vec<f32> {
        f.layers[0]
            .weight
            .val()
            .into_data()
            .try_into_vec::<f32>()
            .unwrap()
    };
    assert_eq!(
        weights(kept.checkpoint.net.feature_encoder.as_ref().unwrap()),
        weights(&given)
    );

    // Starting weights of the wrong shape, or for a model without an encoder, are errors.
    let refused = |config: &ModelConfig| fit_from_start(config).is_err();
    assert!(refused(&descriptor_model(Some(FeatureEncoderConfig {
        hidden: 5,
        ..shape
    }))));
    assert!(refused(&descriptor_model(None)));
}
