//! File formats: GCT 1.2/1.3, GCTX, delimited matrices, gene sets, gene spaces.

use moltx::expr::error::ExprError;
use moltx::expr::gct::{GctVersion, read_gct, write_gct};
use moltx::expr::gctx::{read_gctx, write_gctx};
use moltx::expr::geneset::{pair_up_down, read_gmt, read_grp, read_stargeo, read_up_down};
use moltx::expr::matrix::{Layout, read_matrix, write_matrix};
use moltx::expr::{GeneSpace, GeneTable, MetaTable, SignatureMatrix};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/expr")
        .join(name)
}

fn sample_matrix() -> SignatureMatrix {
    let genes = GeneSpace::new(vec!["g1".into(), "g2".into(), "g3".into()]).unwrap();
    let gene_meta = MetaTable {
        fields: vec!["pr_gene_symbol".into(), "pr_gene_id".into()],
        values: vec![
            vec!["A".into(), "B".into(), "C".into()],
            vec!["1".into(), "2".into(), "3".into()],
        ],
    };
    let meta = MetaTable {
        fields: vec!["cell_id".into(), "pert_type".into()],
        values: vec![
            vec!["A375".into(), "MCF7".into()],
            vec!["trt_cp".into(), "ctl vehicle".into()],
        ],
    };
    let data = vec![1.5, -2.25, 0.125, 3.0, f64::NAN, -0.5];
    SignatureMatrix::new(
        Arc::new(genes),
        vec!["s1".into(), "s2".into()],
        data,
        gene_meta,
        meta,
    )
    .unwrap()
}

fn same(a: &SignatureMatrix, b: &SignatureMatrix) {
    assert_eq!(a.genes.ids(), b.genes.ids());
    assert_eq!(a.ids, b.ids);
    assert_eq!(a.gene_meta.sorted(), b.gene_meta.sorted());
    assert_eq!(a.meta.sorted(), b.meta.sorted());
    assert_eq!(a.data.len(), b.data.len());
    for (x, y) in a.data.iter().zip(&b.data) {
        assert!(
            (x.is_nan() && y.is_nan()) || (x - y).abs() < 1e-6,
            "{x} vs {y}"
        );
    }
}

#[test]
fn gct13_round_trip_keeps_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let m = sample_matrix();
    for name in ["m.gct", "m.gct.gz"] {
        let p = dir.path().join(name);
        write_gct(&m, &p, GctVersion::V1_3).unwrap();
        let back = read_gct(&p).unwrap();
        same(&m, &back);
        assert_eq!((&m.gene_meta, &m.meta), (&back.gene_meta, &back.meta));
    }
}

#[test]
fn gct12_round_trip_and_fixture() {
    let m = read_gct(&fixture("v12.gct")).unwrap();
    assert_eq!(m.n_genes(), 3);
    assert_eq!(m.ids, ["S1", "S2"]);
    assert_eq!(
        m.gene_meta.field("Description").unwrap(),
        ["first", "second", ""]
    );
    assert_eq!(m.column(0), [1.5, 0.0, 3.0]);
    assert!(m.column(1)[1].is_nan());
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("v12.gct");
    write_gct(&m, &p, GctVersion::V1_2).unwrap();
    same(&m, &read_gct(&p).unwrap());
}

#[test]
fn parses_l1000_style_fixture() {
    let m = read_gct(&fixture("l1000_small.gct")).unwrap();
    assert_eq!((m.n_genes(), m.n_signatures()), (8, 5));
    assert_eq!(m.gene_meta.fields.len(), 11);
    assert_eq!(m.meta.fields.len(), 35);
    assert_eq!(m.meta.field("pert_type").unwrap()[0], "ctl_vehicle");
    assert_eq!(m.gene_meta.field("pr_gene_symbol").unwrap()[0], "PSME1");
    assert_eq!(m.genes.ids()[0], "200814_at");
    let sig = m.signature(1);
    assert_eq!(sig.meta["pert_iname"], "drug1");
}

#[test]
fn gctx_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("m.gctx");
    let m = sample_matrix();
    write_gctx(&m, &p).unwrap();
    same(&m, &read_gctx(&p).unwrap());
    let l = read_gct(&fixture("l1000_small.gct")).unwrap();
    write_gctx(&l, &p).unwrap();
    same(&l, &read_gctx(&p).unwrap());
}

#[test]
fn gctx_reads_fixed_length_strings_and_numeric_metadata() {
    use hdf5::types::FixedAscii;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("cmappy.gctx");
    {
        let f = hdf5::File::create(&p).unwrap();
        let ds = f
            .new_dataset::<f32>()
            .shape((2, 3))
            .create("0/DATA/0/matrix")
            .unwrap();
        ds.write_raw(&[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
        let s = |x: &str| FixedAscii::<8>::from_ascii(x).unwrap();
        let rows = f
            .new_dataset::<FixedAscii<8>>()
            .shape(3)
            .create("0/META/ROW/id")
            .unwrap();
        rows.write_raw(&[s("g1"), s("g2"), s("g3")]).unwrap();
        let cols = f
            .new_dataset::<FixedAscii<8>>()
            .shape(2)
            .create("0/META/COL/id")
            .unwrap();
        cols.write_raw(&[s("s1"), s("s2")]).unwrap();
        let dose = f
            .new_dataset::<i64>()
            .shape(2)
            .create("0/META/COL/pert_dose")
            .unwrap();
        dose.write_raw(&[10i64, -666]).unwrap();
    }
    let m = read_gctx(&p).unwrap();
    assert_eq!(m.genes.ids(), ["g1", "g2", "g3"]);
    assert_eq!(m.ids, ["s1", "s2"]);
    assert_eq!(m.column(1), [4.0, 5.0, 6.0]);
    assert_eq!(m.meta.field("pert_dose").unwrap(), ["10", "-666"]);
}

#[test]
fn malformed_gct_errors_carry_line_numbers() {
    match read_gct(&fixture("bad_dims.gct")).unwrap_err() {
        ExprError::Parse { line, .. } => assert_eq!(line, 2),
        e => panic!("unexpected {e}"),
    }
    match read_gct(&fixture("bad_value.gct")).unwrap_err() {
        ExprError::Parse { line, column, .. } => {
            assert_eq!(line, 6);
            assert_eq!(column.as_deref(), Some("S2"));
        }
        e => panic!("unexpected {e}"),
    }
    match read_gct(&fixture("dup_id.gct")).unwrap_err() {
        ExprError::DuplicateId { line, id, .. } => assert_eq!((line, id.as_str()), (6, "g1")),
        e => panic!("unexpected {e}"),
    }
    let msg = read_gct(&fixture("bad_value.gct")).unwrap_err().to_string();
    assert!(
        msg.contains("bad_value.gct:6") && msg.contains("abc"),
        "{msg}"
    );
}

#[test]
fn matrix_round_trip_both_layouts() {
    let dir = tempfile::tempdir().unwrap();
    let mut m = sample_matrix();
    m.gene_meta = MetaTable::empty();
    m.meta = MetaTable::empty();
    for (name, layout) in [
        ("r.tsv", Layout::Rows),
        ("c.tsv.gz", Layout::Columns),
        ("r.csv", Layout::Rows),
    ] {
        let p = dir.path().join(name);
        write_matrix(&m, &p, layout).unwrap();
        same(&m, &read_matrix(&p, layout).unwrap());
    }
    let r = read_matrix(&fixture("refs.tsv"), Layout::Rows).unwrap();
    assert_eq!((r.n_genes(), r.n_signatures()), (20, 6));
    let dup = dir.path().join("dup.tsv");
    std::fs::write(&dup, "id\ta\tb\nx\t1\t2\nx\t3\t4\n").unwrap();
    assert!(matches!(
        read_matrix(&dup, Layout::Rows),
        Err(ExprError::DuplicateId { line: 3, .. })
    ));
    std::fs::write(&dup, "id\ta\tb\nx\t1\n").unwrap();
    assert!(matches!(
        read_matrix(&dup, Layout::Rows),
        Err(ExprError::Parse { line: 2, .. })
    ));
}

#[test]
fn gene_sets_and_lists() {
    let sets = read_gmt(&fixture("query.gmt")).unwrap();
    assert_eq!(sets.len(), 2);
    let q = pair_up_down(&sets);
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].name, "q");
    assert_eq!((q[0].up.len(), q[0].down.len()), (4, 4));
    let ud = read_up_down(&fixture("updown.tsv")).unwrap();
    assert_eq!(ud.up, q[0].up);
    assert_eq!(ud.down, q[0].down);
    let dir = tempfile::tempdir().unwrap();
    let grp = dir.path().join("set.grp");
    std::fs::write(&grp, "# comment\nTP53\n\nEGFR\n").unwrap();
    let s = read_grp(&grp).unwrap();
    assert_eq!((s.name.as_str(), s.genes.len()), ("set", 2));
    let d = read_stargeo(&fixture("disease.tsv")).unwrap();
    assert_eq!(d.len(), 21);
    assert!(d.iter().all(|g| g.up == (g.z > 0.0)));
}

#[test]
fn gene_space_aligns_through_aliases_and_tables() {
    let mut space = GeneSpace::new(vec!["200814_at".into(), "218597_s_at".into()]).unwrap();
    space.add_aliases(&["5720".into(), "55847".into()]).unwrap();
    let al = space.align(&["5720".into(), "200814_at".into(), "nope".into()], None);
    assert_eq!(al.positions, [Some(0), Some(0), None]);
    assert_eq!(
        (al.matched, al.unmatched.clone()),
        (2, vec!["nope".to_string()])
    );
    let mut table = GeneTable::new();
    table.insert("PSME1", "5720");
    table.insert("CISD1", "55847");
    let al = space.align(&["psme1".into(), "CISD1".into()], Some(&table));
    assert_eq!(al.positions, [Some(0), Some(1)]);
    assert!(GeneSpace::new(vec!["a".into(), "a".into()]).is_err());
}
