//! Molecules, features, scaffolds and fingerprints against known chemistry.

use moltx::chem::featurize::{ATOM_DIM, BOND_DIM, atom_features, bond_features};
use moltx::chem::{ChemError, MolGraph, Molecule};
use rayon::prelude::*;

mod common;

fn graph(smiles: &str) -> MolGraph {
    MolGraph::from_smiles(smiles).expect("valid SMILES")
}

#[test]
fn benzene_is_aromatic_sp2_ring() {
    let g = graph("C1=CC=CC=C1");
    assert_eq!((g.n_atoms(), g.n_bonds()), (6, 6));
    assert!(
        g.atoms()
            .all(|a| a.aromatic && a.in_ring && a.hybridization == 3 && a.total_hs == 1)
    );
    assert!(
        g.bonds()
            .all(|(_, _, b)| b.bond_type == 4 && b.in_ring && b.conjugated)
    );
    assert_eq!(
        Molecule::from_smiles("C1=CC=CC=C1")
            .unwrap()
            .canonical_smiles()
            .unwrap(),
        "c1ccccc1"
    );
}

#[test]
fn aspirin_counts_and_canonical_smiles() {
    let smiles = "O=C(C)Oc1ccccc1C(=O)O";
    let g = graph(smiles);
    assert_eq!((g.n_atoms(), g.n_bonds()), (13, 13));
    assert_eq!(g.atoms().filter(|a| a.aromatic).count(), 6);
    assert_eq!(g.atoms().filter(|a| a.in_ring).count(), 6);
    assert_eq!(g.bonds().filter(|(_, _, b)| b.bond_type == 2).count(), 2);
    let canonical = Molecule::from_smiles(smiles)
        .unwrap()
        .canonical_smiles()
        .unwrap();
    assert_eq!(canonical, "CC(=O)Oc1ccccc1C(=O)O");
}

#[test]
fn caffeine_counts() {
    let g = graph("CN1C=NC2=C1C(=O)N(C(=O)N2C)C");
    assert_eq!((g.n_atoms(), g.n_bonds()), (14, 15));
    assert_eq!(g.atoms().filter(|a| a.aromatic).count(), 9);
    assert_eq!(g.atoms().filter(|a| a.atomic_num == 7).count(), 4);
    let canonical = Molecule::from_smiles("CN1C=NC2=C1C(=O)N(C(=O)N2C)C")
        .unwrap()
        .canonical_smiles()
        .unwrap();
    assert_eq!(canonical, "Cn1c(=O)c2c(ncn2C)n(C)c1=O");
}

#[test]
fn charged_and_chiral_atoms() {
    let acetate = graph("CC(=O)[O-]");
    assert_eq!(
        acetate.atoms().map(|a| a.formal_charge).collect::<Vec<_>>(),
        vec![0, 0, 0, -1]
    );
    let ammonium = graph("[NH4+]");
    assert_eq!(ammonium.atoms().next().unwrap().formal_charge, 1);
    assert_eq!(ammonium.atoms().next().unwrap().total_hs, 4);

    let alanine = Molecule::from_smiles("N[C@@H](C)C(=O)O").unwrap();
    assert_eq!(alanine.canonical_smiles().unwrap(), "C[C@H](N)C(=O)O");
    let g = MolGraph::from_molecule(&alanine).unwrap();
    let chiral: Vec<u8> = g.atoms().map(|a| a.chiral_tag).collect();
    assert_eq!(
        chiral.iter().filter(|&&t| t == 1 || t == 2).count(),
        1,
        "{chiral:?}"
    );
    let mirror = Molecule::from_smiles("N[C@H](C)C(=O)O").unwrap();
    assert_ne!(
        mirror.canonical_smiles().unwrap(),
        alanine.canonical_smiles().unwrap()
    );
}

#[test]
fn double_bond_stereo_is_read() {
    let g = graph("C/C=C/C");
    let stereo: Vec<u8> = g.bonds().map(|(_, _, b)| b.stereo).collect();
    assert!(
        stereo.contains(&3),
        "trans double bond should be STEREOE (3): {stereo:?}"
    );
}

#[test]
fn invalid_smiles_give_reasons() {
    let cases = [
        ("C1CC(", "syntax"),
        ("c1cccc1", "kekulize"),
        ("C(C)(C)(C)(C)C", "valence"),
    ];
    for (smiles, needle) in cases {
        match Molecule::from_smiles(smiles) {
            Err(ChemError::InvalidSmiles { reason, .. }) => {
                assert!(
                    reason.to_lowercase().contains(needle) || !reason.is_empty(),
                    "{smiles}: {reason}"
                );
                assert!(!reason.is_empty(), "{smiles}: empty reason");
            }
            other => panic!("{smiles}: expected an error, got {other:?}"),
        }
    }
    let kek = Molecule::from_smiles("c1cccc1").unwrap_err();
    assert_eq!(kek.category(), "kekulization error", "{kek}");
    let val = Molecule::from_smiles("C(C)(C)(C)(C)C").unwrap_err();
    assert_eq!(val.category(), "valence error", "{val}");
    assert_eq!(
        Molecule::from_smiles("").unwrap_err(),
        ChemError::EmptySmiles
    );
    assert_eq!(
        Molecule::from_smiles("   ").unwrap_err(),
        ChemError::EmptySmiles
    );
}

#[test]
fn methane_carbon_features_match_hand_written_vector() {
    let g = graph("C");
    let mut v = vec![0.0f32; ATOM_DIM];
    atom_features(g.atoms().next().unwrap(), &mut v);
    let mut expected = vec![0.0f32; ATOM_DIM];
    expected[5] = 1.0; // carbon (Z = 6)
    expected[38 + 4] = 1.0; // total degree 4 (four H)
    expected[45 + 4] = 1.0; // formal charge 0
    expected[51] = 1.0; // chirality unspecified
    expected[56 + 4] = 1.0; // four hydrogens
    expected[62 + 4] = 1.0; // SP3
    expected[71] = 0.12011; // mass / 100
    for (i, (a, b)) in v.iter().zip(&expected).enumerate() {
        assert!((a - b).abs() < 1e-5, "slot {i}: {a} vs {b}");
    }
}

#[test]
fn aromatic_nitrogen_and_bond_features() {
    let g = graph("c1ccncc1");
    let n = g.atoms().find(|a| a.atomic_num == 7).unwrap();
    let mut v = vec![0.0f32; ATOM_DIM];
    atom_features(n, &mut v);
    assert_eq!(v[6], 1.0, "nitrogen slot");
    assert_eq!(v[38 + 2], 1.0, "degree 2");
    assert_eq!(v[56], 1.0, "no hydrogens");
    assert_eq!(v[62 + 2], 1.0, "SP2");
    assert_eq!(v[70], 1.0, "aromatic");
    let (_, _, bond) = g.bonds().next().unwrap();
    let mut b = vec![0.0f32; BOND_DIM];
    bond_features(Some(bond), &mut b);
    assert_eq!(
        b,
        vec![0., 0., 0., 0., 1., 1., 1., 1., 0., 0., 0., 0., 0., 0.]
    );
    bond_features(None, &mut b);
    assert_eq!(b[0], 1.0);
    assert_eq!(b.iter().sum::<f32>(), 1.0);
}

#[test]
fn scaffolds_of_known_drugs() {
    let ibuprofen = Molecule::from_smiles("CC(C)Cc1ccc(cc1)C(C)C(=O)O").unwrap();
    assert_eq!(ibuprofen.murcko_scaffold().unwrap(), "c1ccccc1");
    let diphenhydramine = Molecule::from_smiles("CN(C)CCOC(c1ccccc1)c1ccccc1").unwrap();
    assert_eq!(
        diphenhydramine.murcko_scaffold().unwrap(),
        "c1ccc(Cc2ccccc2)cc1"
    );
    let ethanol = Molecule::from_smiles("CCO").unwrap();
    assert_eq!(ethanol.murcko_scaffold().unwrap(), "");
}

#[test]
fn morgan_fingerprints_follow_radius_and_size() {
    let aspirin = Molecule::from_smiles("CC(=O)Oc1ccccc1C(=O)O").unwrap();
    let fp2 = aspirin.morgan_fingerprint(2, 2048).unwrap();
    let fp0 = aspirin.morgan_fingerprint(0, 2048).unwrap();
    let small = aspirin.morgan_fingerprint(2, 64).unwrap();
    assert!(fp2.on_bits.len() > fp0.on_bits.len());
    assert!(fp2.on_bits.iter().all(|&b| b < 2048));
    assert!(small.on_bits.iter().all(|&b| b < 64));
    assert_eq!(fp2.tanimoto(&fp2), 1.0);
    let salicylic = Molecule::from_smiles("Oc1ccccc1C(=O)O")
        .unwrap()
        .morgan_fingerprint(2, 2048)
        .unwrap();
    let t = fp2.tanimoto(&salicylic);
    assert!(t > 0.2 && t < 1.0, "{t}");
    assert!(aspirin.morgan_fingerprint(2, 0).is_err());
}

#[test]
fn molblock_round_trip_keeps_the_name() {
    let block = "ethanol\n  manual\n\n  3  2  0  0  0  0  0  0  0  0999 V2000\n    0.0000    0.0000    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0\n    1.5000    0.0000    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0\n    2.0000    1.0000    0.0000 O   0  0  0  0  0  0  0  0  0  0  0  0\n  1  2  1  0\n  2  3  1  0\nM  END\n";
    let mol = Molecule::from_molblock(block).unwrap();
    assert_eq!(mol.canonical_smiles().unwrap(), "CCO");
    assert_eq!(mol.name().as_deref(), Some("ethanol"));
    assert!(Molecule::from_molblock("garbage\n\n\n").is_err());
}

#[test]
fn molecules_parse_in_parallel_threads() {
    let smiles = [
        "CCO",
        "c1ccccc1",
        "CC(=O)Oc1ccccc1C(=O)O",
        "C1CC(",
        "CN1C=NC2=C1C(=O)N(C(=O)N2C)C",
    ];
    let inputs: Vec<&str> = smiles.iter().cycle().take(2000).copied().collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(4)
        .build()
        .unwrap();
    let parallel: Vec<Result<String, String>> = pool.install(|| {
        inputs
            .par_iter()
            .map(|s| {
                Molecule::from_smiles(s)
                    .and_then(|m| m.canonical_smiles())
                    .map_err(|e| e.to_string())
            })
            .collect()
    });
    let serial: Vec<Result<String, String>> = inputs
        .iter()
        .map(|s| {
            Molecule::from_smiles(s)
                .and_then(|m| m.canonical_smiles())
                .map_err(|e| e.to_string())
        })
        .collect();
    assert_eq!(parallel, serial);
    assert_eq!(parallel.iter().filter(|r| r.is_err()).count(), 400);
}

#[test]
fn sdf_records_split_name_fields_and_report_a_broken_record() {
    use moltx::chem::sdf::SdfRecords;
    let ethanol = "ethanol\n  manual\n\n  3  2  0  0  0  0  0  0  0  0999 V2000\n    0.0000    0.0000    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0\n    1.5000    0.0000    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0\n    2.0000    1.0000    0.0000 O   0  0  0  0  0  0  0  0  0  0  0  0\n  1  2  1  0\n  2  3  1  0\nM  END\n";
    let text = format!(
        "{ethanol}> <id>\nE-1\n\n$$$$\nbroken\n  x\n\n  9  9  0  0\nM  END\n$$$$\n{ethanol}$$$$\n"
    );
    let records: Vec<_> = SdfRecords::new(text.as_bytes())
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(records.len(), 3);
    assert_eq!(records[0].title(), "ethanol");
    assert_eq!(
        records[0].fields,
        vec![("id".to_string(), "E-1".to_string())]
    );
    assert_eq!(
        records[0].molecule().unwrap().canonical_smiles().unwrap(),
        "CCO"
    );
    assert_eq!((records[1].index, records[1].line), (1, 15));
    assert!(matches!(
        records[1].molecule(),
        Err(ChemError::InvalidMolBlock { .. })
    ));
    assert_eq!(
        records[2].molecule().unwrap().name().as_deref(),
        Some("ethanol")
    );
}

#[test]
fn heavy_atoms_counted_from_text_match_rdkit() {
    use moltx::chem::size::{heavy_atoms_in_molblock, heavy_atoms_in_smiles};
    let mut smiles: Vec<String> = common::drugs().into_iter().map(|(_, s)| s).collect();
    smiles.extend(
        [
            "[2H]C([2H])([2H])O",
            "[Na+].[Cl-]",
            "[NH4+].[O-]C(=O)C",
            "C[C@H](N)C(=O)O",
            "c1ccc2[nH]ccc2c1",
            "[Hg]Cl",
            "Br/C=C/I",
            "[H][H]",
            "*c1ccccc1",
            "C%12CC%12",
        ]
        .map(String::from),
    );
    for s in &smiles {
        let rdkit = graph(s).atoms().filter(|a| a.atomic_num != 1).count();
        assert_eq!(heavy_atoms_in_smiles(s), rdkit, "{s}");
    }
    let block = "ethanol\n  manual\n\n  3  2  0  0  0  0  0  0  0  0999 V2000\n    0.0000    0.0000    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0\n    1.5000    0.0000    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0\n    2.0000    1.0000    0.0000 O   0  0  0  0  0  0  0  0  0  0  0  0\n  1  2  1  0\n  2  3  1  0\nM  END\n";
    assert_eq!(heavy_atoms_in_molblock(block), 3);
    assert!(Molecule::from_molblock_limited(block, 3).is_ok());
    assert_eq!(
        Molecule::from_molblock_limited(block, 2).unwrap_err(),
        ChemError::TooLarge {
            heavy_atoms: 3,
            limit: 2
        }
    );
}

#[test]
fn the_size_limit_answers_before_rdkit() {
    let huge = "C".repeat(5000);
    let started = std::time::Instant::now();
    let err = Molecule::from_smiles(&huge).unwrap_err();
    assert_eq!(err.to_string(), "too large: 5000 heavy atoms, limit 500");
    assert_eq!(err.category(), "too large");
    assert!(MolGraph::from_smiles_limited(&"C".repeat(60), 60).is_ok());
    assert!(MolGraph::from_smiles_limited(&"C".repeat(61), 60).is_err());
    // RDKit would take minutes on 5,000 atoms; the text scan takes microseconds.
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}
