//! [`ReversalScorer`]: a structure → signature model composed with a connectivity score
//! against one disease signature, as a [`Scorer`] with one output, the score. It lets the
//! streaming pipeline screen a library of any size for disease reversal (shards, resume,
//! top-k, Parquet): a compound's predicted signature is scored like a measured one
//! (negative: it reverses the disease).

use burn::tensor::Device;

use crate::chem::Molecule;
use crate::expr::query::{QueryInput, align_query};
use crate::expr::{
    AlignedQuery, ExprError, GeneSpace, GeneTable, RankedReferences, Score, ScoreParams,
    score_references,
};
use crate::model::input_spec::{InputError, InputSpec};
use crate::model::{MoleculeInput, ScoreError, Scorer, Scores};

/// Connectivity of predicted signatures to a disease (see the module docs).
#[derive(Debug)]
pub struct ReversalScorer {
    predictor: Box<dyn Scorer>,
    query: AlignedQuery,
    score: Score,
    params: ScoreParams,
    n_genes: usize,
    tasks: Vec<String>,
    notes: Vec<String>,
}

/// The note column [`ReversalScorer::with_evidence_note`] adds, and its value.
pub const EVIDENCE_NOTE: (&str, &str) = ("evidence", "predicted");

impl ReversalScorer {
    /// Aligns the disease to the predictor's genes (`table` maps symbols to its ids; the
    /// `n_genes` most significant up and down genes form the gene sets).
    pub fn new(
        predictor: Box<dyn Scorer>,
        disease: &QueryInput,
        table: Option<&GeneTable>,
        n_genes: usize,
        score: Score,
        params: ScoreParams,
    ) -> Result<Self, ExprError> {
        let genes = GeneSpace::new(predictor.tasks().to_vec())?;
        let query = align_query(disease, &genes, table, n_genes)?;
        Ok(ReversalScorer {
            n_genes: genes.len(),
            predictor,
            query,
            score,
            params,
            tasks: vec![score.name().to_string()],
            notes: Vec::new(),
        })
    }

    /// The same scorer with an `evidence` note column saying `predicted` on every row, so its
    /// rows sit beside rows scored on measured signatures in one table.
    pub fn with_evidence_note(mut self) -> Self {
        self.notes = vec![EVIDENCE_NOTE.0.to_string()];
        self
    }
}

impl Scorer for ReversalScorer {
    fn input_spec(&self) -> InputSpec {
        self.predictor.input_spec()
    }

    fn tasks(&self) -> &[String] {
        &self.tasks
    }

    fn note_columns(&self) -> &[String] {
        &self.notes
    }

    fn prepare(&self, mol: &Molecule, id: &str) -> Result<MoleculeInput, InputError> {
        self.predictor.prepare(mol, id)
    }

    /// The predicted signatures, then each one's connectivity score to the disease.
    fn score(&self, inputs: &[&MoleculeInput], device: &Device) -> Result<Scores, ScoreError> {
        if inputs.is_empty() {
            return Ok(Scores::default());
        }
        let predicted = self.predictor.score(inputs, device)?;
        let values: Vec<f32> = predicted.values.iter().map(|&v| v as f32).collect();
        let invalid = |e: ExprError| {
            ScoreError::Kernel(crate::kernel::KernelError::InvalidBatch(e.to_string()))
        };
        let refs = RankedReferences::from_values(self.n_genes, values).map_err(invalid)?;
        let scores =
            score_references(&self.query, &refs, self.score, &self.params).map_err(invalid)?;
        Ok(Scores {
            n: inputs.len(),
            values: scores,
            spread: None,
            notes: vec![EVIDENCE_NOTE.1.to_string(); inputs.len() * self.notes.len()],
        })
    }

    fn identity(&self) -> Result<String, String> {
        Ok(format!(
            "reversal:{}:{:?}:{}:{:?}:{:?}",
            self.predictor.identity()?,
            self.notes,
            self.score.name(),
            self.query.up,
            self.query.down
        ))
    }
}
