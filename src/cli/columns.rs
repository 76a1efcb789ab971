//! The column flags shared by every subcommand that reads a labelled table.

use crate::data::TableOptions;

/// `--smiles-column` and `--targets`.
#[derive(Debug, Clone, clap::Args)]
pub struct ColumnArgs {
    /// SMILES column (default: the first column whose name contains "smiles").
    #[arg(long)]
    pub smiles_column: Option<String>,
    /// Target columns, comma-separated (default: every numeric column, or a model's tasks).
    #[arg(long, value_delimiter = ',')]
    pub targets: Option<Vec<String>>,
}

impl ColumnArgs {
    /// The table options these flags ask for.
    pub fn table_options(&self) -> TableOptions {
        TableOptions {
            smiles_column: self.smiles_column.clone(),
            target_columns: self.targets.clone(),
        }
    }
}
