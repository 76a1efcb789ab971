//! Helpers shared by integration tests (each test crate uses some of them).
#![allow(dead_code)]

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

/// A data folder laid out as the shared data (`expression/consensi-drugbank.tsv.gz`,
/// `expression/l1000_drugs.tsv`, `repurposing/indications.tsv`) from a signature file, a
/// structure table and the indications' text.
pub fn write_data_folder(
    dir: &std::path::Path,
    signatures: &std::path::Path,
    structures: &std::path::Path,
    indications: &str,
) -> std::path::PathBuf {
    use std::io::Write;
    let data = dir.join("data");
    for sub in ["expression", "repurposing"] {
        std::fs::create_dir_all(data.join(sub)).unwrap();
    }
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(data.join("expression/consensi-drugbank.tsv.gz")).unwrap(),
        flate2::Compression::fast(),
    );
    gz.write_all(&std::fs::read(signatures).unwrap()).unwrap();
    gz.finish().unwrap();
    std::fs::copy(structures, data.join("expression/l1000_drugs.tsv")).unwrap();
    std::fs::write(data.join("repurposing/indications.tsv"), indications).unwrap();
    data
}

/// A TSV file's lines split into cells.
pub fn read_tsv(path: &std::path::Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| l.split('\t').map(String::from).collect())
        .collect()
}
