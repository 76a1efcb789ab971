//! Flags shared by several subcommands: the columns of a labelled table (and the size limit
//! of its molecules), and the D-MPNN architecture.

use std::path::PathBuf;

use crate::data::TableOptions;

/// `--smiles-column` and the target columns (`--targets A,B`, `--target NAME` repeated, or
/// `--targets-file FILE`).
#[derive(Debug, Clone, clap::Args)]
pub struct ColumnArgs {
    /// SMILES column (default: the first column whose name contains "smiles").
    #[arg(long)]
    pub smiles_column: Option<String>,
    /// Target columns, comma-separated (default: every numeric column, or a model's tasks);
    /// for names that hold commas use --target or --targets-file.
    #[arg(long, value_delimiter = ',', conflicts_with_all = ["target", "targets_file"])]
    pub targets: Option<Vec<String>>,
    /// A target column, its name taken whole (commas included); repeat it for several, in
    /// order.
    #[arg(long = "target", value_name = "NAME", conflicts_with = "targets_file")]
    pub target: Vec<String>,
    /// A file naming the target columns, one per line (blank lines skipped).
    #[arg(long, value_name = "FILE", value_parser = read_names_file)]
    pub targets_file: Option<NamesFile>,
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

/// The column names of a `--targets-file`, read when the flags are parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamesFile {
    /// The file.
    pub path: PathBuf,
    /// Its names, in order.
    pub names: Vec<String>,
}

/// Reads a names file: one name a line, trailing `\r` and blank lines dropped.
fn read_names_file(path: &str) -> Result<NamesFile, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let names: Vec<String> = text
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    if names.is_empty() {
        return Err(format!("{path}: names no column"));
    }
    Ok(NamesFile {
        path: PathBuf::from(path),
        names,
    })
}

impl ColumnArgs {
    /// The target columns named by `--targets`, `--target` or `--targets-file` (`None`:
    /// none named, so the command's default applies).
    pub fn target_columns(&self) -> Option<Vec<String>> {
        if let Some(file) = &self.targets_file {
            Some(file.names.clone())
        } else if !self.target.is_empty() {
            Some(self.target.clone())
        } else {
            self.targets.clone()
        }
    }

    /// The table options these flags ask for.
    pub fn table_options(&self) -> TableOptions {
        TableOptions {
            smiles_column: self.smiles_column.clone(),
            target_columns: self.target_columns(),
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
        model.set_dropout(self.dropout);
        model.aggregation = self.aggregation;
        model.ffn_hidden = self.ffn_hidden;
        model.ffn_layers = self.ffn_layers;
    }
}
