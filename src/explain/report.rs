//! Explaining a compound file into a folder: a table of per-atom contributions, a table of
//! outputs, one picture per molecule and task, and the rows that could not be explained.
//!
//! `DIR/attributions.csv`: `row, id, smiles, task, atom, element, contribution`, one line per
//! atom per explained task (`row`: the entry's 0-based index in the file; `atom`: RDKit's
//! atom index, as drawn with [`Depiction::atom_indices`]; `smiles`: as written, or RDKit's
//! canonical SMILES for an SDF record).
//!
//! `DIR/outputs.csv`: `row, id, smiles, task, output, baseline, sum`: the model's output at
//! the molecule and at the all-zero baseline, and the sum of the contributions, which
//! integrated gradients make equal to `output − baseline` up to the quadrature error.
//!
//! `DIR/<row>_<task>.svg`: the molecule drawn by RDKit with atoms shaded by contribution
//! (red raises the output, blue lowers it; scaled per picture), its legend the id (or the
//! SMILES when there is none), the task and the prediction ([`describe_output`]), its
//! `<title>` the id, SMILES and task. Characters
//! of a task name other than letters, digits, `-`, `_` and `.` become `_` in the file name.
//!
//! `DIR/errors.csv`: `row, line, id, error`, the entries skipped (unreadable rows, SMILES
//! RDKit rejects, molecules over the size limit) and pictures RDKit could not draw.

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use rayon::prelude::*;

use super::{ExplainError, IgSettings, describe_output, integrated_gradients, task_indices};
use crate::chem::Molecule;
use crate::chem::depict::{Depiction, svg_with_atom_weights};
use crate::data::{LibraryOptions, LibraryReader, LibraryRow, MoleculeText};
use crate::model::{Checkpoint, MoleculeInput};

/// What to explain and how.
#[derive(Debug, Clone)]
pub struct ExplainOptions {
    /// The file's SMILES and id columns.
    pub library: LibraryOptions,
    /// Tasks to explain, by name (empty: all).
    pub tasks: Vec<String>,
    /// Only the first `n` entries of the file.
    pub limit: Option<usize>,
    /// Integrated-gradient steps and pass size.
    pub settings: IgSettings,
    /// Molecules of more heavy atoms are skipped.
    pub max_heavy_atoms: usize,
    /// Picture size and atom indices (the legend and title are set per picture).
    pub depiction: Depiction,
    /// Write the pictures (else only the tables).
    pub pictures: bool,
    /// Entries read, explained and written at a time.
    pub chunk_size: usize,
}

impl Default for ExplainOptions {
    fn default() -> Self {
        ExplainOptions {
            library: LibraryOptions::default(),
            tasks: Vec::new(),
            limit: None,
            settings: IgSettings::default(),
            max_heavy_atoms: crate::chem::DEFAULT_MAX_HEAVY_ATOMS,
            depiction: Depiction::default(),
            pictures: true,
            chunk_size: 64,
        }
    }
}

/// An entry (or a picture of one) that was skipped, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedRow {
    /// 0-based entry index in the file.
    pub row: u64,
    /// 1-based line where the entry starts (0 for Parquet).
    pub line: u64,
    /// The entry's identifier (may be empty).
    pub id: String,
    /// Why.
    pub reason: String,
}

/// What [`write_explanations`] did.
#[derive(Debug, Clone, Default)]
pub struct ExplainSummary {
    /// Entries read.
    pub rows: u64,
    /// Molecules explained.
    pub explained: usize,
    /// Pictures written.
    pub pictures: usize,
    /// The explained task names.
    pub tasks: Vec<String>,
    /// Entries and pictures skipped, in file order.
    pub skipped: Vec<SkippedRow>,
    /// The folder written.
    pub out_dir: PathBuf,
}

/// A file name part from a task name: letters, digits, `-`, `_` and `.` kept, others `_`.
pub fn file_safe(name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if safe.is_empty() || safe.chars().all(|c| c == '.') {
        "task".to_string()
    } else {
        safe
    }
}

/// The picture file names of the tasks: [`file_safe`] names, made unique by appending the
/// task's position where two would clash.
fn picture_names(tasks: &[String]) -> Vec<String> {
    let safe: Vec<String> = tasks.iter().map(|t| file_safe(t)).collect();
    safe.iter()
        .enumerate()
        .map(|(k, s)| {
            let clash = safe.iter().filter(|o| o.eq_ignore_ascii_case(s)).count() > 1;
            if clash { format!("{s}_{k}") } else { s.clone() }
        })
        .collect()
}

/// One parsed entry.
struct Parsed {
    row: LibraryRow,
    smiles: String,
    mol: Molecule,
    symbols: Vec<String>,
    input: MoleculeInput,
}

/// Parses and prepares an entry, or says why it cannot be.
fn parse(row: LibraryRow, model: &Checkpoint, max_atoms: usize) -> Result<Parsed, SkippedRow> {
    let skip = |row: &LibraryRow, reason: String| SkippedRow {
        row: row.row,
        line: row.line,
        id: row.id.clone(),
        reason,
    };
    if let Some(e) = &row.error {
        return Err(skip(&row, e.clone()));
    }
    let mol = match &row.molecule {
        MoleculeText::Smiles(s) => Molecule::from_smiles_limited(s, max_atoms),
        MoleculeText::Molblock(b) => Molecule::from_molblock_limited(b, max_atoms),
    }
    .map_err(|e| skip(&row, e.to_string()))?;
    let smiles = match &row.molecule {
        MoleculeText::Smiles(s) => s.clone(),
        MoleculeText::Molblock(_) => mol
            .canonical_smiles()
            .map_err(|e| skip(&row, e.to_string()))?,
    };
    let input = model
        .header
        .prepare(&mol, None)
        .map_err(|e| skip(&row, e.to_string()))?;
    let symbols = mol.atom_symbols();
    Ok(Parsed {
        row,
        smiles,
        mol,
        symbols,
        input,
    })
}

/// Creates a file in the output folder.
fn create(dir: &Path, name: &str) -> Result<csv::Writer<std::fs::File>, ExplainError> {
    let path = dir.join(name);
    let file = std::fs::File::create(&path).map_err(|source| ExplainError::Io { path, source })?;
    Ok(csv::Writer::from_writer(file))
}

/// A CSV write error as an explain error.
fn csv_error(dir: &Path, name: &str) -> impl Fn(csv::Error) -> ExplainError {
    let path = dir.join(name);
    move |e| ExplainError::Io {
        path: path.clone(),
        source: std::io::Error::other(e.to_string()),
    }
}

/// Explains the molecules of a compound file (`.smi`, `.csv`, `.tsv`, `.sdf`, optionally
/// `.gz`, or `.parquet`) with a model or the mean of an ensemble's `members`, writing the
/// folder described in the module doc. Entries that cannot be read are skipped and listed in
/// the summary (and `errors.csv`); an unreadable file, a folder that cannot be written, an
/// unknown task or a model that is not a D-MPNN is an error.
pub fn write_explanations(
    library: &Path,
    members: &[Checkpoint],
    out_dir: &Path,
    options: &ExplainOptions,
    device: &Device,
) -> Result<ExplainSummary, ExplainError> {
    super::check_models(members)?;
    let model = &members[0];
    let all_tasks = &model.header.tasks;
    let tasks = task_indices(all_tasks, &options.tasks)?;
    let names: Vec<String> = tasks.iter().map(|&j| all_tasks[j].clone()).collect();
    let files = picture_names(&names);
    let reader = LibraryReader::open(library, &options.library)?;
    std::fs::create_dir_all(out_dir).map_err(|source| ExplainError::Io {
        path: out_dir.to_path_buf(),
        source,
    })?;
    let (a_name, o_name, e_name) = ("attributions.csv", "outputs.csv", "errors.csv");
    let (a_err, o_err, e_err) = (
        csv_error(out_dir, a_name),
        csv_error(out_dir, o_name),
        csv_error(out_dir, e_name),
    );
    let mut atoms_csv = create(out_dir, a_name)?;
    let mut outputs_csv = create(out_dir, o_name)?;
    let mut errors_csv = create(out_dir, e_name)?;
    atoms_csv
        .write_record([
            "row",
            "id",
            "smiles",
            "task",
            "atom",
            "element",
            "contribution",
        ])
        .map_err(&a_err)?;
    outputs_csv
        .write_record(["row", "id", "smiles", "task", "output", "baseline", "sum"])
        .map_err(&o_err)?;
    errors_csv
        .write_record(["row", "line", "id", "error"])
        .map_err(&e_err)?;
    let mut summary = ExplainSummary {
        tasks: names.clone(),
        out_dir: out_dir.to_path_buf(),
        ..ExplainSummary::default()
    };
    let limit = options.limit.unwrap_or(usize::MAX);
    let mut rows = reader.take(limit).peekable();
    while rows.peek().is_some() {
        let chunk: Vec<LibraryRow> = rows
            .by_ref()
            .take(options.chunk_size.max(1))
            .collect::<Result<_, _>>()?;
        summary.rows += chunk.len() as u64;
        let parsed: Vec<Result<Parsed, SkippedRow>> = chunk
            .into_par_iter()
            .map(|row| parse(row, model, options.max_heavy_atoms))
            .collect();
        let mut ok = Vec::with_capacity(parsed.len());
        let mut skipped = Vec::new();
        for p in parsed {
            match p {
                Ok(p) => ok.push(p),
                Err(s) => skipped.push(s),
            }
        }
        let inputs: Vec<&MoleculeInput> = ok.iter().map(|p| &p.input).collect();
        let explained = integrated_gradients(members, &inputs, &tasks, &options.settings, device)?;
        for (p, a) in ok.iter().zip(&explained) {
            let (row, id) = (p.row.row.to_string(), p.row.id.as_str());
            for (k, task) in names.iter().enumerate() {
                for (i, c) in a.task_row(k).iter().enumerate() {
                    let (atom, c) = (i.to_string(), c.to_string());
                    let element = p.symbols.get(i).map_or("", String::as_str);
                    atoms_csv
                        .write_record([&row, id, &p.smiles, task, &atom, element, &c])
                        .map_err(&a_err)?;
                }
                // `+ 0.0`: an empty sum is −0, written "-0".
                let sum: f64 = a.task_row(k).iter().sum::<f64>() + 0.0;
                let values = [a.output[k], a.baseline[k], sum].map(|v| v.to_string());
                outputs_csv
                    .write_record([
                        &row, id, &p.smiles, task, &values[0], &values[1], &values[2],
                    ])
                    .map_err(&o_err)?;
                if !options.pictures {
                    continue;
                }
                let name = if id.is_empty() { &p.smiles } else { id };
                let depiction = Depiction {
                    legend: format!(
                        "{name}   {}",
                        describe_output(model.header.task_type, task, a.output[k])
                    ),
                    title: Some(format!("{name} {} {task}", p.smiles)),
                    ..options.depiction.clone()
                };
                let file = out_dir.join(format!("{}_{}.svg", p.row.row, files[k]));
                match svg_with_atom_weights(&p.mol, a.task_row(k), &depiction) {
                    Ok(svg) => {
                        std::fs::write(&file, svg)
                            .map_err(|source| ExplainError::Io { path: file, source })?;
                        summary.pictures += 1;
                    }
                    Err(e) => skipped.push(SkippedRow {
                        row: p.row.row,
                        line: p.row.line,
                        id: id.to_string(),
                        reason: format!("picture for {task}: {e}"),
                    }),
                }
            }
        }
        summary.explained += ok.len();
        skipped.sort_by_key(|s| s.row);
        for s in &skipped {
            errors_csv
                .write_record([&s.row.to_string(), &s.line.to_string(), &s.id, &s.reason])
                .map_err(&e_err)?;
        }
        summary.skipped.extend(skipped);
    }
    for (w, err) in [
        (&mut atoms_csv, &a_err),
        (&mut outputs_csv, &o_err),
        (&mut errors_csv, &e_err),
    ] {
        w.flush().map_err(|e| err(csv::Error::from(e)))?;
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_names_become_distinct_file_names() {
        assert_eq!(file_safe("NR-AR"), "NR-AR");
        assert_eq!(file_safe("logS (mol/L)"), "logS__mol_L_");
        assert_eq!(file_safe(".."), "task");
        assert_eq!(file_safe(""), "task");
        let names = picture_names(&["a/b".into(), "a b".into(), "c".into()]);
        assert_eq!(names, ["a_b_0", "a_b_1", "c"]);
    }
}
