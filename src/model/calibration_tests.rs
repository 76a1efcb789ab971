//! Tests of calibration files: fitting per task, the round trip, and refusals.

use super::*;
use crate::model::mc_dropout::McDropout;

fn identity(task_type: TaskType) -> ModelIdentity {
    ModelIdentity {
        identity: "2:0badf00d".into(),
        task_type,
        tasks: vec!["a".into(), "b".into()],
    }
}

/// 40 rows of two tasks; task b's every fifth row is unlabelled.
struct Data {
    preds: Vec<f64>,
    truths: Vec<f64>,
    mask: Vec<bool>,
    sds: Vec<f64>,
}

fn data(classification: bool) -> Data {
    let mut d = Data {
        preds: vec![],
        truths: vec![],
        mask: vec![],
        sds: vec![],
    };
    for i in 0..40 {
        for j in 0..2 {
            let x = ((i * 7 + j * 3) % 40) as f64 / 40.0;
            if classification {
                d.preds.push(0.05 + 0.9 * x);
                d.truths.push(f64::from(u8::from((i * 13 + j) % 10 < 6)));
            } else {
                d.preds.push(3.0 * x);
                d.truths
                    .push(3.0 * x + ((i * 31 + j) % 11) as f64 / 10.0 - 0.5);
            }
            d.mask.push(j == 0 || i % 5 != 0);
            d.sds.push(0.2 + x);
        }
    }
    d
}

fn fit(
    method: CalibrationMethod,
    task_type: TaskType,
    sds: bool,
    uncertainty: Option<UncertaintySource>,
) -> Result<Calibration, UncertaintyError> {
    let classification = task_type == TaskType::Classification;
    let d = data(classification);
    let model = identity(task_type);
    Calibration::fit(
        method,
        0.8,
        model.clone(),
        uncertainty,
        &LabelledPredictions {
            classification,
            tasks: &model.tasks,
            preds: &d.preds,
            truths: &d.truths,
            mask: &d.mask,
            sds: sds.then_some(d.sds.as_slice()),
            intervals: None,
            sets: None,
        },
        "cal.csv",
    )
}

#[test]
fn every_method_round_trips_through_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let dropout = UncertaintySource::Dropout(McDropout::new(4, 9).unwrap());
    let cases = [
        (CalibrationMethod::Conformal, TaskType::Regression, true),
        (CalibrationMethod::Conformal, TaskType::Regression, false),
        (
            CalibrationMethod::Conformal,
            TaskType::Classification,
            false,
        ),
        (CalibrationMethod::Platt, TaskType::Classification, false),
        (CalibrationMethod::Isotonic, TaskType::Classification, true),
        (CalibrationMethod::Zscale, TaskType::Regression, true),
    ];
    for (k, (method, task_type, sds)) in cases.into_iter().enumerate() {
        let cal = fit(method, task_type, sds, Some(dropout)).unwrap();
        assert_eq!(cal.tasks[0].rows, 40);
        assert_eq!(cal.tasks[1].rows, 32);
        assert_eq!(cal.uncertainty, Some(dropout));
        let path = dir.path().join(format!("c{k}.json"));
        cal.write(&path).unwrap();
        let back = Calibration::read(&path).unwrap();
        assert_eq!(back, cal, "{method:?}");
        // The same numbers out.
        let (mut v1, mut s1) = (vec![0.3, 0.7], vec![0.5, 1.5]);
        let (mut v2, mut s2) = (v1.clone(), s1.clone());
        let r1 = cal.apply(&mut v1, Some(&mut s1));
        let r2 = back.apply(&mut v2, Some(&mut s2));
        assert_eq!((v1, s1, r1), (v2, s2, r2));
        // Writing it again gives the same bytes.
        let again = dir.path().join(format!("d{k}.json"));
        back.write(&again).unwrap();
        assert_eq!(
            std::fs::read(&path).unwrap(),
            std::fs::read(&again).unwrap()
        );
    }
}

#[test]
fn application_does_what_each_method_says() {
    let interval = fit(
        CalibrationMethod::Conformal,
        TaskType::Regression,
        true,
        Some(UncertaintySource::Spread),
    )
    .unwrap();
    assert!(interval.has_intervals() && interval.needs_spread() && !interval.has_sets());
    assert_eq!(interval.uncertainty, Some(UncertaintySource::Spread));
    let TaskCalibrator::Interval(r) = interval.tasks[0].calibrator else {
        panic!("an interval calibrator");
    };
    assert!(r.normalized);
    let (mut v, mut s) = (vec![1.0, 2.0], vec![0.5, 2.0]);
    let row = interval.apply(&mut v, Some(&mut s));
    assert_eq!(row.lower[0], 1.0 - r.q_hat * 0.5);
    assert_eq!(row.upper[0], 1.0 + r.q_hat * 0.5);
    assert_eq!(v, vec![1.0, 2.0]);

    let platt = fit(
        CalibrationMethod::Platt,
        TaskType::Classification,
        false,
        None,
    )
    .unwrap();
    let TaskCalibrator::Platt(p) = platt.tasks[1].calibrator else {
        panic!("a Platt calibrator");
    };
    let mut v = vec![0.3, 0.7];
    let row = platt.apply(&mut v, None);
    assert_eq!(v[1], p.apply(0.7));
    assert!(row.lower.is_empty() && row.sets.is_empty());
    assert_eq!(platt.uncertainty, None, "Platt rests on no spread");

    let sets = fit(
        CalibrationMethod::Conformal,
        TaskType::Classification,
        false,
        Some(UncertaintySource::Spread),
    )
    .unwrap();
    assert!(sets.has_sets() && !sets.needs_spread());
    assert_eq!(sets.uncertainty, None);
    let row = sets.apply(&mut [0.99, 0.01], None);
    assert_eq!(row.sets.len(), 2);
    assert_eq!(set_label(row.sets[0]), "1");

    let z = fit(CalibrationMethod::Zscale, TaskType::Regression, true, None).unwrap();
    let TaskCalibrator::Zscale(scaler) = z.tasks[0].calibrator else {
        panic!("a z-scaler");
    };
    let mut s = vec![2.0, 3.0];
    z.apply(&mut [0.0, 0.0], Some(&mut s));
    assert_eq!(s[0], scaler.s * 2.0);
}

#[test]
fn methods_that_do_not_fit_are_refused() {
    let e = |r: Result<Calibration, UncertaintyError>| r.unwrap_err().to_string();
    let platt = e(fit(
        CalibrationMethod::Platt,
        TaskType::Regression,
        true,
        None,
    ));
    assert!(platt.contains("classification"), "{platt}");
    let z = e(fit(
        CalibrationMethod::Zscale,
        TaskType::Regression,
        false,
        None,
    ));
    assert!(z.contains("has none"), "{z}");
    let zc = e(fit(
        CalibrationMethod::Zscale,
        TaskType::Classification,
        true,
        None,
    ));
    assert!(zc.contains("regression"), "{zc}");
    let model = identity(TaskType::Regression);
    let unlabelled = Calibration::fit(
        CalibrationMethod::Conformal,
        0.9,
        model.clone(),
        None,
        &LabelledPredictions {
            classification: false,
            tasks: &model.tasks,
            preds: &[1.0, 2.0],
            truths: &[1.0, 0.0],
            mask: &[true, false],
            sds: None,
            intervals: None,
            sets: None,
        },
        "x.csv",
    );
    assert!(matches!(unlabelled, Err(UncertaintyError::NoLabels { ref task }) if task == "b"));
    let bad_coverage = Calibration::fit(
        CalibrationMethod::Conformal,
        1.5,
        model.clone(),
        None,
        &LabelledPredictions {
            classification: false,
            tasks: &model.tasks,
            preds: &[1.0, 2.0],
            truths: &[1.0, 0.0],
            mask: &[true, true],
            sds: None,
            intervals: None,
            sets: None,
        },
        "x.csv",
    );
    assert!(matches!(bad_coverage, Err(UncertaintyError::Fit { .. })));
}

#[test]
fn damaged_foreign_and_mismatched_files_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let cal = fit(
        CalibrationMethod::Conformal,
        TaskType::Regression,
        false,
        None,
    )
    .unwrap();
    let path = dir.path().join("calibration.json");
    cal.write(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let name = path.display().to_string();
    let refused = |contents: &str| {
        std::fs::write(&path, contents).unwrap();
        let e = Calibration::read(&path).unwrap_err().to_string();
        assert!(e.contains(&name), "{e}");
        e
    };
    // A changed number: valid JSON, wrong checksum.
    let TaskCalibrator::Interval(r) = cal.tasks[0].calibrator else {
        panic!("an interval calibrator");
    };
    let q = serde_json::to_string(&r.q_hat).unwrap();
    let edited = text.replacen(&q, &format!("{}", r.q_hat * 2.0), 1);
    assert_ne!(edited, text);
    assert!(refused(&edited).contains("checksum"));
    assert!(refused(&text[..text.len() / 2]).contains("not JSON"));
    assert!(refused("{\"format\": \"other\"}").contains("not a moltx calibration"));
    let future = text.replace("\"version\": 1", "\"version\": 99");
    assert!(refused(&future).contains("version 99"));
    let renamed = text.replace("\"b\"", "\"c\"");
    assert!(refused(&renamed).contains("corrupt"));

    std::fs::write(&path, &text).unwrap();
    let back = Calibration::read(&path).unwrap();
    let other = ModelIdentity {
        identity: "2:12345678".into(),
        ..identity(TaskType::Regression)
    };
    let e = back.check_model(&path, &other).unwrap_err().to_string();
    assert!(e.contains(&name) && e.contains("another model"), "{e}");
    back.check_model(&path, &identity(TaskType::Regression))
        .unwrap();
    let missing = Calibration::read(&dir.path().join("none.json")).unwrap_err();
    assert!(matches!(missing, UncertaintyError::Io { .. }));
}

#[test]
fn infinite_quantiles_survive_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let model = identity(TaskType::Regression);
    // Two labelled rows per task cannot reach 99% coverage: q̂ = +∞.
    let cal = Calibration::fit(
        CalibrationMethod::Conformal,
        0.99,
        model.clone(),
        None,
        &LabelledPredictions {
            classification: false,
            tasks: &model.tasks,
            preds: &[1.0, 2.0, 1.5, 2.5],
            truths: &[1.1, 2.2, 1.4, 2.0],
            mask: &[true; 4],
            sds: None,
            intervals: None,
            sets: None,
        },
        "tiny.csv",
    )
    .unwrap();
    let path = dir.path().join("m.calibration.json");
    cal.write(&path).unwrap();
    let back = Calibration::read(&path).unwrap();
    assert_eq!(back, cal);
    let row = back.apply(&mut [1.0, 2.0], None);
    assert_eq!(row.lower[0], f64::NEG_INFINITY);
    assert_eq!(
        default_calibration_path(Path::new("x/model_0.moltx")),
        PathBuf::from("x/model_0.calibration.json")
    );
    assert_eq!(
        default_calibration_path(dir.path()),
        dir.path().join("calibration.json")
    );
}
