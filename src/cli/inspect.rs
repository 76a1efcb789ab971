//! `moltx inspect FILE`: what is in a molecule dataset.

use std::path::PathBuf;

use anyhow::Context;

use crate::data::MoleculeTable;
use crate::data::summary::DatasetSummary;

/// Flags of `moltx inspect`.
#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// CSV/TSV file (optionally .gz) with a SMILES column and target columns.
    pub file: PathBuf,
    /// Which columns hold SMILES and targets.
    #[command(flatten)]
    pub columns: super::columns::ColumnArgs,
    /// How many failures to list.
    #[arg(long, default_value_t = 10)]
    pub show_failures: usize,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs `moltx inspect`.
pub fn run(args: &InspectArgs) -> anyhow::Result<()> {
    let options = args.columns.table_options();
    let table = MoleculeTable::read(&args.file, &options)
        .with_context(|| format!("reading {}", args.file.display()))?;
    let summary = DatasetSummary::of(&table, args.show_failures);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print!("{}", render(&summary));
    }
    Ok(())
}

/// The text report.
fn render(s: &DatasetSummary) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(out, "{}", s.path);
    let _ = writeln!(out, "  rows           {}", s.rows);
    let _ = writeln!(
        out,
        "  valid          {} (SMILES column {:?})",
        s.valid, s.smiles_column
    );
    let _ = writeln!(out, "  failed         {}", s.failed);
    for (reason, count) in &s.failures_by_reason {
        let _ = writeln!(out, "    {count:>6}  {reason}");
    }
    for f in &s.failures {
        let _ = writeln!(out, "    row {} (line {}): {}", f.row, f.line, f.reason);
    }
    if s.failed > s.failures.len() {
        let _ = writeln!(out, "    … and {} more", s.failed - s.failures.len());
    }
    let _ = writeln!(out, "  tasks          {}", s.tasks.len());
    for t in &s.tasks {
        let missing = 100.0 * t.missing_fraction;
        let stats = match (t.positives, t.positive_fraction, t.mean, t.sd) {
            (Some(p), Some(f), _, _) => format!("{p} positive ({:.1}%)", 100.0 * f),
            (_, _, Some(m), Some(sd)) => format!("mean {m:.3} ± {sd:.3}"),
            (_, _, Some(m), None) => format!("mean {m:.3}"),
            _ => "no labels".to_string(),
        };
        let range = match (t.min, t.max) {
            (Some(a), Some(b)) if t.kind == "regression" => format!(", range [{a:.3}, {b:.3}]"),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "    {:<28} {:<10} {:>6} labelled, {missing:>5.1}% missing, {stats}{range}",
            t.name, t.kind, t.labelled
        );
    }
    let _ = writeln!(
        out,
        "  scaffolds      {} distinct ({} acyclic molecules)",
        s.scaffolds, s.acyclic
    );
    for (label, c) in [("atoms", &s.atoms), ("bonds", &s.bonds)] {
        let _ = writeln!(
            out,
            "  {label:<14} min {}, median {}, mean {:.1}, max {}",
            c.min, c.median, c.mean, c.max
        );
    }
    out
}
