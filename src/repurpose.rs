//! Repurposing: rank compounds by how strongly their signature reverses a disease signature.
//! Profiled compounds are scored on their measured signatures; library compounds (never
//! profiled) on signatures predicted from their structure by a structure → signature model
//! ([`ReversalScorer`]), streamed through the screening pipeline (shards, resume, top-k,
//! Parquet) with the profiled compounds' rows leading. Every compound gets one row saying
//! which evidence it rests on.
//!
//! The connectivity score (WTCS by default) of a reversing compound is negative, so candidates
//! are ranked from the most negative score up.

use std::path::Path;

use burn::tensor::Device;

use crate::expr::query::{QueryInput, align_query};
use crate::expr::{
    AlignedQuery, ExprError, GeneSpace, GeneTable, RankedReferences, Score, ScoreParams,
    SignatureMatrix, score_references,
};
use crate::link::ReversalScorer;
use crate::link::reversal::EVIDENCE_NOTE;
use crate::model::Scorer;
use crate::screen::output::OutputLayout;
use crate::screen::{ScoredRow, ScreenError, ScreenOptions, ScreenProgress, ScreenSummary, screen};

/// Why a ranking failed.
#[derive(Debug, thiserror::Error)]
pub enum RepurposeError {
    /// The disease signature, the gene spaces or the connectivity scores failed.
    #[error(transparent)]
    Expr(#[from] ExprError),
    /// The library could not be streamed (read, scored or written).
    #[error(transparent)]
    Screen(#[from] ScreenError),
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
}

impl Default for RepurposeOptions {
    fn default() -> Self {
        RepurposeOptions {
            score: Score::Wtcs,
            n_genes: 150,
            params: ScoreParams::default(),
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

/// The structure → signature model composed with the disease's connectivity score, with an
/// `evidence` note (`predicted`), as the pipeline scores library compounds.
pub fn library_scorer(
    disease: &QueryInput,
    model: Box<dyn Scorer>,
    table: Option<&GeneTable>,
    options: &RepurposeOptions,
) -> Result<ReversalScorer, RepurposeError> {
    let scorer = ReversalScorer::new(
        model,
        disease,
        table,
        options.n_genes,
        options.score,
        options.params,
    )?;
    Ok(scorer.with_evidence_note())
}

/// The output rows of ranked candidates (their `row` is their position in `candidates`), in
/// the layout of [`library_scorer`]'s rows: the score, then the evidence.
pub fn candidate_rows(candidates: &[Candidate]) -> Vec<ScoredRow> {
    candidates
        .iter()
        .enumerate()
        .map(|(i, c)| ScoredRow {
            row: i as u64,
            id: c.id.clone(),
            smiles: c.smiles.clone(),
            values: if c.score.is_nan() {
                Vec::new()
            } else {
                vec![c.score]
            },
            notes: vec![c.evidence.name().to_string()],
            error: c.error.clone(),
            ..ScoredRow::default()
        })
        .collect()
}

/// The output layout of a ranking by `score`.
pub fn candidate_layout(score: Score) -> OutputLayout {
    OutputLayout {
        tasks: vec![score.name().to_string()],
        with_std: false,
        notes: vec![EVIDENCE_NOTE.0.to_string()],
        ..OutputLayout::default()
    }
}

/// Ranks a library for reversal of `disease` through the screening pipeline into `out`:
/// the `measured` candidates (profiled compounds, from [`rank_measured`]) lead, then every
/// library row, one per input row; with a top-k selection in `screen_options` (by the
/// score's name, ascending) only the most reversing rows of both, best first.
#[allow(clippy::too_many_arguments)]
pub fn rank_library(
    disease: &QueryInput,
    library: &Path,
    model: Box<dyn Scorer>,
    measured: &[Candidate],
    table: Option<&GeneTable>,
    options: &RepurposeOptions,
    out: &Path,
    screen_options: &ScreenOptions,
    device: &Device,
    progress: &mut dyn FnMut(&ScreenProgress),
) -> Result<ScreenSummary, RepurposeError> {
    let scorer = library_scorer(disease, model, table, options)?;
    let screen_options = ScreenOptions {
        leading_rows: candidate_rows(measured),
        report_lowest: true,
        ..screen_options.clone()
    };
    Ok(screen(
        library,
        &scorer,
        out,
        &screen_options,
        device,
        progress,
    )?)
}

/// Sorts candidates best (most reversing) first; unscored ones last, in input order.
pub fn sort_candidates(candidates: &mut [Candidate]) {
    candidates.sort_by(|a, b| match (a.score.is_nan(), b.score.is_nan()) {
        (false, false) => a.score.total_cmp(&b.score),
        (a_nan, b_nan) => a_nan.cmp(&b_nan),
    });
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
