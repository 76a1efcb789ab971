//! Checks on the shared real data (ignored by default: `cargo test -- --ignored`).

use moltx::expr::gct::read_gct;
use std::path::Path;

#[test]
#[ignore = "needs ../shared/data"]
fn reads_real_l1000_gct() {
    let data = std::env::var("MOLTX_DATA")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data").to_string());
    let p = Path::new(&data).join("expression/test_l1000.gct");
    assert!(
        p.exists(),
        "{} is missing: run with the shared data (or set MOLTX_DATA)",
        p.display()
    );
    let m = read_gct(&p).unwrap();
    assert_eq!((m.n_genes(), m.n_signatures()), (978, 377));
    assert_eq!((m.gene_meta.fields.len(), m.meta.fields.len()), (11, 35));
}

/// Every molecule of the shared MoleculeNet and L1000 sets passes the default size limit, and
/// the heavy-atom count read from its text equals RDKit's (`cargo test --release --test
/// real_data -- --ignored`; fails when the data is absent).
#[test]
#[ignore = "needs ../shared/data"]
fn default_size_limit_passes_every_shared_molecule() {
    use moltx::chem::size::heavy_atoms_in_smiles;
    use moltx::chem::{DEFAULT_MAX_HEAVY_ATOMS, MolGraph};
    use moltx::data::{MoleculeTable, TableOptions};
    use rayon::prelude::*;
    let data = std::env::var("MOLTX_DATA")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data").to_string());
    let sets = [
        "molecules/esol.csv",
        "molecules/freesolv.csv",
        "molecules/lipophilicity.csv",
        "molecules/tox21.csv",
        "molecules/hiv.csv.gz",
    ];
    let mut largest = 0;
    for set in sets {
        let path = Path::new(&data).join(set);
        assert!(path.exists(), "{} is missing", path.display());
        let unlimited = TableOptions {
            max_heavy_atoms: usize::MAX,
            ..TableOptions::default()
        };
        let table = MoleculeTable::read(&path, &unlimited).unwrap();
        let limited = MoleculeTable::read(&path, &TableOptions::default()).unwrap();
        assert_eq!(
            limited.len(),
            table.len(),
            "{set}: the default limit dropped rows"
        );
        let mismatches: Vec<String> = table
            .smiles
            .par_iter()
            .zip(&table.graphs)
            .filter_map(|(s, g): (&String, &MolGraph)| {
                let rdkit = g.atoms().filter(|a| a.atomic_num != 1).count();
                (heavy_atoms_in_smiles(s) != rdkit).then(|| format!("{s}: {rdkit}"))
            })
            .collect();
        assert!(mismatches.is_empty(), "{set}: {mismatches:?}");
        largest = largest.max(
            table
                .graphs
                .iter()
                .map(MolGraph::n_atoms)
                .max()
                .unwrap_or(0),
        );
    }
    assert!(largest < DEFAULT_MAX_HEAVY_ATOMS, "largest {largest}");
}
