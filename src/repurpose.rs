//! Repurposing: rank compounds by how strongly their signature reverses a disease signature.
//! Profiled compounds are scored on their measured signatures; library compounds (never
//! profiled) on signatures predicted from their structure by a structure → signature model,
//! streamed chunk by chunk. Every compound gets one row saying which evidence it rests on.
//!
//! The connectivity score (WTCS by default) of a reversing compound is negative, so candidates
//! are ranked from the most negative score up.

use std::path::Path;

use burn::tensor::Device;
use rayon::prelude::*;

use crate::data::{DataError, LibraryOptions, LibraryReader, LibraryRow, MoleculeText};
use crate::expr::query::{QueryInput, align_query};
use crate::expr::{
    AlignedQuery, ExprError, GeneSpace, GeneTable, RankedReferences, Score, ScoreParams,
    SignatureMatrix, score_references,
};
use crate::link::ReversalScorer;
use crate::model::{MoleculeInput, ScoreError, Scorer};
use crate::screen::{prepare_row, score_in_batches};

/// Why a ranking failed.
#[derive(Debug, thiserror::Error)]
pub enum RepurposeError {
    /// The disease signature, the gene spaces or the connectivity scores failed.
    #[error(transparent)]
    Expr(#[from] ExprError),
    /// The library could not be read.
    #[error(transparent)]
    Data(#[from] DataError),
    /// The structure → signature model could not score a batch.
    #[error(transparent)]
    Score(#[from] ScoreError),
}

/// Which signature a candidate's score rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evidence {
    /// A measured signature.
    Measured,
    /// A signature predicted from the structure.
    Predicted,
}

impl Evidence {
    /// `measured` or `predicted`.
    pub fn name(self) -> &'static str {
        match self {
            Evidence::Measured => "measured",
            Evidence::Predicted => "predicted",
        }
    }
}

/// One ranked compound.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// Compound id.
    pub id: String,
    /// SMILES (library compounds; empty for profiled ones).
    pub smiles: String,
    /// Evidence kind.
    pub evidence: Evidence,
    /// Connectivity score (NaN when the compound could not be scored).
    pub score: f64,
    /// Why the compound could not be scored, if it could not.
    pub error: Option<String>,
}

/// How to rank.
#[derive(Debug, Clone)]
pub struct RepurposeOptions {
    /// Connectivity score.
    pub score: Score,
    /// Up and down genes taken from the disease signature.
    pub n_genes: usize,
    /// Score parameters.
    pub params: ScoreParams,
    /// Library columns.
    pub library: LibraryOptions,
    /// Library rows per chunk.
    pub chunk_size: usize,
    /// Library molecules with more heavy atoms are failed rows, never parsed.
    pub max_heavy_atoms: usize,
    /// Molecules per forward pass of the structure → signature model.
    pub batch_size: usize,
}

impl Default for RepurposeOptions {
    fn default() -> Self {
        RepurposeOptions {
            score: Score::Wtcs,
            n_genes: 150,
            params: ScoreParams::default(),
            library: LibraryOptions::default(),
            chunk_size: 4096,
            max_heavy_atoms: crate::chem::DEFAULT_MAX_HEAVY_ATOMS,
            batch_size: 128,
        }
    }
}

/// Aligns the disease to a gene space.
fn aligned(
    disease: &QueryInput,
    genes: &GeneSpace,
    table: Option<&GeneTable>,
    n_genes: usize,
) -> Result<AlignedQuery, RepurposeError> {
    Ok(align_query(disease, genes, table, n_genes)?)
}

/// Scores every measured signature against the disease.
pub fn rank_measured(
    disease: &QueryInput,
    measured: &SignatureMatrix,
    table: Option<&GeneTable>,
    options: &RepurposeOptions,
) -> Result<Vec<Candidate>, RepurposeError> {
    let query = aligned(disease, &measured.genes, table, options.n_genes)?;
    let refs = RankedReferences::from_matrix(measured)?;
    let scores = score_references(&query, &refs, options.score, &options.params)?;
    Ok(measured
        .ids
        .iter()
        .zip(scores)
        .map(|(id, score)| Candidate {
            id: id.clone(),
            smiles: String::new(),
            evidence: Evidence::Measured,
            score,
            error: None,
        })
        .collect())
}

/// Streams a library through a structure → signature model and scores each predicted
/// signature against the disease ([`ReversalScorer`]); `each` receives every chunk's
/// candidates in input order. The ranking's errors arrive as `E` (through
/// [`RepurposeError`]), with those of `each`.
pub fn rank_library<E: From<RepurposeError>>(
    disease: &QueryInput,
    library: &Path,
    model: Box<dyn Scorer>,
    table: Option<&GeneTable>,
    options: &RepurposeOptions,
    device: &Device,
    each: &mut dyn FnMut(Vec<Candidate>) -> Result<(), E>,
) -> Result<(), E> {
    let scorer = own(ReversalScorer::new(
        model,
        disease,
        table,
        options.n_genes,
        options.score,
        options.params,
    ))?;
    let mut reader = own(LibraryReader::open(library, &options.library))?;
    loop {
        let chunk: Vec<LibraryRow> = own(reader
            .by_ref()
            .take(options.chunk_size.max(1))
            .collect::<Result<_, _>>())?;
        if chunk.is_empty() {
            return Ok(());
        }
        let features: Vec<_> = chunk
            .par_iter()
            .map(|r| prepare_row(&scorer, r, options.max_heavy_atoms))
            .collect();
        let ok: Vec<&MoleculeInput> = features
            .iter()
            .filter_map(|f| f.as_ref().ok().map(|(input, _)| input))
            .collect();
        let scores = own(score_in_batches(&scorer, &ok, options.batch_size, device))?.values;
        let mut k = 0;
        let candidates = chunk
            .into_iter()
            .zip(features)
            .map(|(row, f)| {
                let smiles_as_written = match &row.molecule {
                    MoleculeText::Smiles(s) => s.clone(),
                    MoleculeText::Molblock(_) => String::new(),
                };
                let id = if row.id.is_empty() {
                    format!("row {}", row.row)
                } else {
                    row.id.clone()
                };
                match f {
                    Ok((_, smiles)) => {
                        k += 1;
                        Candidate {
                            id,
                            smiles,
                            evidence: Evidence::Predicted,
                            score: scores[k - 1],
                            error: None,
                        }
                    }
                    Err((_, message)) => Candidate {
                        id,
                        smiles: smiles_as_written,
                        evidence: Evidence::Predicted,
                        score: f64::NAN,
                        error: Some(message),
                    },
                }
            })
            .collect();
        each(candidates)?;
    }
}

/// A lower layer's result with its error as a [`RepurposeError`].
fn own<T>(result: Result<T, impl Into<RepurposeError>>) -> Result<T, RepurposeError> {
    result.map_err(Into::into)
}

/// Sorts candidates best (most reversing) first; unscored ones last, in input order.
pub fn sort_candidates(candidates: &mut [Candidate]) {
    candidates.sort_by(|a, b| match (a.score.is_nan(), b.score.is_nan()) {
        (false, false) => a.score.total_cmp(&b.score),
        (a_nan, b_nan) => a_nan.cmp(&b_nan),
    });
}

/// Keeps the `n` best scored candidates (sorted) followed by every unscored one, which must
/// still be reported.
pub fn keep_best(candidates: &mut Vec<Candidate>, n: usize) {
    sort_candidates(candidates);
    let failures: Vec<Candidate> = candidates
        .iter()
        .filter(|c| c.error.is_some())
        .cloned()
        .collect();
    candidates.retain(|c| c.error.is_none());
    candidates.truncate(n);
    candidates.extend(failures);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorting_puts_reversers_first_and_failures_last() {
        let c = |id: &str, score: f64| Candidate {
            id: id.into(),
            smiles: String::new(),
            evidence: Evidence::Measured,
            score,
            error: None,
        };
        let mut v = vec![c("a", 0.2), c("bad", f64::NAN), c("b", -0.9), c("c", 0.0)];
        sort_candidates(&mut v);
        let ids: Vec<&str> = v.iter().map(|x| x.id.as_str()).collect();
        assert_eq!(ids, ["b", "c", "a", "bad"]);
    }
}
