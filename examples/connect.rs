//! Rank reference signatures by how strongly they reverse a query (a GMT up/down pair):
//! `cargo run --example connect [-- QUERY REFERENCES]`.

use std::path::PathBuf;

use moltx::prelude::*;

fn main() -> Result<(), ApiError> {
    let mut args = std::env::args().skip(1);
    let query = PathBuf::from(args.next().unwrap_or("fixtures/expr/query.gmt".into()));
    let refs = PathBuf::from(args.next().unwrap_or("fixtures/expr/refs.tsv".into()));
    let references = References::read(&refs)?;
    let ranking = connectivity::score(&Query::read(&query)?, &references, Score::Wtcs)?;
    println!("id\twtcs\tncs\ttau");
    for c in &ranking {
        println!(
            "{}\t{:.4}\t{:.4}\t{:.1}",
            c.id,
            c.score,
            c.normalized.unwrap_or(f64::NAN),
            c.tau.unwrap_or(f64::NAN)
        );
    }
    Ok(())
}
