//! Gene spaces: ordered gene identifiers, aliases, and alignment of gene lists.

use super::error::{ExprError, Result};
use super::textio::{next_line, open_text};
use std::collections::HashMap;
use std::path::Path;

/// A table that maps gene identifiers of several kinds (Entrez ids, symbols,
/// L1000 probe ids) to one canonical key, the Entrez Gene id.
///
/// Built from `genes.tsv` (`entrez_gene_id`, `symbol`) or `geneinfo.tsv.gz`
/// (`pr_id`, `pr_gene_id`, `pr_gene_symbol`); any table with some of these
/// columns works. Probes that map to several genes (`a///b`) are skipped.
#[derive(Debug, Clone, Default)]
pub struct GeneTable {
    to_entrez: HashMap<String, String>,
}

impl GeneTable {
    /// An empty table (maps nothing).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one alias → Entrez id mapping. Symbols are matched case-insensitively.
    pub fn insert(&mut self, alias: &str, entrez: &str) {
        if alias.is_empty() || entrez.is_empty() || entrez.contains("///") {
            return;
        }
        self.to_entrez
            .entry(alias.to_uppercase())
            .or_insert_with(|| entrez.to_string());
        self.to_entrez
            .entry(entrez.to_string())
            .or_insert_with(|| entrez.to_string());
    }

    /// Reads a gene table (TSV, optionally gzipped) with columns named
    /// `entrez_gene_id` or `pr_gene_id` (Entrez), and any of `symbol`,
    /// `pr_gene_symbol`, `pr_id` (aliases).
    pub fn read(path: &Path) -> Result<Self> {
        let mut reader = open_text(path)?;
        let mut buf = String::new();
        let mut line = 0;
        if next_line(&mut *reader, &mut buf, &mut line, path)?.is_none() {
            return Err(ExprError::parse(path, 1, "empty gene table"));
        }
        let header: Vec<String> = buf.split('\t').map(str::to_string).collect();
        let find = |names: &[&str]| header.iter().position(|h| names.contains(&h.as_str()));
        let entrez_col =
            find(&["entrez_gene_id", "pr_gene_id", "entrez", "gene_id"]).ok_or_else(|| {
                ExprError::parse(path, 1, "no Entrez column (entrez_gene_id or pr_gene_id)")
            })?;
        let alias_cols: Vec<usize> = ["symbol", "pr_gene_symbol", "pr_id"]
            .iter()
            .filter_map(|n| header.iter().position(|h| h == n))
            .collect();
        let mut table = GeneTable::new();
        while next_line(&mut *reader, &mut buf, &mut line, path)?.is_some() {
            let cells: Vec<&str> = buf.split('\t').collect();
            let Some(entrez) = cells.get(entrez_col) else {
                continue;
            };
            for &c in &alias_cols {
                if let Some(a) = cells.get(c) {
                    table.insert(a, entrez);
                }
            }
            table.insert(entrez, entrez);
        }
        Ok(table)
    }

    /// The canonical (Entrez) key of an identifier, if the table knows it.
    pub fn canonical(&self, id: &str) -> Option<&str> {
        self.to_entrez
            .get(id)
            .or_else(|| self.to_entrez.get(&id.to_uppercase()))
            .map(String::as_str)
    }

    /// Number of aliases held.
    pub fn len(&self) -> usize {
        self.to_entrez.len()
    }

    /// True when the table holds no alias.
    pub fn is_empty(&self) -> bool {
        self.to_entrez.is_empty()
    }
}

/// An ordered list of unique gene identifiers (the rows of a signature
/// matrix), with optional aliases (e.g. a probe's Entrez id and symbol).
#[derive(Debug, Clone, PartialEq)]
pub struct GeneSpace {
    ids: Vec<String>,
    index: HashMap<String, usize>,
    aliases: HashMap<String, usize>,
}

/// Result of aligning a list of gene identifiers to a [`GeneSpace`].
#[derive(Debug, Clone, PartialEq)]
pub struct Alignment {
    /// For each input identifier, its index in the gene space (if matched).
    pub positions: Vec<Option<usize>>,
    /// Number of input identifiers matched.
    pub matched: usize,
    /// Input identifiers that matched no gene of the space.
    pub unmatched: Vec<String>,
}

impl Alignment {
    /// Fraction of the input identifiers that matched (0 when the input is empty).
    pub fn fraction(&self) -> f64 {
        if self.positions.is_empty() {
            0.0
        } else {
            self.matched as f64 / self.positions.len() as f64
        }
    }
}

impl GeneSpace {
    /// Builds a gene space; identifiers must be unique.
    pub fn new(ids: Vec<String>) -> Result<Self> {
        let mut index = HashMap::with_capacity(ids.len());
        for (i, id) in ids.iter().enumerate() {
            if index.insert(id.clone(), i).is_some() {
                return Err(ExprError::Invalid(format!("duplicate gene id '{id}'")));
            }
        }
        Ok(GeneSpace {
            ids,
            index,
            aliases: HashMap::new(),
        })
    }

    /// Number of genes.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when the space has no gene.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The gene identifiers, in order.
    pub fn ids(&self) -> &[String] {
        &self.ids
    }

    /// Index of an identifier (exact match on the primary ids only).
    pub fn position(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    /// Adds aliases: `aliases[i]` is another name for gene `i` (e.g. the
    /// `pr_gene_id` row metadata of a GCT). Empty, `-666` and ambiguous
    /// (`///`) aliases are ignored; an alias never shadows a primary id.
    pub fn add_aliases(&mut self, aliases: &[String]) -> Result<()> {
        if aliases.len() != self.ids.len() {
            return Err(ExprError::Shape(format!(
                "{} aliases for {} genes",
                aliases.len(),
                self.ids.len()
            )));
        }
        for (i, a) in aliases.iter().enumerate() {
            if a.is_empty() || a == "-666" || a.contains("///") || self.index.contains_key(a) {
                continue;
            }
            self.aliases.entry(a.clone()).or_insert(i);
            self.aliases.entry(a.to_uppercase()).or_insert(i);
        }
        Ok(())
    }

    /// Adds, for every gene, its canonical id from a [`GeneTable`] as an alias,
    /// so that queries in another identifier kind can be matched.
    pub fn add_table_aliases(&mut self, table: &GeneTable) {
        for (i, id) in self.ids.iter().enumerate() {
            if let Some(c) = table.canonical(id)
                && !self.index.contains_key(c)
            {
                self.aliases.entry(c.to_string()).or_insert(i);
            }
        }
    }

    /// Looks an identifier up: exact id, then alias, then (with a table)
    /// through its canonical Entrez id.
    pub fn lookup(&self, id: &str, table: Option<&GeneTable>) -> Option<usize> {
        if let Some(&i) = self.index.get(id) {
            return Some(i);
        }
        if let Some(&i) = self.aliases.get(id) {
            return Some(i);
        }
        if let Some(&i) = self.aliases.get(&id.to_uppercase()) {
            return Some(i);
        }
        let c = table?.canonical(id)?;
        self.index.get(c).or_else(|| self.aliases.get(c)).copied()
    }

    /// Aligns a list of identifiers to this space, reporting matches and misses.
    pub fn align(&self, ids: &[String], table: Option<&GeneTable>) -> Alignment {
        let positions: Vec<Option<usize>> = ids.iter().map(|g| self.lookup(g, table)).collect();
        let unmatched: Vec<String> = ids
            .iter()
            .zip(&positions)
            .filter(|(_, p)| p.is_none())
            .map(|(g, _)| g.clone())
            .collect();
        Alignment {
            matched: ids.len() - unmatched.len(),
            positions,
            unmatched,
        }
    }
}
