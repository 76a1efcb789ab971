//! Stream a compound library through the bundled Tox21 model, keeping the 5 molecules most
//! likely to be SR-MMP active: `cargo run --example screen [-- LIBRARY OUT]`.

use std::path::PathBuf;

use moltx::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let library = PathBuf::from(args.next().unwrap_or("fixtures/approved_drugs.csv".into()));
    let out = PathBuf::from(args.next().unwrap_or("target/example_screen.csv".into()));
    let predictor = Predictor::bundled()?;
    let options = ScreenOptions {
        top_k: Some(TopKOption {
            k: 5,
            task: "SR-MMP".into(),
            ascending: false,
        }),
        ..ScreenOptions::default()
    };
    let summary = screen(&Library::open(&library)?, &predictor, &out, &options)?;
    println!(
        "{} rows: {} scored, {} failed; the 5 best by SR-MMP → {}",
        summary.rows_in_shard,
        summary.scored,
        summary.failed.values().sum::<u64>(),
        out.display()
    );
    print!("{}", std::fs::read_to_string(&out)?);
    Ok(())
}
