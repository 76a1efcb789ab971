//! Unit tests of integrated gradients on small untrained models: completeness, independence
//! from the pass size, ensembles as the mean of members, and the refusals.

use burn::tensor::Device;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::chem::featurize::chemprop_v2_layout;
use crate::model::checkpoint::{CheckpointHeader, FORMAT_VERSION, TargetScaling};
use crate::model::config::TaskType;
use crate::model::{Aggregation, InputSpec, ModelConfig, PropertyNet, featurize};

const SMILES: [&str; 5] = [
    "CCO",
    "C",
    "CC(=O)Nc1ccc(O)cc1",
    "CN1C=NC2=C1C(=O)N(C(=O)N2C)C",
    "CC(C)Cc1ccc(cc1)C(C)C(=O)O",
];

/// An untrained model of `kind` with two tasks, drawn from `seed`.
fn model(kind: ModelKind, task_type: TaskType, seed: u64) -> Checkpoint {
    let config = ModelConfig {
        hidden: 24,
        ffn_hidden: 16,
        morgan_bits: 64,
        aggregation: Aggregation::Sum,
        ..ModelConfig::defaults(kind, 2)
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Checkpoint {
        header: CheckpointHeader {
            format_version: FORMAT_VERSION,
            moltx_version: "test".into(),
            feature_layout: chemprop_v2_layout(),
            model: config.clone(),
            task_type,
            tasks: vec!["a".into(), "b".into()],
            target_scaling: (task_type == TaskType::Regression).then(|| TargetScaling {
                mean: vec![1.0, -3.0],
                sd: vec![2.0, 0.5],
            }),
            training_data_hash: "test".into(),
            seed,
            metrics: serde_json::Value::Null,
            input_spec: Some(InputSpec::of_model(&config, &chemprop_v2_layout())),
        },
        net: PropertyNet::new(&config, &mut rng, &Device::flex()),
    }
}

fn inputs(m: &Checkpoint) -> Vec<MoleculeInput> {
    SMILES
        .iter()
        .map(|s| featurize(&m.header.model, s).unwrap())
        .collect()
}

fn explain(
    members: &[Checkpoint],
    settings: &IgSettings,
) -> Result<Vec<AtomAttributions>, ExplainError> {
    let inputs = inputs(&members[0]);
    let refs: Vec<&MoleculeInput> = inputs.iter().collect();
    integrated_gradients(members, &refs, &[0, 1], settings, &Device::flex())
}

/// Completeness gaps `Σ contributions − (f(x) − f(x'))` of every molecule and task with
/// `steps` steps, with `f(x) − f(x')`.
fn gaps(m: &Checkpoint, steps: usize) -> Vec<(f64, f64)> {
    let settings = IgSettings {
        steps,
        ..IgSettings::default()
    };
    let explained = explain(std::slice::from_ref(m), &settings).unwrap();
    explained
        .iter()
        .flat_map(|a| (0..2).map(|k| (a.completeness_gap(k), a.output[k] - a.baseline[k])))
        .collect()
}

#[test]
fn attributions_add_up_to_the_output_minus_the_baseline() {
    for task_type in [TaskType::Regression, TaskType::Classification] {
        let m = model(ModelKind::Dmpnn, task_type, 1);
        // f(x) is the model's prediction (the logit for classification).
        let inputs = inputs(&m);
        let refs: Vec<&MoleculeInput> = inputs.iter().collect();
        let predicted = m.predict(&refs, 8, &Device::flex()).unwrap();
        let settings = IgSettings {
            steps: 4,
            ..IgSettings::default()
        };
        let explained = explain(std::slice::from_ref(&m), &settings).unwrap();
        assert_eq!(explained.len(), SMILES.len());
        for (i, a) in explained.iter().enumerate() {
            assert_eq!(a.contributions.len(), 2 * a.n_atoms);
            for k in 0..2 {
                let p = predicted[i * 2 + k];
                let f = match task_type {
                    TaskType::Classification => (p / (1.0 - p)).ln(),
                    TaskType::Regression => p,
                };
                assert!(
                    (a.output[k] - f).abs() < 1e-3 * (1.0 + f.abs()),
                    "{f} vs {a:?}"
                );
            }
        }
        // The quadrature error falls with the steps (a ReLU network is piecewise linear
        // along the path, so the midpoint rule is exact between kinks).
        let coarse: f64 = gaps(&m, 8).iter().map(|g| g.0.abs()).sum();
        let fine = gaps(&m, 256);
        assert!(fine.iter().map(|g| g.0.abs()).sum::<f64>() < coarse / 4.0);
        for (gap, delta) in fine {
            assert!(
                gap.abs() <= 0.02 * delta.abs() + 1e-3,
                "{task_type:?}: gap {gap} for f(x) − f(x') = {delta}"
            );
        }
    }
}

#[test]
fn the_pass_size_does_not_change_the_attributions() {
    let m = [model(ModelKind::Dmpnn, TaskType::Regression, 2)];
    let big = explain(&m, &IgSettings::default()).unwrap();
    let tiny = IgSettings {
        max_atoms_per_pass: 1,
        ..IgSettings::default()
    };
    let small = explain(&m, &tiny).unwrap();
    for (a, b) in big.iter().zip(&small) {
        for (x, y) in a.contributions.iter().zip(&b.contributions) {
            assert!((x - y).abs() <= 1e-4 * (1.0 + x.abs()), "{x} vs {y}");
        }
    }
}

#[test]
fn an_ensemble_explains_as_the_mean_of_its_members() {
    let members = [
        model(ModelKind::Dmpnn, TaskType::Regression, 3),
        model(ModelKind::Dmpnn, TaskType::Regression, 4),
    ];
    let settings = IgSettings {
        steps: 8,
        ..IgSettings::default()
    };
    let both = explain(&members, &settings).unwrap();
    let one = explain(&members[..1], &settings).unwrap();
    let two = explain(&members[1..], &settings).unwrap();
    for ((m, a), b) in both.iter().zip(&one).zip(&two) {
        for ((x, y), z) in m
            .contributions
            .iter()
            .zip(&a.contributions)
            .zip(&b.contributions)
        {
            assert!((x - (y + z) / 2.0).abs() < 1e-9);
        }
        assert!((m.output[0] - (a.output[0] + b.output[0]) / 2.0).abs() < 1e-9);
    }
}

#[test]
fn models_without_graphs_and_bad_settings_are_refused() {
    let fp = model(ModelKind::FfnMorgan, TaskType::Regression, 5);
    assert!(matches!(
        explain(&[fp], &IgSettings::default()),
        Err(ExplainError::NotAGraphModel { .. })
    ));
    assert!(matches!(
        integrated_gradients(&[], &[], &[], &IgSettings::default(), &Device::flex()),
        Err(ExplainError::NoModels)
    ));
    let m = model(ModelKind::Dmpnn, TaskType::Regression, 6);
    let zero = IgSettings {
        steps: 0,
        ..IgSettings::default()
    };
    assert!(matches!(
        explain(std::slice::from_ref(&m), &zero),
        Err(ExplainError::Settings(_))
    ));
    let inputs = inputs(&m);
    let refs: Vec<&MoleculeInput> = inputs.iter().collect();
    let far = integrated_gradients(&[m], &refs, &[2], &IgSettings::default(), &Device::flex());
    assert!(matches!(far, Err(ExplainError::Settings(_))));
    let tasks = ["a".to_string(), "b".to_string()];
    assert_eq!(task_indices(&tasks, &[]).unwrap(), [0, 1]);
    assert_eq!(
        task_indices(&tasks, &["b".into(), "b".into()]).unwrap(),
        [1]
    );
    let unknown = task_indices(&tasks, &["c".into()]).unwrap_err();
    assert_eq!(
        unknown.to_string(),
        "unknown task \"c\" (the model predicts a, b)"
    );
}

#[test]
fn legends_state_the_prediction_in_its_own_terms() {
    assert_eq!(
        describe_output(TaskType::Classification, "SR-MMP", 0.0),
        "SR-MMP p=0.500"
    );
    assert_eq!(
        describe_output(TaskType::Regression, "logS", -2.5),
        "logS = -2.500"
    );
}
