//! Checks on the shared real data (ignored by default: `cargo test -- --ignored`).

use moltx::expr::gct::read_gct;
use std::path::Path;

#[test]
#[ignore = "needs ../shared/data"]
fn reads_real_l1000_gct() {
    let data = std::env::var("MOLTX_DATA")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data").to_string());
    let p = Path::new(&data).join("expression/test_l1000.gct");
    if !p.exists() {
        eprintln!("skipped: {} absent", p.display());
        return;
    }
    let m = read_gct(&p).unwrap();
    assert_eq!((m.n_genes(), m.n_signatures()), (978, 377));
    assert_eq!((m.gene_meta.fields.len(), m.meta.fields.len()), (11, 35));
}
