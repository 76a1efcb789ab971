//! Seed files for formats the fixtures lack, made once per test binary: `.smi`, SDF, Parquet,
//! GCTX, GRP, gene and pathway tables, split files, encoder files, neighbour-model files,
//! resume manifests, and small model files of every kind.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use burn::tensor::Device;
use moltx::chem::Fingerprint;
use moltx::expr::GeneSet;
use moltx::expr::gct::read_gct;
use moltx::expr::gctx::write_gctx;
use moltx::expr::matrix::{Layout, read_signatures};
use moltx::expr::pathway::{PathwayScorer, SignatureFeaturizer, SignatureInput};
use moltx::link::neighbors::{NeighborConfig, NeighborHeader, NeighborModel};
use moltx::model::descriptors::DescriptorFeatures;
use moltx::model::signature::{SignatureAutoencoder, SignatureEncoderConfig};
use moltx::model::signature_file::{ENCODER_FORMAT_VERSION, EncoderHeader, SignatureEncoderFile};
use moltx::model::{Checkpoint, CheckpointHeader, FeatureEncoderConfig, ModelKind, PropertyNet};
use moltx::screen::ScoredRow;
use moltx::screen::resume::{MANIFEST_VERSION, Manifest};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::harness::{Seed, scratch};

/// The first `n` drugs of `fixtures/approved_drugs.csv` as `(name, smiles)`.
pub fn drugs(n: usize) -> Vec<(String, String)> {
    std::fs::read_to_string("fixtures/approved_drugs.csv")
        .expect("fixtures/approved_drugs.csv")
        .lines()
        .skip(1)
        .take(n)
        .filter_map(|l| l.split_once(','))
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// The first `lines` lines of a fixture (small seeds keep cases cheap).
pub fn head(path: &str, lines: usize) -> Seed {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut out: String = text.lines().take(lines).collect::<Vec<_>>().join("\n");
    out.push('\n');
    Seed::made(&format!("{path} (first {lines} lines)"), out)
}

/// A `.smi` library: `SMILES id` lines, a comment and a blank line.
pub fn smi(n: usize) -> String {
    let mut out = String::from("# a library\n");
    for (i, (name, smiles)) in drugs(n).iter().enumerate() {
        out.push_str(&format!("{smiles} {name}\n"));
        if i == 1 {
            out.push('\n');
        }
    }
    out
}

/// A molblock of a chain of `n` atoms (alternating C and O) named `title`.
pub fn molblock(title: &str, n: usize) -> String {
    let mut out = format!(
        "{title}\n  moltx-fuzz\n\n{n:>3}{:>3}  0  0  0  0  0  0  0  0999 V2000\n",
        n - 1
    );
    for i in 0..n {
        let element = if i % 3 == 2 { "O" } else { "C" };
        out.push_str(&format!(
            "{:>10.4}{:>10.4}{:>10.4} {element:<3} 0  0  0  0  0  0  0  0  0  0  0  0\n",
            1.5 * i as f64,
            0.0,
            0.0
        ));
    }
    for i in 1..n {
        out.push_str(&format!("{i:>3}{:>3}  1  0\n", i + 1));
    }
    out.push_str("M  END\n");
    out
}

/// An SDF library of `n` small records, each with an `id` data item.
pub fn sdf(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "{}> <id>\nM-{i}\n\n$$$$\n",
                molblock(&format!("mol{i}"), 2 + i % 4)
            )
        })
        .collect()
}

/// A Parquet library of `(id, smiles)` rows (None = null SMILES), optionally compressed.
pub fn parquet(
    rows: &[(String, Option<String>)],
    compression: parquet::basic::Compression,
) -> Vec<u8> {
    use parquet::data_type::{ByteArray, ByteArrayType};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::parser::parse_message_type;
    let schema = parse_message_type(
        "message lib { required binary id (UTF8); optional binary smiles (UTF8); }",
    )
    .expect("schema");
    let mut buf = Vec::new();
    let props = Arc::new(
        WriterProperties::builder()
            .set_compression(compression)
            .build(),
    );
    let mut writer = SerializedFileWriter::new(&mut buf, Arc::new(schema), props).expect("writer");
    let mut group = writer.next_row_group().expect("row group");
    let ids: Vec<ByteArray> = rows.iter().map(|r| ByteArray::from(r.0.as_str())).collect();
    let smiles: Vec<ByteArray> = rows
        .iter()
        .filter_map(|r| r.1.as_deref().map(ByteArray::from))
        .collect();
    let def: Vec<i16> = rows.iter().map(|r| i16::from(r.1.is_some())).collect();
    let mut col = group.next_column().expect("column").expect("id column");
    col.typed::<ByteArrayType>()
        .write_batch(&ids, None, None)
        .expect("ids");
    col.close().expect("close");
    let mut col = group.next_column().expect("column").expect("smiles column");
    col.typed::<ByteArrayType>()
        .write_batch(&smiles, Some(&def), None)
        .expect("smiles");
    col.close().expect("close");
    group.close().expect("close group");
    writer.close().expect("close file");
    buf
}

/// Parquet seeds: plain with a null, and snappy-compressed.
pub fn parquet_seeds() -> Vec<Seed> {
    let mut rows: Vec<(String, Option<String>)> =
        drugs(4).into_iter().map(|(n, s)| (n, Some(s))).collect();
    rows.insert(2, ("null-smiles".into(), None));
    vec![
        Seed::made(
            "parquet, uncompressed, a null",
            parquet(&rows, parquet::basic::Compression::UNCOMPRESSED),
        ),
        Seed::made(
            "parquet, snappy",
            parquet(&rows[..3], parquet::basic::Compression::SNAPPY),
        ),
    ]
}

/// A GCTX file written by the crate's own writer from a GCT fixture.
pub fn gctx(gct: &str) -> Vec<u8> {
    let m = read_gct(Path::new(gct)).expect("GCT fixture");
    let dir = scratch();
    let path = dir.path().join("seed.gctx");
    write_gctx(&m, &path).expect("write GCTX");
    std::fs::read(&path).expect("read GCTX")
}

/// A GCTX file laid out as cmapPy writes it: fixed-length byte strings, an integer and a
/// float metadata field, a float32 matrix.
pub fn gctx_fixed_strings() -> Vec<u8> {
    use hdf5::types::FixedAscii;
    let dir = scratch();
    let path = dir.path().join("seed.gctx");
    {
        let file = hdf5::File::create(&path).expect("create");
        let fixed = |v: &[&str]| -> Vec<FixedAscii<8>> {
            v.iter()
                .map(|s| FixedAscii::from_ascii(s).expect("ascii"))
                .collect()
        };
        file.create_group("0/DATA/0").expect("group");
        let data: Vec<f32> = vec![1.0, -2.0, 0.5, f32::NAN, 3.0, 0.0];
        file.new_dataset::<f32>()
            .shape((2, 3))
            .create("0/DATA/0/matrix")
            .and_then(|ds| ds.write_raw(&data))
            .expect("matrix");
        file.create_group("0/META/ROW").expect("row");
        file.create_group("0/META/COL").expect("col");
        let put = |name: &str, v: Vec<FixedAscii<8>>| {
            file.new_dataset::<FixedAscii<8>>()
                .shape(v.len())
                .create(name)
                .and_then(|ds| ds.write_raw(&v))
                .expect("strings");
        };
        put("0/META/ROW/id", fixed(&["1000", "1001", "1002"]));
        put("0/META/ROW/pr_gene_symbol", fixed(&["A", "B", "C"]));
        put("0/META/COL/id", fixed(&["S1", "S2"]));
        file.new_dataset::<i64>()
            .shape(2)
            .create("0/META/COL/pert_idose")
            .and_then(|ds| ds.write_raw(&[10i64, 20]))
            .expect("ints");
        file.new_dataset::<f64>()
            .shape(2)
            .create("0/META/COL/qc")
            .and_then(|ds| ds.write_raw(&[0.5f64, 1.5]))
            .expect("floats");
    }
    std::fs::read(&path).expect("read GCTX")
}

/// A split file keyed by `key` (`index` or `smiles`) over `n` drugs.
pub fn split_file(n: usize, key: &str) -> String {
    let parts = ["train", "val", "test", "train", "valid"];
    let mut out = format!("{key},split\n");
    for (i, (_, smiles)) in drugs(n).iter().enumerate() {
        let k = if key == "index" {
            i.to_string()
        } else {
            smiles.clone()
        };
        out.push_str(&format!("{k},{}\n", parts[i % parts.len()]));
    }
    out
}

/// A gene table with Entrez ids, symbols and probe ids (one ambiguous probe).
pub const GENE_TABLE: &str = "pr_id\tentrez_gene_id\tsymbol\n1000_at\t1000\tSYM0\n1001_at\t1001\tSYM1\n\
                              1002_at\t1002///1003\tSYM2\n1003_at\t1003\tSYM3\n";

/// A pathway table with `|`-separated genes.
pub const PATHWAYS: &str =
    "identifier\tname\tgenes\nP1\tFirst\t1000|1001|1002\nP2\tSecond\t1003|1004\n\nP3\t\t1019\n";

/// A GRP file.
pub const GRP: &str = "# a gene set\n1000\n1001\n\n1007\n#end\n";

/// A resume manifest with kept rows, per-task bests and failure counts.
pub fn manifest() -> Vec<u8> {
    let row = |row: u64, smiles: &str, v: f64| ScoredRow {
        row,
        id: format!("id{row}"),
        smiles: smiles.to_string(),
        values: vec![v, -v],
        stds: vec![],
        notes: vec![format!("note{row}")],
        error: None,
        ..ScoredRow::default()
    };
    let m = Manifest {
        version: MANIFEST_VERSION,
        identity: "library=lib.smi size=120 model=bundled top_k=2".into(),
        next_row: 6,
        output_bytes: 321,
        rows_read: 6,
        rows_in_shard: 6,
        scored: 5,
        failed: [("syntax error".to_string(), 1)].into(),
        note_counts: [("note3".to_string(), 1)].into(),
        top_k: vec![row(3, "CCO", 0.9), row(1, "c1ccccc1", 0.5)],
        best_per_task: vec![vec![row(3, "CCO", 0.9)], vec![row(1, "c1ccccc1", -0.5)]],
    };
    serde_json::to_vec_pretty(&m).expect("manifest JSON")
}

/// A neighbour-model file over three references.
pub fn neighbor_model() -> Vec<u8> {
    let fp = |bits: &[u32]| Fingerprint {
        n_bits: 64,
        on_bits: bits.to_vec(),
    };
    let model = NeighborModel {
        header: NeighborHeader {
            format_version: 1,
            moltx_version: "0.1.0".into(),
            config: NeighborConfig {
                k: 2,
                power: 3.0,
                radius: 2,
                bits: 64,
            },
            shrinkage: 0.5,
            tasks: vec!["1000".into(), "1001".into()],
            ids: vec!["DB1".into(), "DB2".into(), "DB3".into()],
            mean: vec![0.1, -0.2],
            metrics: serde_json::json!({"references": 3}),
        },
        fingerprints: vec![fp(&[1, 5, 9]), fp(&[]), fp(&[0, 63])],
        targets: vec![0.5, -1.0, 0.0, 0.25, 1.5, 2.0],
    };
    model.to_bytes().expect("neighbour model bytes")
}

/// A small signature-encoder file over the genes of `fixtures/expr/refs.tsv`.
pub fn encoder() -> Vec<u8> {
    let m = read_signatures(Path::new("fixtures/expr/refs.tsv"), Layout::Rows).expect("refs");
    let set = |name: &str, genes: &[&str]| GeneSet {
        name: name.into(),
        description: String::new(),
        genes: genes.iter().map(|g| g.to_string()).collect(),
    };
    let sets = [
        set("EVEN", &["1000", "1002", "1004"]),
        set("ODD", &["1001", "1003"]),
    ];
    let scorer = PathwayScorer::new(&sets, &m.genes, None, 2);
    let featurizer =
        SignatureFeaturizer::new(SignatureInput::Both, m.genes.ids().to_vec(), Some(scorer))
            .expect("featurizer");
    let d = featurizer.len();
    let config = SignatureEncoderConfig {
        input_dim: d,
        hidden: 4,
        layers: 1,
        embedding: 2,
        dropout: 0.1,
    };
    let scaling = DescriptorFeatures {
        generator: "signature".into(),
        names: featurizer.names(),
        mean: vec![0.0; d],
        sd: vec![1.0; d],
    };
    let net =
        SignatureAutoencoder::new(&config, &mut ChaCha8Rng::seed_from_u64(1), &Device::flex());
    let file = SignatureEncoderFile {
        header: EncoderHeader {
            format_version: ENCODER_FORMAT_VERSION,
            moltx_version: "0.1.0".into(),
            featurizer,
            scaling,
            config,
            metrics: serde_json::json!({"loss": 0.5}),
        },
        net,
    };
    file.to_bytes().expect("encoder bytes")
}

/// The JSON header of a framed file.
fn header_of(bytes: &[u8]) -> &[u8] {
    let h = u64::from_le_bytes(bytes[12..20].try_into().expect("8 bytes")) as usize;
    &bytes[20..20 + h]
}

/// A model file with `header` and a freshly initialised network of its architecture.
fn model_bytes(header: CheckpointHeader) -> Vec<u8> {
    let net = PropertyNet::new(
        &header.model,
        &mut ChaCha8Rng::seed_from_u64(0),
        &Device::flex(),
    );
    Checkpoint { header, net }.to_bytes().expect("model bytes")
}

/// Model-file seeds of every kind, small: the frozen format-1 fixture; the bundled Tox21
/// and structure → signature headers on 8-wide networks; an `ffn-morgan` model; a
/// features-only model with RDKit descriptors and a feature encoder.
pub fn models() -> &'static [Seed] {
    static SEEDS: OnceLock<Vec<Seed>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let small = Seed::fixture("fixtures/models/format_v1_small.moltx");
        let base: CheckpointHeader =
            serde_json::from_slice(header_of(&small.bytes)).expect("fixture header");
        let mut seeds = vec![small];
        for (kind, path) in [
            ("tox21 header", "fixtures/models/tox21/model_0.moltx"),
            (
                "struct2sig header",
                "fixtures/models/struct2sig/model_0.moltx",
            ),
        ] {
            let bytes = std::fs::read(path).expect("bundled model");
            let mut header: CheckpointHeader =
                serde_json::from_slice(header_of(&bytes)).expect("bundled header");
            header.model.hidden = 8;
            header.model.ffn_hidden = 8;
            seeds.push(Seed::made(
                &format!("{kind}, 8-wide network"),
                model_bytes(header),
            ));
        }
        let mut morgan = base.clone();
        morgan.model.kind = ModelKind::FfnMorgan;
        morgan.model.morgan_bits = 64;
        morgan.model.ffn_hidden = 8;
        seeds.push(Seed::made("ffn-morgan, 64 bits", model_bytes(morgan)));
        let mut features = base;
        features.model.kind = ModelKind::FeaturesOnly;
        let mut descriptors = DescriptorFeatures::rdkit_2d();
        let d = descriptors.len();
        descriptors.mean = vec![0.0; d];
        descriptors.sd = vec![1.0; d];
        features.model.descriptors = Some(descriptors);
        features.model.feature_encoder = Some(FeatureEncoderConfig {
            hidden: 4,
            layers: 1,
            embedding: 2,
            passthrough: 1,
        });
        features.model.ffn_hidden = 4;
        seeds.push(Seed::made(
            "features-only, rdkit_2d, feature encoder",
            model_bytes(features),
        ));
        seeds
    })
}
