//! Helpers shared by integration tests.

/// (name, SMILES) of the bundled drugs (`fixtures/approved_drugs.csv`).
pub fn drugs() -> Vec<(String, String)> {
    std::fs::read_to_string("fixtures/approved_drugs.csv")
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let (n, s) = l.split_once(',').unwrap();
            (n.to_string(), s.to_string())
        })
        .collect()
}
