//! Train/validation/test splits over table entries: random, scaffold-balanced, k-fold, or read
//! from a split file. All seeded and deterministic: same seed, same split.

use std::collections::HashMap;
use std::path::Path;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::error::DataError;
use super::reader::csv_reader_with_lines;

/// Entry indices of each part of a split.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Split {
    /// Training entries.
    pub train: Vec<usize>,
    /// Validation entries.
    pub val: Vec<usize>,
    /// Test entries.
    pub test: Vec<usize>,
}

impl Split {
    /// Which part an entry is in (`"train"`, `"val"`, `"test"`), or `None` if unassigned.
    pub fn part_of(&self, n: usize) -> Vec<Option<&'static str>> {
        let mut parts = vec![None; n];
        for (name, ids) in [
            ("train", &self.train),
            ("val", &self.val),
            ("test", &self.test),
        ] {
            for &i in ids {
                if let Some(p) = parts.get_mut(i) {
                    *p = Some(name);
                }
            }
        }
        parts
    }
}

fn check_sizes(sizes: [f64; 3]) -> Result<(), DataError> {
    let sum: f64 = sizes.iter().sum();
    if sizes.iter().any(|s| !(0.0..=1.0).contains(s)) || (sum - 1.0).abs() > 1e-6 {
        return Err(DataError::InvalidSplit(format!(
            "sizes {sizes:?} must be fractions in [0, 1] summing to 1"
        )));
    }
    Ok(())
}

/// Shuffles `0..n` with the seed and cuts it at `⌊s₀·n⌋` and `⌊(s₀+s₁)·n⌋` (chemprop's rule).
pub fn random_split(n: usize, sizes: [f64; 3], seed: u64) -> Result<Split, DataError> {
    check_sizes(sizes)?;
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let train_end = (sizes[0] * n as f64) as usize;
    let val_end = ((sizes[0] + sizes[1]) * n as f64) as usize;
    Ok(Split {
        train: order[..train_end].to_vec(),
        val: order[train_end..val_end].to_vec(),
        test: order[val_end..].to_vec(),
    })
}

/// Scaffold-balanced split, as chemprop's `scaffold_split(balanced=True)`: entries are grouped
/// by scaffold; groups larger than half the validation or test size go first (shuffled), then
/// the rest (shuffled); each group goes whole to train if it fits in `s₀·n`, else to
/// validation if it fits in `s₁·n`, else to test. A scaffold is never in two parts.
pub fn scaffold_split(
    scaffolds: &[String],
    sizes: [f64; 3],
    seed: u64,
) -> Result<Split, DataError> {
    check_sizes(sizes)?;
    let n = scaffolds.len() as f64;
    let (train_size, val_size, test_size) = (sizes[0] * n, sizes[1] * n, sizes[2] * n);
    let mut group_of: HashMap<&str, usize> = HashMap::new();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (i, s) in scaffolds.iter().enumerate() {
        let g = *group_of.entry(s.as_str()).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[g].push(i);
    }
    let (mut big, mut small): (Vec<_>, Vec<_>) = groups
        .into_iter()
        .partition(|g| g.len() as f64 > val_size / 2.0 || g.len() as f64 > test_size / 2.0);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    big.shuffle(&mut rng);
    small.shuffle(&mut rng);
    let mut split = Split::default();
    for group in big.into_iter().chain(small) {
        if (split.train.len() + group.len()) as f64 <= train_size {
            split.train.extend(group);
        } else if (split.val.len() + group.len()) as f64 <= val_size {
            split.val.extend(group);
        } else {
            split.test.extend(group);
        }
    }
    Ok(split)
}

/// Fold `fold` of a seeded `k`-fold partition: the shuffled entries are cut into `k` nearly
/// equal folds; fold `fold` is the test set, fold `(fold + 1) mod k` the validation set, and
/// the rest is training.
pub fn kfold_split(n: usize, k: usize, fold: usize, seed: u64) -> Result<Split, DataError> {
    if k < 3 || fold >= k {
        return Err(DataError::InvalidSplit(format!(
            "k-fold needs k ≥ 3 and fold < k (got k = {k}, fold = {fold})"
        )));
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let fold_of = |pos: usize| pos * k / n.max(1);
    let mut split = Split::default();
    for (pos, &i) in order.iter().enumerate() {
        let f = fold_of(pos);
        if f == fold {
            split.test.push(i);
        } else if f == (fold + 1) % k {
            split.val.push(i);
        } else {
            split.train.push(i);
        }
    }
    Ok(split)
}

/// Fold `fold` of a scaffold-grouped `k`-fold partition: molecules sharing a Bemis–Murcko
/// scaffold always land in the same fold. Scaffold groups are shuffled (seeded), then placed
/// largest first into the fold with the fewest molecules so far. Fold `fold` is the test set,
/// fold `fold + 1 (mod k)` the validation set, the rest the training set.
pub fn scaffold_kfold_split(
    scaffolds: &[String],
    k: usize,
    fold: usize,
    seed: u64,
) -> Result<Split, DataError> {
    if k < 3 || fold >= k {
        return Err(DataError::InvalidSplit(format!(
            "k-fold needs k ≥ 3 and fold < k (got k = {k}, fold = {fold})"
        )));
    }
    let mut groups: std::collections::BTreeMap<&str, Vec<usize>> = Default::default();
    for (i, s) in scaffolds.iter().enumerate() {
        groups.entry(s.as_str()).or_default().push(i);
    }
    let mut groups: Vec<Vec<usize>> = groups.into_values().collect();
    groups.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    groups.sort_by_key(|g| std::cmp::Reverse(g.len()));
    let mut sizes = vec![0usize; k];
    let mut split = Split::default();
    for group in groups {
        let f = (0..k).min_by_key(|&f| (sizes[f], f)).unwrap_or(0);
        sizes[f] += group.len();
        let part = if f == fold {
            &mut split.test
        } else if f == (fold + 1) % k {
            &mut split.val
        } else {
            &mut split.train
        };
        part.extend(group);
    }
    for part in [&mut split.train, &mut split.val, &mut split.test] {
        part.sort_unstable();
    }
    Ok(split)
}

/// A split read from a file, and how it matched the table.
#[derive(Debug, Clone, Default)]
pub struct SplitFromFile {
    /// The split over table entries.
    pub split: Split,
    /// Table entries the file did not assign (they are left out of every part).
    pub unassigned: Vec<usize>,
    /// File lines naming a row the table does not hold (e.g. a SMILES RDKit rejected).
    pub unmatched_lines: Vec<u64>,
}

/// Reads a split file with columns `split` and `index` (0-based data row, header excluded)
/// or `smiles`; `index` wins when both are present. Values: `train`, `val`/`valid`/
/// `validation`, `test`. `rows` and `smiles` are the table's data rows and SMILES.
pub fn split_from_file(
    path: &Path,
    rows: &[usize],
    smiles: &[String],
) -> Result<SplitFromFile, DataError> {
    let (mut reader, lines) = csv_reader_with_lines(path)?;
    let bad = |line: u64, reason: String| DataError::SplitFile {
        path: path.to_path_buf(),
        line,
        reason,
    };
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| bad(1, e.to_string()))?
        .iter()
        .map(|h| h.trim().to_lowercase())
        .collect();
    let col = |name: &str| header.iter().position(|h| h == name);
    let split_col = col("split").ok_or_else(|| bad(1, "no `split` column".into()))?;
    let (key_col, by_index) = match (col("index"), col("smiles")) {
        (Some(c), _) => (c, true),
        (None, Some(c)) => (c, false),
        _ => return Err(bad(1, "needs an `index` or a `smiles` column".into())),
    };
    let by_row: HashMap<usize, usize> = rows.iter().enumerate().map(|(i, &r)| (r, i)).collect();
    let mut by_smiles: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, s) in smiles.iter().enumerate() {
        by_smiles.entry(s.as_str()).or_default().push(i);
    }
    let mut out = SplitFromFile::default();
    let mut assigned = vec![false; rows.len()];
    for record in reader.records() {
        let record = record.map_err(|e| bad(lines.line_of(e.position()), e.to_string()))?;
        let line = lines.line_of(record.position());
        let key = record.get(key_col).unwrap_or("").trim();
        let entries: Vec<usize> = if by_index {
            let row: usize = key
                .parse()
                .map_err(|_| bad(line, format!("index {key:?} is not a row number")))?;
            by_row.get(&row).copied().into_iter().collect()
        } else {
            by_smiles.get(key).cloned().unwrap_or_default()
        };
        if entries.is_empty() {
            out.unmatched_lines.push(line);
            continue;
        }
        let part = match record
            .get(split_col)
            .unwrap_or("")
            .trim()
            .to_lowercase()
            .as_str()
        {
            "train" => &mut out.split.train,
            "val" | "valid" | "validation" => &mut out.split.val,
            "test" => &mut out.split.test,
            other => {
                return Err(bad(
                    line,
                    format!("split {other:?} is not train, val or test"),
                ));
            }
        };
        for i in entries {
            if assigned[i] {
                return Err(bad(line, format!("entry for {key:?} is assigned twice")));
            }
            assigned[i] = true;
            part.push(i);
        }
    }
    out.unassigned = (0..rows.len()).filter(|&i| !assigned[i]).collect();
    Ok(out)
}
