//! Pathway-level views of a signature: gene-set collections (GMT files, or pathway tables
//! such as `pathways.tsv` with `|`-separated Entrez ids) and per-set scores of a z-scored
//! signature.
//!
//! The score of set `P` on signature `z` is the set-level z-score
//! `s_P(z) = Σ_{g ∈ P ∩ G} z_g / √|P ∩ G|`,
//! where `G` is the gene space (e.g. the 978 landmark genes) and missing values are left out
//! of both the sum and the count. For independent standard-normal `z_g` it is itself standard
//! normal, so sets of different sizes land on one scale (Stouffer's method).

use super::error::{ExprError, Result};
use super::geneset::{GeneSet, read_gmt};
use super::genespace::{GeneSpace, GeneTable};
use super::textio::{base_name, next_line, open_text};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Reads a pathway table: TSV with an `identifier` (or `name`) column and a `genes` column of
/// `|`-separated gene ids; a `name` column, when present, becomes the description.
pub fn read_pathway_table(path: &Path) -> Result<Vec<GeneSet>> {
    let mut reader = open_text(path)?;
    let (mut buf, mut line) = (String::new(), 0);
    if next_line(&mut *reader, &mut buf, &mut line, path)?.is_none() {
        return Err(ExprError::parse(path, 1, "empty pathway table"));
    }
    let header: Vec<String> = buf.split('\t').map(|h| h.trim().to_lowercase()).collect();
    let find = |n: &str| header.iter().position(|h| h == n);
    let id_col = find("identifier")
        .or_else(|| find("name"))
        .ok_or_else(|| ExprError::parse(path, 1, "no `identifier` or `name` column"))?;
    let genes_col = find("genes").ok_or_else(|| ExprError::parse(path, 1, "no `genes` column"))?;
    let name_col = find("name");
    let mut out = Vec::new();
    while next_line(&mut *reader, &mut buf, &mut line, path)?.is_some() {
        if buf.trim().is_empty() {
            continue;
        }
        let cells: Vec<&str> = buf.split('\t').collect();
        let (Some(id), Some(genes)) = (cells.get(id_col), cells.get(genes_col)) else {
            return Err(ExprError::parse(
                path,
                line,
                format!("{} fields, the header names {}", cells.len(), header.len()),
            ));
        };
        if id.trim().is_empty() {
            return Err(ExprError::parse(path, line, "empty pathway identifier"));
        }
        out.push(GeneSet {
            name: id.trim().to_string(),
            description: name_col
                .and_then(|c| cells.get(c))
                .map_or(String::new(), |s| s.trim().to_string()),
            genes: genes
                .split('|')
                .map(str::trim)
                .filter(|g| !g.is_empty())
                .map(str::to_string)
                .collect(),
        });
    }
    Ok(out)
}

/// Reads a gene-set collection: a GMT file (`.gmt`, optionally `.gz`) or a pathway table.
pub fn read_gene_sets(path: &Path) -> Result<Vec<GeneSet>> {
    let name = base_name(path);
    if name.ends_with(".gmt") {
        read_gmt(path)
    } else {
        read_pathway_table(path)
    }
}

/// Gene sets aligned to a gene space, ready to score signatures over that space.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PathwayScorer {
    /// Set names, one per score.
    pub names: Vec<String>,
    /// For each set, the positions of its genes in the gene space (sorted, unique).
    pub members: Vec<Vec<usize>>,
}

impl PathwayScorer {
    /// Aligns `sets` to `space` (through `table` for symbols vs Entrez ids) and keeps the sets
    /// with at least `min_genes` genes in the space, in input order.
    pub fn new(
        sets: &[GeneSet],
        space: &GeneSpace,
        table: Option<&GeneTable>,
        min_genes: usize,
    ) -> Self {
        let (mut names, mut members) = (Vec::new(), Vec::new());
        for set in sets {
            let mut positions: Vec<usize> = space
                .align(&set.genes, table)
                .positions
                .into_iter()
                .flatten()
                .collect();
            positions.sort_unstable();
            positions.dedup();
            if positions.len() >= min_genes.max(1) {
                names.push(set.name.clone());
                members.push(positions);
            }
        }
        PathwayScorer { names, members }
    }

    /// Number of sets (scores per signature).
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True when no set survived alignment.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Set-level z-scores `Σ z_g / √n` of one signature over the gene space (0 for a set
    /// whose genes are all missing).
    pub fn score(&self, values: &[f64]) -> Vec<f64> {
        self.members
            .iter()
            .map(|genes| {
                let (sum, n) = genes
                    .iter()
                    .filter_map(|&g| values.get(g).copied().filter(|v| v.is_finite()))
                    .fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
                if n == 0 { 0.0 } else { sum / (n as f64).sqrt() }
            })
            .collect()
    }
}

/// What a signature encoder reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "snake_case")]
pub enum SignatureInput {
    /// One value per gene.
    Genes,
    /// One set-level z-score per pathway.
    Pathways,
    /// Genes followed by pathway scores.
    Both,
}

/// Maps a signature over a gene space to an encoder's input vector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignatureFeaturizer {
    /// Which values the vector holds.
    pub input: SignatureInput,
    /// Gene ids of the expected signature layout, in order.
    pub genes: Vec<String>,
    /// Pathway scores (required unless `input` is `Genes`).
    pub pathways: Option<PathwayScorer>,
}

impl SignatureFeaturizer {
    /// A featurizer for signatures over `genes`; fails when pathway input is asked for
    /// without pathways.
    pub fn new(
        input: SignatureInput,
        genes: Vec<String>,
        pathways: Option<PathwayScorer>,
    ) -> Result<Self> {
        if input != SignatureInput::Genes && pathways.as_ref().is_none_or(PathwayScorer::is_empty) {
            return Err(ExprError::Invalid(
                "pathway-level input needs gene sets that overlap the gene space".into(),
            ));
        }
        let pathways = if input == SignatureInput::Genes {
            None
        } else {
            pathways
        };
        Ok(SignatureFeaturizer {
            input,
            genes,
            pathways,
        })
    }

    /// Length of the vector [`Self::featurize`] returns.
    pub fn len(&self) -> usize {
        let p = self.pathways.as_ref().map_or(0, PathwayScorer::len);
        match self.input {
            SignatureInput::Genes => self.genes.len(),
            SignatureInput::Pathways => p,
            SignatureInput::Both => self.genes.len() + p,
        }
    }

    /// True when the vector is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Names of the vector's entries (gene ids, then pathway names).
    pub fn names(&self) -> Vec<String> {
        let genes = self.genes.iter().cloned();
        let sets = self.pathways.iter().flat_map(|p| p.names.iter().cloned());
        match self.input {
            SignatureInput::Genes => genes.collect(),
            SignatureInput::Pathways => sets.collect(),
            SignatureInput::Both => genes.chain(sets).collect(),
        }
    }

    /// The input vector of one signature in the featurizer's gene order; missing gene values
    /// enter as 0 (the z-score mean).
    pub fn featurize(&self, values: &[f64]) -> Result<Vec<f32>> {
        if values.len() != self.genes.len() {
            return Err(ExprError::Shape(format!(
                "a signature of {} genes, the encoder reads {}",
                values.len(),
                self.genes.len()
            )));
        }
        let genes = values
            .iter()
            .map(|&v| if v.is_finite() { v as f32 } else { 0.0 });
        let sets = self
            .pathways
            .iter()
            .flat_map(|p| p.score(values).into_iter().map(|v| v as f32));
        Ok(match self.input {
            SignatureInput::Genes => genes.collect(),
            SignatureInput::Pathways => sets.collect(),
            SignatureInput::Both => genes.chain(sets).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;

    fn space() -> GeneSpace {
        GeneSpace::new(["1", "2", "3", "4"].map(String::from).to_vec()).unwrap()
    }

    fn set(name: &str, genes: &[&str]) -> GeneSet {
        GeneSet {
            name: name.into(),
            description: String::new(),
            genes: genes.iter().map(|g| g.to_string()).collect(),
        }
    }

    #[test]
    fn scores_are_stouffer_sums_over_present_genes() {
        let sets = [
            set("a", &["1", "2", "99"]),
            set("tiny", &["3"]),
            set("b", &["4", "3", "4"]),
        ];
        let scorer = PathwayScorer::new(&sets, &space(), None, 2);
        assert_eq!(scorer.names, ["a", "b"]);
        assert_eq!(scorer.members, [vec![0, 1], vec![2, 3]]);
        let s = scorer.score(&[1.0, 2.0, f64::NAN, 4.0]);
        assert_abs_diff_eq!(s[0], 3.0 / 2f64.sqrt(), epsilon = 1e-12);
        // Gene 3 is missing: the score is over gene 4 alone.
        assert_abs_diff_eq!(s[1], 4.0, epsilon = 1e-12);
    }

    #[test]
    fn featurizer_orders_genes_then_pathways_and_checks_length() {
        let scorer = PathwayScorer::new(&[set("a", &["1", "4"])], &space(), None, 1);
        let genes: Vec<String> = space().ids().to_vec();
        let f = SignatureFeaturizer::new(SignatureInput::Both, genes.clone(), Some(scorer.clone()))
            .unwrap();
        assert_eq!(f.len(), 5);
        assert_eq!(f.names(), ["1", "2", "3", "4", "a"]);
        let v = f.featurize(&[1.0, f64::NAN, 0.5, 3.0]).unwrap();
        assert_eq!(&v[..4], &[1.0, 0.0, 0.5, 3.0]);
        assert_abs_diff_eq!(v[4], 4.0 / 2f32.sqrt(), epsilon = 1e-6);
        assert!(f.featurize(&[1.0]).is_err());
        let p = SignatureFeaturizer::new(SignatureInput::Pathways, genes.clone(), Some(scorer))
            .unwrap();
        assert_eq!(p.len(), 1);
        assert!(SignatureFeaturizer::new(SignatureInput::Pathways, genes, None).is_err());
    }

    #[test]
    fn pathway_table_reads_pipe_separated_genes_and_reports_short_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.tsv");
        std::fs::write(
            &path,
            "identifier\tname\tgenes\nP1\tFirst\t1|2|3\n\nP2\tSecond\t4\n",
        )
        .unwrap();
        let sets = read_gene_sets(&path).unwrap();
        assert_eq!(sets.len(), 2);
        assert_eq!(sets[0].genes, ["1", "2", "3"]);
        assert_eq!(sets[1].description, "Second");
        std::fs::write(&path, "identifier\tname\tgenes\nP1\n").unwrap();
        let err = read_gene_sets(&path).unwrap_err().to_string();
        assert!(err.contains(":2:"), "{err}");
    }
}
