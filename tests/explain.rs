//! `moltx explain` and the facade's `Explainer`: on a target that counts nitrogen atoms, a
//! D-MPNN trained here (real burn training on molecules RDKit made from the bundled drugs)
//! gets attributions that rank the nitrogen atoms first; attributions add up; the pictures are
//! valid SVG naming their molecule; the command writes its folder and reports bad rows.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use assert_cmd::Command;
use burn::tensor::Device;
use moltx::chem::depict::Depiction;
use moltx::chem::{MolGraph, Molecule};
use moltx::metrics::roc_auc;
use moltx::model::{Aggregation, Checkpoint, ModelConfig, ModelKind, MoleculeInput};
use moltx::prelude::*;
use moltx::train::metrics::TaskType;
use moltx::train::trainer::{Labelled, TrainOptions, fit};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The target's name.
const TASK: &str = "nitrogens";

/// Variants of `smiles` with one to three atoms swapped outside brackets (aromatic `c`↔`n`,
/// aliphatic `C`↔`N`, `O`→`N`), as RDKit accepts them (canonical SMILES).
fn variants(smiles: &str, rng: &mut ChaCha8Rng, tries: usize) -> Vec<String> {
    let chars: Vec<char> = smiles.chars().collect();
    let mut depth = 0;
    let mut sites = Vec::new();
    for (i, &c) in chars.iter().enumerate() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            'c' | 'n' | 'N' | 'O' if depth == 0 => sites.push(i),
            'C' if depth == 0 && chars.get(i + 1) != Some(&'l') => sites.push(i),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if sites.is_empty() {
        return out;
    }
    for _ in 0..tries {
        let mut v = chars.clone();
        for _ in 0..rng.random_range(1..=3) {
            let i = sites[rng.random_range(0..sites.len())];
            v[i] = match v[i] {
                'c' => 'n',
                'n' => 'c',
                'C' => 'N',
                _ => 'C',
            };
        }
        let text: String = v.into_iter().collect();
        if let Ok(canonical) = Molecule::from_smiles(&text).and_then(|m| m.canonical_smiles()) {
            out.push(canonical);
        }
    }
    out
}

/// Nitrogen atoms of a SMILES.
fn nitrogens(smiles: &str) -> usize {
    let g = MolGraph::from_smiles(smiles).unwrap();
    g.atoms().filter(|a| a.atomic_num == 7).count()
}

/// The bundled drugs' SMILES (the molecules explained, never trained on).
fn drug_smiles() -> Vec<String> {
    common::drugs().into_iter().map(|(_, s)| s).collect()
}

/// Training molecules: variants of the drugs, without the drugs themselves.
fn training_smiles() -> Vec<String> {
    let held_out: BTreeSet<String> = drug_smiles()
        .iter()
        .map(|s| {
            Molecule::from_smiles(s)
                .unwrap()
                .canonical_smiles()
                .unwrap()
        })
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut set = BTreeSet::new();
    for s in drug_smiles() {
        set.extend(variants(&s, &mut rng, 12));
    }
    set.into_iter().filter(|s| !held_out.contains(s)).collect()
}

/// A D-MPNN trained on the nitrogen count (once per test binary), and its file.
fn nitrogen_model() -> &'static (Checkpoint, PathBuf) {
    static MODEL: OnceLock<(Checkpoint, PathBuf)> = OnceLock::new();
    MODEL.get_or_init(|| {
        let smiles = training_smiles();
        assert!(
            smiles.len() > 300,
            "only {} training molecules",
            smiles.len()
        );
        let config = ModelConfig {
            hidden: 64,
            ffn_hidden: 64,
            aggregation: Aggregation::Norm,
            ..ModelConfig::defaults(ModelKind::Dmpnn, 1)
        };
        let inputs: Vec<MoleculeInput> = smiles
            .iter()
            .map(|s| moltx::model::featurize(&config, s).unwrap())
            .collect();
        let refs: Vec<&MoleculeInput> = inputs.iter().collect();
        let targets: Vec<f32> = smiles.iter().map(|s| nitrogens(s) as f32).collect();
        let mask = vec![true; targets.len()];
        let data = Labelled {
            inputs: &refs,
            targets: &targets,
            mask: &mask,
        };
        let options = TrainOptions {
            epochs: 30,
            batch_size: 32,
            seed: 3,
            ..TrainOptions::default()
        };
        let trained = fit(
            &config,
            TaskType::Regression,
            &[TASK.into()],
            &data,
            &data,
            &options,
            "nitrogens".into(),
            &Device::flex(),
            &mut |_| {},
        )
        .unwrap();
        let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("explain_nitrogens.moltx");
        trained.checkpoint.save(&path).unwrap();
        (trained.checkpoint, path)
    })
}

fn explainer() -> Explainer {
    let (model, _) = nitrogen_model();
    Explainer::from_models(vec![model.clone()], &Device::flex()).unwrap()
}

#[test]
fn attributions_rank_the_nitrogen_atoms_first() {
    let drugs = drug_smiles();
    let smiles: Vec<&str> = drugs.iter().map(String::as_str).collect();
    let explained = explainer().explain_smiles(&smiles, &[TASK]).unwrap();
    let (mut scores, mut labels) = (Vec::new(), Vec::new());
    let mut worst_gap = 0.0f64;
    for e in &explained {
        let e = e.as_ref().unwrap();
        let c = e.contributions(TASK).unwrap();
        assert_eq!(c.len(), e.elements.len());
        scores.extend_from_slice(c);
        labels.extend(e.elements.iter().map(|el| el == "N"));
        let a = &e.attributions;
        worst_gap = worst_gap
            .max(a.completeness_gap(0).abs() / (a.output[0] - a.baseline[0]).abs().max(1.0));
    }
    let n_nitrogens = labels.iter().filter(|&&l| l).count();
    assert!(n_nitrogens > 50, "{n_nitrogens} nitrogen atoms");
    let auc = roc_auc(&scores, &labels).unwrap();
    eprintln!(
        "{} atoms ({n_nitrogens} N) of {} molecules: ROC-AUC {auc:.3}, worst relative completeness gap {worst_gap:.4}",
        labels.len(),
        drugs.len()
    );
    assert!(auc > 0.9, "ROC-AUC of attributions for nitrogens {auc}");
    assert!(worst_gap < 0.1, "completeness gap {worst_gap}");
}

/// The elements of an SVG document (names, `<title>` text), or the parse error.
fn parse_svg(svg: &str) -> Result<(Vec<String>, String), xml::reader::Error> {
    use xml::reader::{EventReader, XmlEvent};
    let (mut names, mut title, mut in_title) = (Vec::new(), String::new(), false);
    for event in EventReader::from_str(svg) {
        match event? {
            XmlEvent::StartElement { name, .. } => {
                in_title = name.local_name == "title";
                names.push(name.local_name);
            }
            XmlEvent::Characters(text) if in_title => title.push_str(&text),
            XmlEvent::EndElement { .. } => in_title = false,
            _ => {}
        }
    }
    Ok((names, title))
}

#[test]
fn pictures_are_valid_svg_that_name_their_molecule() {
    let explained = explainer()
        .with_steps(8)
        .explain_smiles(&["CC(=O)Nc1ccc(O)cc1"], &[])
        .unwrap();
    let e = explained[0].as_ref().unwrap();
    let depiction = Depiction {
        legend: "paracetamol & <friends>".into(),
        title: Some("paracetamol CC(=O)Nc1ccc(O)cc1".into()),
        ..Depiction::default()
    };
    let svg = e.svg(TASK, &depiction).unwrap().unwrap();
    let (names, title) = parse_svg(&svg).unwrap();
    assert_eq!(names[0], "svg");
    assert_eq!(names[1], "title");
    assert_eq!(title, "paracetamol CC(=O)Nc1ccc(O)cc1");
    assert!(names.iter().any(|n| n == "ellipse" || n == "path"));
    assert!(e.svg("no such task", &depiction).is_none());
}

/// Runs `moltx explain` with `args`.
fn moltx_explain(args: &[&str]) -> assert_cmd::assert::Assert {
    Command::cargo_bin("moltx")
        .unwrap()
        .arg("explain")
        .args(args)
        .assert()
}

#[test]
fn the_command_writes_tables_and_pictures_and_reports_bad_rows() {
    let (_, model) = nitrogen_model();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    std::fs::write(
        &input,
        "id,smiles\nparacetamol,CC(=O)Nc1ccc(O)cc1\nbroken,C1CC(\ncaffeine,CN1C=NC2=C1C(=O)N(C(=O)N2C)C\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let assert = moltx_explain(&[
        "--model",
        model.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--steps",
        "16",
    ])
    .success();
    let output = assert.get_output();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stderr.contains("row 1 (line 3) (broken)") && stderr.contains("C1CC("),
        "stderr: {stderr}"
    );
    assert!(stdout.contains("2 molecules explained"), "stdout: {stdout}");

    let table = std::fs::read_to_string(out.join("attributions.csv")).unwrap();
    let mut lines = table.lines();
    assert_eq!(
        lines.next(),
        Some("row,id,smiles,task,atom,element,contribution")
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(
        rows.len(),
        11 + 14,
        "one line per atom of paracetamol and caffeine"
    );
    assert_eq!(
        rows[3][..6],
        ["0", "paracetamol", "CC(=O)Nc1ccc(O)cc1", TASK, "3", "N"]
    );
    assert!(
        rows.iter()
            .all(|r| r[6].parse::<f64>().unwrap().is_finite())
    );
    let errors = std::fs::read_to_string(out.join("errors.csv")).unwrap();
    assert!(
        errors.lines().nth(1).unwrap().starts_with("1,3,broken,"),
        "{errors}"
    );
    let outputs = std::fs::read_to_string(out.join("outputs.csv")).unwrap();
    assert_eq!(outputs.lines().count(), 3);
    for (row, name) in [(0, "paracetamol"), (2, "caffeine")] {
        let svg = std::fs::read_to_string(out.join(format!("{row}_{TASK}.svg"))).unwrap();
        let (_, title) = parse_svg(&svg).unwrap();
        assert!(title.starts_with(name) && title.ends_with(TASK), "{title}");
    }
    assert!(!out.join(format!("1_{TASK}.svg")).exists());

    // An unknown task and a file of bad rows only are errors.
    let bad_task = moltx_explain(&[
        "--model",
        model.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--task",
        "logP",
    ])
    .failure();
    let stderr = String::from_utf8_lossy(&bad_task.get_output().stderr).to_string();
    assert!(stderr.contains("unknown task \"logP\""), "{stderr}");
    let only_bad = dir.path().join("bad.smi");
    std::fs::write(&only_bad, "C1CC( x\nc1cccc1 y\n").unwrap();
    let none = moltx_explain(&[
        "--model",
        model.to_str().unwrap(),
        "--input",
        only_bad.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ])
    .failure();
    let stderr = String::from_utf8_lossy(&none.get_output().stderr).to_string();
    assert!(stderr.contains("no molecule of"), "{stderr}");
}

#[test]
fn the_bundled_model_explains_by_default_with_atom_indices() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let drugs = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/approved_drugs.csv");
    moltx_explain(&[
        "--input",
        drugs.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--limit",
        "2",
        "--task",
        "SR-MMP",
        "--task",
        "NR-AR",
        "--steps",
        "4",
        "--atom-indices",
    ])
    .success();
    let table = std::fs::read_to_string(out.join("attributions.csv")).unwrap();
    let tasks: BTreeSet<&str> = table
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(3).unwrap())
        .collect();
    assert_eq!(tasks, BTreeSet::from(["NR-AR", "SR-MMP"]));
    for file in ["0_SR-MMP.svg", "0_NR-AR.svg", "1_SR-MMP.svg", "1_NR-AR.svg"] {
        let svg = std::fs::read_to_string(out.join(file)).unwrap();
        let (_, title) = parse_svg(&svg).unwrap();
        assert!(title.starts_with(if file.starts_with('0') {
            "aspirin"
        } else {
            "paracetamol"
        }));
    }
}
