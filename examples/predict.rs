//! Score SMILES in memory with the bundled Tox21 model (or a model given as the first
//! argument): `cargo run --example predict [-- MODEL]`.

use moltx::prelude::*;

/// The molecules this example scores: two drugs, and a SMILES RDKit rejects.
pub const SMILES: [&str; 3] = [
    "CC(=O)Oc1ccccc1C(=O)O",
    "CC(C)Cc1ccc(cc1)C(C)C(=O)O",
    "C1CC(",
];

/// Loads the predictor, scores [`SMILES`] and returns one line per molecule.
pub fn run(model: Option<&std::path::Path>) -> Result<Vec<String>, ApiError> {
    let predictor = match model {
        Some(path) => Predictor::load(path, &Device::flex())?,
        None => Predictor::bundled()?,
    };
    let lines = SMILES
        .iter()
        .zip(predictor.predict_smiles(&SMILES))
        .map(|(smiles, result)| match result {
            Ok(p) => {
                let cells: Vec<String> = p
                    .tasks()
                    .iter()
                    .zip(&p.values)
                    .map(|(task, v)| format!("{task}={v:.3}"))
                    .collect();
                format!("{smiles}\t{}", cells.join(" "))
            }
            Err(e) => format!("{smiles}\terror: {e}"),
        })
        .collect();
    Ok(lines)
}

#[allow(dead_code)]
fn main() -> Result<(), ApiError> {
    let model = std::env::args().nth(1).map(std::path::PathBuf::from);
    for line in run(model.as_deref())? {
        println!("{line}");
    }
    Ok(())
}
