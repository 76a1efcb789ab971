//! Flags shared by several subcommands: the columns of a labelled table (and the size limit
//! of its molecules), and the D-MPNN architecture.

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
    /// The size limit of the table's molecules.
    #[command(flatten)]
    pub limits: MoleculeLimitArgs,
}

/// `--max-atoms`: the largest molecule a command parses.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct MoleculeLimitArgs {
    /// Molecules with more heavy atoms (counted from the SMILES or molfile text) are failed
    /// rows ("too large") and are never parsed: RDKit's time grows about cubically with size.
    #[arg(long, default_value_t = crate::chem::DEFAULT_MAX_HEAVY_ATOMS)]
    pub max_atoms: usize,
}

impl ColumnArgs {
    /// The table options these flags ask for.
    pub fn table_options(&self) -> TableOptions {
        TableOptions {
            smiles_column: self.smiles_column.clone(),
            target_columns: self.targets.clone(),
            max_heavy_atoms: self.limits.max_atoms,
        }
    }
}

/// Architecture flags shared by the commands that train a D-MPNN.
#[derive(Debug, Clone, clap::Args)]
pub struct ArchitectureArgs {
    /// Hidden width of message passing.
    #[arg(long, default_value_t = 300)]
    pub hidden: usize,
    /// Message-passing depth.
    #[arg(long, default_value_t = 3)]
    pub depth: usize,
    /// Dropout probability.
    #[arg(long, default_value_t = 0.0)]
    pub dropout: f64,
    /// Atom-to-molecule aggregation.
    #[arg(long, value_enum, default_value = "norm")]
    pub aggregation: crate::model::Aggregation,
    /// Hidden width of the head.
    #[arg(long, default_value_t = 300)]
    pub ffn_hidden: usize,
    /// Hidden layers of the head.
    #[arg(long, default_value_t = 1)]
    pub ffn_layers: usize,
}

impl ArchitectureArgs {
    /// Writes the flags into a model configuration.
    pub fn apply(&self, model: &mut crate::model::ModelConfig) {
        model.hidden = self.hidden;
        model.depth = self.depth;
        model.dropout = self.dropout;
        model.aggregation = self.aggregation;
        model.ffn_hidden = self.ffn_hidden;
        model.ffn_layers = self.ffn_layers;
    }
}
