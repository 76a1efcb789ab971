//! The reader and compute stages of the screening pipeline: streaming rows into chunks, and
//! featurizing and scoring each chunk.

use std::collections::BTreeMap;
use std::sync::mpsc::{Receiver, SyncSender};
use std::time::Instant;

use burn::tensor::Device;
use rayon::prelude::*;

use super::{
    ReadChunk, ScoredChunk, ScoredRow, ScreenError, ScreenOptions, Shard, StageSeconds,
    WriterMessage,
};
use crate::chem::Molecule;
use crate::data::{DataError, LibraryReader, LibraryRow, MoleculeText};
use crate::model::scorer::score_in_batches;
use crate::model::{InputSpec, MoleculeInput, Scorer};

/// Reader stage: streams rows from `skip_to` on, keeps this shard's, sends chunks.
pub(super) fn read_chunks(
    reader: LibraryReader,
    skip_to: u64,
    shard: Option<Shard>,
    chunk_size: usize,
    tx: &SyncSender<Result<ReadChunk, DataError>>,
) {
    let mut rows = Vec::with_capacity(chunk_size);
    let mut next_row = skip_to;
    for item in reader {
        let row = match item {
            Ok(r) => r,
            Err(e) => {
                let _ = tx.send(Err(e));
                return;
            }
        };
        if row.row < skip_to {
            continue;
        }
        next_row = row.row + 1;
        if shard.is_some_and(|s| row.row % s.count != s.index) {
            continue;
        }
        rows.push(row);
        if rows.len() == chunk_size {
            let chunk = std::mem::replace(&mut rows, Vec::with_capacity(chunk_size));
            if tx
                .send(Ok(ReadChunk {
                    rows: chunk,
                    next_row,
                }))
                .is_err()
            {
                return;
            }
        }
    }
    let _ = tx.send(Ok(ReadChunk { rows, next_row }));
}

/// Compute stage: featurize and score each chunk, pass it to the writer.
pub(super) fn compute_chunks(
    scorer: &dyn Scorer,
    options: &ScreenOptions,
    device: &Device,
    rx: &Receiver<Result<ReadChunk, DataError>>,
    tx: &SyncSender<WriterMessage>,
    stages: &mut StageSeconds,
    on_chunk: &mut dyn FnMut(u64, u64, u64),
) -> Result<(), ScreenError> {
    loop {
        let waited = Instant::now();
        let Ok(chunk) = rx.recv() else {
            return Ok(());
        };
        stages.read_wait += waited.elapsed().as_secs_f64();
        let chunk = chunk?;
        let scored = score_chunk(scorer, chunk, options, device, stages)?;
        let (n, failed) = (
            scored.rows.len() as u64,
            scored.failed.values().sum::<u64>(),
        );
        let next_row = scored.next_row;
        if tx.send(WriterMessage::Chunk(scored)).is_err() {
            // The writer stopped on an error; it reports it when joined.
            return Ok(());
        }
        on_chunk(n, failed, next_row);
        if crate::data::stop::stop_requested(options.stop.as_ref()) {
            return Err(ScreenError::Stopped {
                rows_read: next_row,
            });
        }
    }
}

/// Parses a row's molecule (of at most `max_heavy_atoms` heavy atoms) and builds the input
/// `spec` describes; the SMILES to report beside it. A row that fails gives
/// `(reason category, message)`.
pub fn featurize_row(
    spec: &InputSpec,
    row: &LibraryRow,
    max_heavy_atoms: usize,
) -> Result<(MoleculeInput, String), (String, String)> {
    let (mol, smiles) = parse_row(row, max_heavy_atoms)?;
    let input = spec
        .prepare(&mol, None)
        .map_err(|e| (input_category(&e).to_string(), e.to_string()))?;
    Ok((input, smiles))
}

/// [`featurize_row`] through the scorer's own preparation ([`Scorer::prepare`]), which may
/// use the row's id (a fusion model's measured signatures).
pub fn prepare_row(
    scorer: &dyn Scorer,
    row: &LibraryRow,
    max_heavy_atoms: usize,
) -> Result<(MoleculeInput, String), (String, String)> {
    let (mol, smiles) = parse_row(row, max_heavy_atoms)?;
    let input = scorer
        .prepare(&mol, &row.id)
        .map_err(|e| (input_category(&e).to_string(), e.to_string()))?;
    Ok((input, smiles))
}

/// The row's molecule and the SMILES to report (canonical SMILES for molfiles).
fn parse_row(
    row: &LibraryRow,
    max_heavy_atoms: usize,
) -> Result<(Molecule, String), (String, String)> {
    if let Some(e) = &row.error {
        return Err(("unreadable row".into(), e.clone()));
    }
    let chem = |e: crate::chem::ChemError| (e.category().to_string(), e.to_string());
    Ok(match &row.molecule {
        MoleculeText::Smiles(s) => (
            Molecule::from_smiles_limited(s, max_heavy_atoms).map_err(chem)?,
            s.clone(),
        ),
        MoleculeText::Molblock(b) => {
            let mol = Molecule::from_molblock_limited(b, max_heavy_atoms).map_err(chem)?;
            let smiles = mol.canonical_smiles().map_err(chem)?;
            (mol, smiles)
        }
    })
}

/// Scores one chunk: parallel featurization, then the ensemble's forward passes.
fn score_chunk(
    scorer: &dyn Scorer,
    chunk: ReadChunk,
    options: &ScreenOptions,
    device: &Device,
    stages: &mut StageSeconds,
) -> Result<ScoredChunk, ScreenError> {
    let t0 = Instant::now();
    let features: Vec<_> = chunk
        .rows
        .par_iter()
        .map(|row| prepare_row(scorer, row, options.max_heavy_atoms))
        .collect();
    stages.featurize += t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let ok: Vec<&MoleculeInput> = features
        .iter()
        .filter_map(|f| f.as_ref().ok().map(|(input, _)| input))
        .collect();
    let scores = score_in_batches(scorer, &ok, options.batch_size, device)?;
    stages.model += t1.elapsed().as_secs_f64();
    let t = scorer.tasks().len();
    let n_notes = scorer.note_columns().len();
    let mut failed = BTreeMap::new();
    let mut k = 0;
    let rows = chunk
        .rows
        .into_iter()
        .zip(features)
        .map(|(row, f)| {
            let mut out = ScoredRow {
                row: row.row,
                id: row.id,
                ..ScoredRow::default()
            };
            match f {
                Ok((_, smiles)) => {
                    out.smiles = smiles;
                    out.values = scores.row(k, t).to_vec();
                    if let Some(spread) = scores.spread_row(k, t) {
                        out.stds = spread.to_vec();
                    }
                    options.uncertainty.apply(&mut out);
                    out.notes = scores.notes_row(k, n_notes).to_vec();
                    k += 1;
                }
                Err((reason, message)) => {
                    out.smiles = match row.molecule {
                        MoleculeText::Smiles(s) => s,
                        MoleculeText::Molblock(_) => String::new(),
                    };
                    *failed.entry(reason).or_insert(0) += 1;
                    out.error = Some(message);
                }
            }
            out
        })
        .collect();
    Ok(ScoredChunk {
        rows,
        failed,
        next_row: chunk.next_row,
    })
}

/// The failure category of an input that could not be prepared.
fn input_category(e: &crate::model::InputError) -> &'static str {
    match e {
        crate::model::InputError::Chem(c) => c.category(),
        _ => "input does not fit the model",
    }
}
