//! Tables, splits and batches on fixtures.

use std::path::Path;

use moltx::chem::MolGraph;
use moltx::data::split::{
    kfold_split, random_split, scaffold_kfold_split, scaffold_split, split_from_file,
};
use moltx::data::summary::scaffolds_of;
use moltx::data::{DataError, GraphBatch, MoleculeTable, TableOptions};
use proptest::prelude::*;

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

#[test]
fn csv_with_crlf_missing_labels_and_trailing_space() {
    let table = MoleculeTable::read(&fixture("labels_crlf.csv"), &TableOptions::default()).unwrap();
    assert_eq!(table.n_rows, 6);
    assert_eq!(table.task_names, vec!["activity", "solubility"]);
    assert_eq!(table.len(), 5);
    assert_eq!(table.failures.len(), 1);
    let failure = &table.failures[0];
    assert_eq!(
        (failure.row, failure.line, failure.smiles.as_str()),
        (2, 4, "C1CC(")
    );
    assert_eq!(table.smiles[0], "CCO", "trailing space trimmed");
    assert_eq!(table.rows, vec![0, 1, 3, 4, 5]);
    assert_eq!(table.target(0, 0), Some(1.0));
    assert_eq!(table.target(1, 1), None, "blank label is missing");
    assert_eq!(table.target(2, 0), None, "nan label is missing");
    assert_eq!(table.target(4, 1), None, "NaN label is missing");
    assert_eq!(table.target(3, 1), Some(1.55));
    assert_eq!(table.graphs[3].n_bonds(), 0, "salt has no bonds");
}

#[test]
fn named_columns_and_missing_column_error() {
    let options = TableOptions {
        smiles_column: Some("smiles".into()),
        target_columns: Some(vec!["solubility".into()]),
        ..TableOptions::default()
    };
    let table = MoleculeTable::read(&fixture("labels_crlf.csv"), &options).unwrap();
    assert_eq!(table.task_names, vec!["solubility"]);
    let missing = TableOptions {
        smiles_column: None,
        target_columns: Some(vec!["nope".into()]),
        ..TableOptions::default()
    };
    let err = MoleculeTable::read(&fixture("labels_crlf.csv"), &missing).unwrap_err();
    assert!(
        matches!(err, DataError::MissingColumn { ref column, .. } if column == "nope"),
        "{err}"
    );
}

#[test]
fn bad_number_names_row_and_column() {
    let options = TableOptions {
        smiles_column: None,
        target_columns: Some(vec!["y".into()]),
        ..TableOptions::default()
    };
    let err = MoleculeTable::read(&fixture("bad_number.csv"), &options).unwrap_err();
    match err {
        DataError::BadTarget {
            row,
            line,
            ref column,
            ref value,
            ..
        } => {
            assert_eq!(
                (row, line, column.as_str(), value.as_str()),
                (1, 3, "y", "oops")
            );
        }
        other => panic!("expected BadTarget, got {other}"),
    }
}

fn check_partition(split: &moltx::data::Split, n: usize) {
    let mut all: Vec<usize> = split
        .train
        .iter()
        .chain(&split.val)
        .chain(&split.test)
        .copied()
        .collect();
    all.sort_unstable();
    assert_eq!(
        all,
        (0..n).collect::<Vec<_>>(),
        "parts must be disjoint and cover every entry"
    );
}

#[test]
fn random_and_kfold_splits_partition_and_are_deterministic() {
    let a = random_split(101, [0.8, 0.1, 0.1], 7).unwrap();
    check_partition(&a, 101);
    assert_eq!((a.train.len(), a.val.len(), a.test.len()), (80, 10, 11));
    assert_eq!(a, random_split(101, [0.8, 0.1, 0.1], 7).unwrap());
    assert_ne!(a, random_split(101, [0.8, 0.1, 0.1], 8).unwrap());
    assert!(random_split(10, [0.5, 0.1, 0.1], 0).is_err());
    let mut tests = Vec::new();
    for fold in 0..5 {
        let s = kfold_split(50, 5, fold, 3).unwrap();
        check_partition(&s, 50);
        tests.extend(s.test);
    }
    tests.sort_unstable();
    assert_eq!(
        tests,
        (0..50).collect::<Vec<_>>(),
        "each entry is tested exactly once"
    );
}

#[test]
fn scaffold_split_keeps_scaffolds_together() {
    let smiles: Vec<String> = [
        "c1ccccc1C",
        "c1ccccc1CC",
        "c1ccccc1O",
        "c1ccncc1",
        "c1ccncc1C",
        "C1CCCCC1",
        "C1CCCCC1N",
        "CCO",
        "CCCO",
        "c1ccc2ccccc2c1",
        "c1ccc2ccccc2c1C",
        "C1CC1",
        "C1CCC1",
        "c1ccoc1",
        "c1ccsc1",
        "c1ccoc1C",
        "O=C1CCCN1",
        "C1CCNCC1",
        "C1COCCN1",
        "c1cnccn1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let scaffolds: Vec<String> = scaffolds_of(&smiles)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    for seed in 0..5 {
        let split = scaffold_split(&scaffolds, [0.6, 0.2, 0.2], seed).unwrap();
        check_partition(&split, smiles.len());
        let parts = split.part_of(smiles.len());
        for i in 0..smiles.len() {
            for j in 0..smiles.len() {
                if scaffolds[i] == scaffolds[j] {
                    assert_eq!(
                        parts[i], parts[j],
                        "{} and {} share a scaffold",
                        smiles[i], smiles[j]
                    );
                }
            }
        }
        assert_eq!(
            split,
            scaffold_split(&scaffolds, [0.6, 0.2, 0.2], seed).unwrap()
        );
    }
}

#[test]
fn split_file_by_index_and_by_smiles() {
    let dir = tempfile::tempdir().unwrap();
    let table = MoleculeTable::read(&fixture("labels_crlf.csv"), &TableOptions::default()).unwrap();
    let by_index = dir.path().join("by_index.csv");
    std::fs::write(
        &by_index,
        "index,split\n0,train\n1,train\n2,test\n3,val\n4,test\n",
    )
    .unwrap();
    let s = split_from_file(&by_index, &table.rows, &table.smiles).unwrap();
    assert_eq!(
        (
            s.split.train.clone(),
            s.split.val.clone(),
            s.split.test.clone()
        ),
        (vec![0, 1], vec![2], vec![3])
    );
    assert_eq!(s.unmatched_lines, vec![4], "row 2 failed to parse");
    assert_eq!(s.unassigned, vec![4]);
    let by_smiles = dir.path().join("by_smiles.csv");
    std::fs::write(&by_smiles, "smiles,split\nCCO,test\nc1ccccc1,train\n").unwrap();
    let s = split_from_file(&by_smiles, &table.rows, &table.smiles).unwrap();
    assert_eq!(
        (s.split.train.clone(), s.split.test.clone()),
        (vec![1], vec![0])
    );
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "index,split\n0,holdout\n").unwrap();
    let err = split_from_file(&bad, &table.rows, &table.smiles).unwrap_err();
    assert!(err.to_string().contains("line 2"), "{err}");
}

const POOL: &[&str] = &[
    "C",
    "O",
    "[Na+].[Cl-]",
    "CCO",
    "c1ccccc1",
    "CC(=O)Oc1ccccc1C(=O)O",
    "C1CC1",
    "N#N",
    "CN1C=NC2=C1C(=O)N(C(=O)N2C)C",
    "[He]",
    "OC(=O)CC(O)(CC(O)=O)C(O)=O",
];

fn check_batch(batch: &GraphBatch, graphs: &[MolGraph]) {
    let n_atoms: usize = graphs.iter().map(MolGraph::n_atoms).sum();
    let n_edges: usize = graphs.iter().map(|g| 2 * g.n_bonds()).sum();
    assert_eq!(batch.n_molecules, graphs.len());
    assert_eq!(batch.n_atoms(), n_atoms);
    assert_eq!(batch.n_edges(), n_edges);
    assert_eq!(batch.atom_features.len(), n_atoms * batch.atom_dim);
    assert_eq!(batch.edge_features.len(), n_edges * batch.bond_dim);
    assert_eq!(batch.out_offsets.len(), n_atoms + 1);
    assert_eq!(batch.incoming_offsets.len(), n_atoms + 1);
    assert_eq!(*batch.out_offsets.last().unwrap() as usize, n_edges);
    for e in 0..n_edges {
        let r = batch.edge_reverse[e] as usize;
        assert_eq!(batch.edge_reverse[r] as usize, e);
        assert_ne!(r, e);
        assert_eq!(batch.edge_source[r], batch.edge_target[e]);
        assert_eq!(batch.edge_target[r], batch.edge_source[e]);
        let (s, t) = (batch.edge_source[e] as usize, batch.edge_target[e] as usize);
        assert!((batch.out_offsets[s]..batch.out_offsets[s + 1]).contains(&(e as u32)));
        let incoming = &batch.incoming_edges
            [batch.incoming_offsets[t] as usize..batch.incoming_offsets[t + 1] as usize];
        assert!(incoming.contains(&(e as u32)));
    }
    for (m, graph) in graphs.iter().enumerate() {
        let (a0, a1) = (batch.atom_offsets[m], batch.atom_offsets[m + 1]);
        assert_eq!((a1 - a0) as usize, graph.n_atoms());
        for e in batch.edge_offsets[m]..batch.edge_offsets[m + 1] {
            let (s, t) = (batch.edge_source[e as usize], batch.edge_target[e as usize]);
            assert!(
                (a0..a1).contains(&s) && (a0..a1).contains(&t),
                "edge leaves its molecule"
            );
        }
    }
    // every incoming list and every outgoing list covers each edge once
    let mut seen = vec![0u8; n_edges];
    for &e in &batch.incoming_edges {
        seen[e as usize] += 1;
    }
    assert!(seen.iter().all(|&c| c == 1));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn batch_offsets_and_reverse_edges_are_consistent(picks in proptest::collection::vec(0..POOL.len(), 0..12)) {
        let graphs: Vec<MolGraph> = picks.iter().map(|&i| MolGraph::from_smiles(POOL[i]).unwrap()).collect();
        let batch = GraphBatch::from_graphs(&graphs);
        check_batch(&batch, &graphs);
    }
}

#[test]
fn empty_and_single_atom_batches() {
    let empty = GraphBatch::from_graphs::<MolGraph>(&[]);
    assert_eq!(
        (empty.n_molecules, empty.n_atoms(), empty.n_edges()),
        (0, 0, 0)
    );
    assert_eq!(empty.out_offsets, vec![0]);
    let one = vec![MolGraph::from_smiles("C").unwrap()];
    let batch = GraphBatch::from_graphs(&one);
    check_batch(&batch, &one);
    assert_eq!(batch.atom_offsets, vec![0, 1]);
}

#[test]
fn scaffold_kfold_tests_each_entry_once_and_keeps_scaffolds_together() {
    // 40 entries over 9 scaffold groups of uneven sizes.
    let scaffolds: Vec<String> = (0..40).map(|i| format!("S{}", (i * 7) % 9)).collect();
    let mut tested = Vec::new();
    for fold in 0..4 {
        let s = scaffold_kfold_split(&scaffolds, 4, fold, 5).unwrap();
        check_partition(&s, 40);
        for (a, b) in [(&s.train, &s.test), (&s.val, &s.test), (&s.train, &s.val)] {
            for i in a.iter() {
                assert!(
                    b.iter().all(|j| scaffolds[*j] != scaffolds[*i]),
                    "scaffold split apart"
                );
            }
        }
        assert!(
            (6..=14).contains(&s.test.len()),
            "fold {fold}: {} entries",
            s.test.len()
        );
        assert_eq!(s, scaffold_kfold_split(&scaffolds, 4, fold, 5).unwrap());
        tested.extend(s.test);
    }
    tested.sort_unstable();
    assert_eq!(tested, (0..40).collect::<Vec<_>>());
    assert!(scaffold_kfold_split(&scaffolds, 2, 0, 0).is_err());
}

#[test]
fn non_finite_targets_are_refused_before_training() {
    let dir = tempfile::tempdir().unwrap();
    for (cell, auto_detect) in [
        ("inf", false),
        ("-inf", true),
        ("1e400", true),
        ("1e39", false),
    ] {
        let path = dir.path().join("t.csv");
        std::fs::write(&path, format!("smiles,y\nCCO,1.0\nCCC,2\nCCN,{cell}\n")).unwrap();
        let options = TableOptions {
            target_columns: (!auto_detect).then(|| vec!["y".into()]),
            ..TableOptions::default()
        };
        // Auto-detection must not quietly drop the column either: it is numeric, so it is a
        // target, and its bad cell an error.
        match MoleculeTable::read(&path, &options).unwrap_err() {
            DataError::BadTarget {
                row,
                line,
                ref column,
                ref value,
                reason,
                ..
            } => {
                assert_eq!(
                    (row, line, column.as_str(), value.as_str()),
                    (2, 4, "y", cell)
                );
                assert_eq!(reason, moltx::data::LabelError::NotFinite);
            }
            other => panic!("{cell}: expected BadTarget, got {other}"),
        }
    }
}

#[test]
fn a_ragged_or_non_utf8_row_is_reported_and_the_rest_read() {
    let dir = tempfile::tempdir().unwrap();
    for (bad, reason) in [
        (&b"bad,CCO,extra"[..], "found record with 3 fields"),
        (&b"bad,C\xffC"[..], "UTF-8"),
    ] {
        let path = dir.path().join("t.csv");
        let mut text = b"name,smiles\naspirin,CC(=O)Oc1ccccc1C(=O)O\n".to_vec();
        text.extend_from_slice(bad);
        text.extend_from_slice(b"\nethanol,CCO\n");
        std::fs::write(&path, text).unwrap();
        let table = MoleculeTable::read(&path, &TableOptions::default()).unwrap();
        assert_eq!((table.n_rows, table.len()), (3, 2));
        assert_eq!(table.rows, vec![0, 2], "the rows around the fault are read");
        assert_eq!(table.failures.len(), 1);
        let f = &table.failures[0];
        assert_eq!((f.row, f.line), (1, 3));
        assert_eq!(f.error.category(), "malformed row");
        assert!(f.error.to_string().contains(reason), "{}", f.error);
    }
}
