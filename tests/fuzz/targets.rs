//! One campaign per input parser: its seeds, the file name its inputs get (the extension picks
//! the format) and the calls it makes. Streams are drained with a bound on their length.

use std::path::Path;

use burn::tensor::Device;
use moltx::chem::Fingerprint;
use moltx::chem::Molecule;
use moltx::data::split::split_from_file;
use moltx::data::{LibraryOptions, LibraryReader, MoleculeTable, MoleculeText, TableOptions};
use moltx::expr::gct::read_gct;
use moltx::expr::gctx::read_gctx;
use moltx::expr::geneset::{pair_up_down, read_gmt, read_grp, read_stargeo, read_up_down};
use moltx::expr::matrix::{Layout, read_matrix, read_signatures};
use moltx::expr::pathway::{read_gene_sets, read_pathway_table};
use moltx::expr::query::{align_query, read_query};
use moltx::expr::{GeneSpace, GeneTable};
use moltx::link::neighbors::NeighborModel;
use moltx::model::signature_file::SignatureEncoderFile;
use moltx::model::{Checkpoint, featurize};
use moltx::screen::resume::Manifest;

use super::harness::{Campaign, Encoding, Outcome, Seed, bounded};
use super::seeds;

/// A campaign over plain (unframed) seeds.
fn plain(
    name: &'static str,
    file_name: &'static str,
    seeds: Vec<Seed>,
    target: impl Fn(&Path) -> Outcome + 'static,
) -> Campaign {
    Campaign {
        name,
        file_name,
        seeds,
        encoding: Encoding::Plain,
        target: Box::new(target),
    }
}

/// A campaign over framed seeds (model, encoder, neighbour files).
fn framed(
    name: &'static str,
    file_name: &'static str,
    seeds: Vec<Seed>,
    target: impl Fn(&Path) -> Outcome + 'static,
) -> Campaign {
    Campaign {
        encoding: Encoding::Framed,
        ..plain(name, file_name, seeds, target)
    }
}

/// Size of the input file, the bound on how many records it can hold.
fn size(path: &Path) -> usize {
    std::fs::metadata(path).map_or(0, |m| m.len() as usize)
}

/// Drains a library reader (every SDF molblock also goes through RDKit): parsed when the
/// stream ends without an error (rows flagged with an error count as read).
fn drain_library(path: &Path, options: &LibraryOptions, limit: usize) -> Outcome {
    let reader = match LibraryReader::open(path, options) {
        Ok(r) => r,
        Err(_) => return Ok(false),
    };
    let mut completed = true;
    for (n, item) in reader.enumerate() {
        bounded(n + 1, limit, "library rows")?;
        match item {
            Ok(row) => {
                if let MoleculeText::Molblock(block) = &row.molecule {
                    let _ = Molecule::from_molblock(block);
                }
            }
            Err(_) => completed = false,
        }
    }
    Ok(completed)
}

/// A library reader campaign; every text row needs at least one byte.
fn library(name: &'static str, file_name: &'static str, seeds: Vec<Seed>) -> Campaign {
    plain(name, file_name, seeds, |path| {
        drain_library(path, &LibraryOptions::default(), size(path) + 2)
    })
}

/// CSV text as TSV.
fn tabs(s: &Seed) -> Seed {
    let bytes = s
        .bytes
        .iter()
        .map(|&b| if b == b',' { b'\t' } else { b })
        .collect::<Vec<u8>>();
    Seed::made(&format!("{} (as TSV)", s.name), bytes)
}

fn ok<T, E>(r: Result<T, E>) -> bool {
    r.is_ok()
}

/// The names [`campaign`] knows.
pub const NAMES: &[&str] = &[
    "table_csv",
    "table_tsv",
    "split_file",
    "library_csv",
    "library_tsv",
    "library_smi",
    "library_smi_gz",
    "library_sdf",
    "library_parquet",
    "gct",
    "gctx",
    "matrix",
    "matrix_csv",
    "gmt",
    "grp",
    "updown",
    "stargeo",
    "gene_table",
    "pathway_table",
    "model",
    "model_bundled",
    "encoder",
    "neighbors",
    "resume",
];

/// Every campaign, by name.
pub fn campaign(name: &str) -> Campaign {
    let drugs = seeds::head("fixtures/approved_drugs.csv", 6);
    let labels = Seed::fixture("fixtures/labels_crlf.csv");
    match name {
        "table_csv" => plain("table_csv", "t.csv", vec![drugs, labels], |p| {
            Ok(ok(MoleculeTable::read(p, &TableOptions::default())))
        }),
        "table_tsv" => plain(
            "table_tsv",
            "t.tsv",
            vec![tabs(&drugs), tabs(&labels)],
            |p| Ok(ok(MoleculeTable::read(p, &TableOptions::default()))),
        ),
        "split_file" => {
            let smiles: Vec<String> = seeds::drugs(6).into_iter().map(|d| d.1).collect();
            let seeds = vec![
                Seed::made("split by index", seeds::split_file(6, "index")),
                Seed::made("split by smiles", seeds::split_file(6, "smiles")),
            ];
            plain("split_file", "split.csv", seeds, move |p| {
                let rows: Vec<usize> = (0..smiles.len()).collect();
                Ok(ok(split_from_file(p, &rows, &smiles)))
            })
        }
        "library_csv" => library("library_csv", "lib.csv", vec![drugs, labels]),
        "library_tsv" => library("library_tsv", "lib.tsv", vec![tabs(&drugs), tabs(&labels)]),
        "library_smi" => library(
            "library_smi",
            "lib.smi",
            vec![Seed::made("smi", seeds::smi(5))],
        ),
        "library_smi_gz" => {
            let smi = Seed::made("smi", seeds::smi(5));
            // A deflate stream expands at most ~1032-fold.
            let campaign = plain("library_smi_gz", "lib.smi.gz", vec![smi], |p| {
                drain_library(p, &LibraryOptions::default(), 1100 * size(p) + 2)
            });
            Campaign {
                encoding: Encoding::Gzip,
                ..campaign
            }
        }
        "library_sdf" => library(
            "library_sdf",
            "lib.sdf",
            vec![Seed::made("sdf", seeds::sdf(3))],
        ),
        "library_parquet" => plain(
            "library_parquet",
            "lib.parquet",
            seeds::parquet_seeds(),
            |p| drain_library(p, &LibraryOptions::default(), 1_000_000),
        ),
        "gct" => {
            let seeds = vec![
                Seed::fixture("fixtures/expr/v12.gct"),
                Seed::made("small v1.3", SMALL_GCT),
                Seed::fixture("fixtures/expr/l1000_small.gct"),
            ];
            plain("gct", "m.gct", seeds, |p| Ok(ok(read_gct(p))))
        }
        "gctx" => {
            let seeds = vec![
                Seed::made("v12.gct as GCTX", seeds::gctx("fixtures/expr/v12.gct")),
                Seed::made("cmapPy layout, fixed strings", seeds::gctx_fixed_strings()),
            ];
            plain("gctx", "m.gctx", seeds, |p| Ok(ok(read_gctx(p))))
        }
        "matrix" => {
            let refs = seeds::head("fixtures/expr/refs.tsv", 4);
            plain("matrix", "m.tsv", vec![refs], |p| {
                Ok(ok(read_matrix(p, Layout::Rows)) & ok(read_signatures(p, Layout::Columns)))
            })
        }
        "matrix_csv" => {
            let refs = seeds::head("fixtures/expr/refs.tsv", 4);
            let csv: Vec<u8> = refs
                .bytes
                .iter()
                .map(|&b| if b == b'\t' { b',' } else { b })
                .collect();
            plain(
                "matrix_csv",
                "m.csv",
                vec![Seed::made("refs as CSV", csv)],
                |p| Ok(ok(read_matrix(p, Layout::Columns))),
            )
        }
        "gmt" => {
            let seeds = vec![
                Seed::fixture("fixtures/expr/query.gmt"),
                Seed::made(
                    "up/down pair",
                    "A_UP\tx\t1000\t1001\n# c\n\nA_down\t\t1002\n",
                ),
            ];
            plain("gmt", "q.gmt", seeds, |p| {
                let sets = read_gmt(p);
                if let Ok(sets) = &sets {
                    pair_up_down(sets);
                }
                Ok(ok(sets) & ok(read_query(p, None, Layout::Rows)))
            })
        }
        "grp" => plain("grp", "set.grp", vec![Seed::made("grp", seeds::GRP)], |p| {
            Ok(ok(read_grp(p)))
        }),
        "updown" => {
            let genes = reference_genes();
            plain(
                "updown",
                "q.tsv",
                vec![Seed::fixture("fixtures/expr/updown.tsv")],
                move |p| Ok(ok(read_up_down(p)) & query(p, &genes)),
            )
        }
        "stargeo" => {
            let genes = reference_genes();
            let seeds = vec![Seed::fixture("fixtures/expr/disease.tsv")];
            plain("stargeo", "disease.tsv", seeds, move |p| {
                Ok(ok(read_stargeo(p)) & query(p, &genes))
            })
        }
        "gene_table" => plain(
            "gene_table",
            "genes.tsv",
            vec![Seed::made("genes", seeds::GENE_TABLE)],
            |p| Ok(ok(GeneTable::read(p))),
        ),
        "pathway_table" => {
            let seeds = vec![Seed::made("pathways", seeds::PATHWAYS)];
            plain("pathway_table", "pathways.tsv", seeds, |p| {
                Ok(ok(read_pathway_table(p)) & ok(read_gene_sets(p)))
            })
        }
        "model" => framed("model", "model.moltx", seeds::models().to_vec(), |p| {
            Ok(model_predicts(p))
        }),
        "model_bundled" => {
            let seeds = vec![
                Seed::fixture("fixtures/models/tox21/model_0.moltx"),
                Seed::fixture("fixtures/models/struct2sig/model_0.moltx"),
            ];
            framed("model_bundled", "model.moltx", seeds, |p| {
                Ok(model_predicts(p))
            })
        }
        "encoder" => framed(
            "encoder",
            "enc.moltx",
            vec![Seed::made("encoder", seeds::encoder())],
            |p| Ok(encoder_embeds(p)),
        ),
        "neighbors" => {
            let seeds = vec![Seed::made("neighbour model", seeds::neighbor_model())];
            framed("neighbors", "knn.moltx", seeds, |p| {
                Ok(neighbors_predict(p))
            })
        }
        "resume" => {
            let seeds = vec![Seed::made("manifest", seeds::manifest())];
            plain("resume", "hits.csv.moltx-resume.json", seeds, |p| {
                let out = p.with_file_name("hits.csv");
                Ok(matches!(Manifest::load(&out), Ok(Some(_))))
            })
        }
        other => panic!("no campaign {other}"),
    }
}

/// Loads a model file and, when it loads, predicts one molecule with it: what a loaded
/// header says must be usable, not only parseable.
fn model_predicts(path: &Path) -> bool {
    let device = Device::flex();
    let Ok(model) = Checkpoint::load(path, &device) else {
        return false;
    };
    if let Ok(input) = featurize(&model.header.model, "CC(=O)Oc1ccccc1C(=O)O") {
        let _ = model.predict(&[&input], 1, &device);
    }
    true
}

/// Loads an encoder file and, when it loads, embeds one signature over its genes.
fn encoder_embeds(path: &Path) -> bool {
    let device = Device::flex();
    let Ok(encoder) = SignatureEncoderFile::load(path, &device) else {
        return false;
    };
    let values: Vec<f64> = (0..encoder.header.featurizer.genes.len())
        .map(|g| (g as f64 * 0.37).sin())
        .collect();
    if let Ok(row) = encoder.inputs(&values) {
        let _ = encoder.embed(&[row], &device);
    }
    true
}

/// Loads a neighbour-model file and, when it loads, predicts one fingerprint.
fn neighbors_predict(path: &Path) -> bool {
    let Ok(model) = NeighborModel::load(path) else {
        return false;
    };
    let bits = model.header.config.bits;
    let query = Fingerprint {
        n_bits: bits,
        on_bits: [1, 5, 63].into_iter().filter(|&b| b < bits).collect(),
    };
    model.predict(&query);
    true
}

/// A GCT 1.3 file with row and column metadata and a blank value.
const SMALL_GCT: &str = "#1.3\n2\t3\t1\t2\nid\tpr_gene_symbol\tS1\tS2\tS3\nqc\tna\t1\t2\t3\n\
                         cell\tna\tA\tB\tC\ng1\tSYM1\t1.5\t-2\tNaN\ng2\tSYM2\t0\t3e-2\t\n";

/// The gene space of `fixtures/expr/refs.tsv`, for aligning fuzzed queries.
fn reference_genes() -> GeneSpace {
    let m = read_signatures(Path::new("fixtures/expr/refs.tsv"), Layout::Rows).expect("refs");
    GeneSpace::clone(&m.genes)
}

/// Reads a query file and aligns it to `genes`.
fn query(path: &Path, genes: &GeneSpace) -> bool {
    read_query(path, None, Layout::Rows).is_ok_and(|q| align_query(&q, genes, None, 5).is_ok())
}
