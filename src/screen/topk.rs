//! Bounded best-K selection: a heap holding at most K rows, so memory is O(K) however long
//! the library is. Ties are broken by the lower row number, so the result equals sorting every
//! row by (value, row) and taking the first K.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::ScoredRow;

/// Keeps the K best rows by one task's prediction.
#[derive(Debug, Clone)]
pub struct TopK {
    k: usize,
    task: usize,
    ascending: bool,
    heap: BinaryHeap<Ranked>,
}

/// A row with its sort key; "greater" means worse, so the heap's top is the row to evict.
#[derive(Debug, Clone)]
struct Ranked {
    /// The value, negated when lower is better, so that higher is always better.
    key: f64,
    row: ScoredRow,
}

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Ranked {}
impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .key
            .total_cmp(&self.key)
            .then(self.row.row.cmp(&other.row.row))
    }
}

impl TopK {
    /// Keeps the `k` rows with the highest (or, `ascending`, lowest) value of task `task`.
    pub fn new(k: usize, task: usize, ascending: bool) -> Self {
        TopK {
            k,
            task,
            ascending,
            heap: BinaryHeap::with_capacity(k + 1),
        }
    }

    /// Offers a row; rows that failed or whose value is NaN are ignored.
    pub fn offer(&mut self, row: &ScoredRow) {
        let Some(&value) = row.values.get(self.task) else {
            return;
        };
        if value.is_nan() || row.error.is_some() || self.k == 0 {
            return;
        }
        let key = if self.ascending { -value } else { value };
        if self.heap.len() == self.k
            && let Some(worst) = self.heap.peek()
            && (key < worst.key || (key == worst.key && row.row > worst.row.row))
        {
            return;
        }
        self.heap.push(Ranked {
            key,
            row: row.clone(),
        });
        if self.heap.len() > self.k {
            self.heap.pop();
        }
    }

    /// The kept rows, best first.
    pub fn sorted(&self) -> Vec<ScoredRow> {
        self.heap
            .clone()
            .into_sorted_vec()
            .into_iter()
            .map(|r| r.row)
            .collect()
    }

    /// Rebuilds a selection from rows saved earlier (e.g. from a resume manifest).
    pub fn restore(&mut self, rows: &[ScoredRow]) {
        for row in rows {
            self.offer(row);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(row: u64, value: f64) -> ScoredRow {
        ScoredRow {
            row,
            values: vec![value],
            ..ScoredRow::default()
        }
    }

    #[test]
    fn equals_full_sort_with_ties_and_nan() {
        let values = [3.0, 1.0, 3.0, f64::NAN, 2.0, 5.0, 2.0, 5.0, 0.5];
        for ascending in [false, true] {
            for k in 0..=values.len() + 1 {
                let mut top = TopK::new(k, 0, ascending);
                for (i, &v) in values.iter().enumerate() {
                    top.offer(&row(i as u64, v));
                }
                let mut all: Vec<(f64, u64)> = values
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| !v.is_nan())
                    .map(|(i, &v)| (if ascending { -v } else { v }, i as u64))
                    .collect();
                all.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
                let want: Vec<u64> = all.iter().take(k).map(|x| x.1).collect();
                let got: Vec<u64> = top.sorted().iter().map(|r| r.row).collect();
                assert_eq!(got, want, "k={k} ascending={ascending}");
            }
        }
    }

    #[test]
    fn failed_rows_are_never_selected() {
        let mut top = TopK::new(2, 0, false);
        let mut failed = row(0, 9.0);
        failed.error = Some("bad".into());
        top.offer(&failed);
        top.offer(&row(1, 1.0));
        assert_eq!(top.sorted().len(), 1);
        assert_eq!(top.sorted()[0].row, 1);
    }
}
